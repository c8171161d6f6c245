using NeuralCore.Serving.Registry;

namespace NeuralCore.Serving.Tests.Registry;

/// <summary>API keys in the registry database: stored hashed, found by their id, refused when wrong, revoked or expired.</summary>
public sealed class ApiKeyTests
{
    [Theory, SqliteBackend, PostgresBackend]
    public void CreatedKey_IsFoundWithItsScopes_AndOnlyItsHashIsStored(string backend)
    {
        using var env = RegistryBackend.Create(backend);
        using var registry = env.Open();
        var created = registry.CreateApiKey("client-a", AccessScope.ParseList("infer:fashion-mlp,read"));

        Assert.Matches("^nck_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$", created.Key);
        var found = registry.FindApiKey(created.Key);
        Assert.NotNull(found);
        Assert.Equal("client-a", found.Name);
        Assert.Equal([new AccessScope(AccessVerb.Infer, "fashion-mlp"), new AccessScope(AccessVerb.Read, null)], found.Scopes);
        Assert.Equal(["client-a"], registry.ListApiKeys().Select(k => k.Name));

        // The secret part never reaches the database; its SHA-256 does.
        string secret = created.Key[^43..];
        if (backend == "sqlite")
        {
            byte[] bytes = File.ReadAllBytes(Path.Combine(env.Directory, "registry.db"));
            string wal = Path.Combine(env.Directory, "registry.db-wal");
            if (File.Exists(wal)) bytes = [.. bytes, .. File.ReadAllBytes(wal)];
            Assert.DoesNotContain(secret, System.Text.Encoding.ASCII.GetString(bytes));
        }
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void WrongRevokedExpiredOrMalformedKeys_AreRefused(string backend)
    {
        using var env = RegistryBackend.Create(backend);
        using var registry = env.Open();
        var key = registry.CreateApiKey("a", [new AccessScope(AccessVerb.Read, null)]).Key;
        var expired = registry.CreateApiKey("old", [new AccessScope(AccessVerb.Read, null)], DateTimeOffset.UtcNow.AddSeconds(-1)).Key;

        char last = key[^1] == 'A' ? 'B' : 'A';
        Assert.Null(registry.FindApiKey(key[..^1] + last));            // right id, wrong secret
        Assert.Null(registry.FindApiKey(expired));
        Assert.Null(registry.FindApiKey("nck_0123456789abcdef_" + new string('x', 43)));
        Assert.Null(registry.FindApiKey("not a key"));
        Assert.Null(registry.FindApiKey(""));
        Assert.NotNull(registry.FindApiKey(key));

        Assert.True(registry.RevokeApiKey("a"));
        Assert.Null(registry.FindApiKey(key));
        Assert.True(registry.ListApiKeys().Single(k => k.Name == "a").Revoked);
        Assert.False(registry.RevokeApiKey("nobody"));
        Assert.Throws<ArgumentException>(() => registry.CreateApiKey("a", [new AccessScope(AccessVerb.Read, null)]));
        Assert.Throws<ArgumentException>(() => registry.CreateApiKey("b", []));
    }

    [Fact]
    public void Scopes_ParseAndMatch()
    {
        Assert.Equal(new AccessScope(AccessVerb.Manage, "m"), AccessScope.Parse("manage:m"));
        Assert.Equal(new AccessScope(AccessVerb.Infer, null), AccessScope.Parse("infer:*"));
        Assert.True(AccessScope.Parse("infer").Allows(AccessVerb.Infer, "anything"));
        Assert.False(AccessScope.Parse("infer:a").Allows(AccessVerb.Infer, "b"));
        Assert.False(AccessScope.Parse("manage:a").Allows(AccessVerb.Read, "a"));
        Assert.Equal("infer:a", AccessScope.Parse("infer:a").ToString());
        foreach (var bad in new[] { "write", "infer:", "infer:bad name", "", ":a" })
            Assert.Contains("is not a scope", Assert.Throws<ArgumentException>(() => AccessScope.Parse(bad)).Message);
    }
}

using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace NeuralCore.Serving.Registry;

/// <summary>What a scope lets its holder do: run models, read metadata, or change the registry.</summary>
public enum AccessVerb
{
    /// <summary>Inference: <c>infer</c> and <c>:predict</c>.</summary>
    Infer,

    /// <summary>Reading metadata: model and version records, readiness.</summary>
    Read,

    /// <summary>Changing the registry: aliases, tags, archiving.</summary>
    Manage,
}

/// <summary>
/// One permission: a verb on one model, or on every model. Written <c>verb</c> or <c>verb:*</c> (every model) or
/// <c>verb:model-name</c>, with the verbs <c>infer</c>, <c>read</c> and <c>manage</c>. A verb does not imply another.
/// </summary>
/// <param name="Verb">What is allowed.</param>
/// <param name="Model">The model it applies to; null for every model.</param>
public readonly record struct AccessScope(AccessVerb Verb, string? Model)
{
    /// <summary>True when this scope allows <paramref name="verb"/> on <paramref name="model"/> (null: a request naming no model).</summary>
    public bool Allows(AccessVerb verb, string? model) => Verb == verb && (Model is null || string.Equals(Model, model, StringComparison.Ordinal));

    /// <summary>Parses <c>verb[:model]</c>.</summary>
    /// <exception cref="ArgumentException">Not a known verb, or a malformed model name.</exception>
    public static AccessScope Parse(string text) =>
        TryParse(text, out var scope) ? scope
            : throw new ArgumentException($"'{(text ?? "").Trim()}' is not a scope; use infer, read or manage, optionally followed by :model-name (or :* for every model).", nameof(text));

    /// <summary>Parses <c>verb[:model]</c>; false when malformed.</summary>
    public static bool TryParse(string? text, out AccessScope scope)
    {
        scope = default;
        if (string.IsNullOrWhiteSpace(text) || text.Length > 200) return false;
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        string verbText = colon < 0 ? text.Trim() : text[..colon].Trim();
        string? model = colon < 0 ? null : text[(colon + 1)..].Trim();
        AccessVerb verb;
        switch (verbText)
        {
            case "infer": verb = AccessVerb.Infer; break;
            case "read": verb = AccessVerb.Read; break;
            case "manage": verb = AccessVerb.Manage; break;
            default: return false;
        }
        if (model == "*") model = null;
        else if (model is not null && !ModelRegistry.IsValidName(model)) return false;
        scope = new AccessScope(verb, model);
        return true;
    }

    /// <summary>Parses a comma- or space-separated list of scopes.</summary>
    /// <exception cref="ArgumentException">A scope is malformed, or the list is empty.</exception>
    public static IReadOnlyList<AccessScope> ParseList(string text)
    {
        var scopes = (text ?? "").Split([',', ' '], StringSplitOptions.RemoveEmptyEntries).Select(Parse).Distinct().ToList();
        return scopes.Count > 0 ? scopes : throw new ArgumentException("No scopes given; use e.g. infer:fashion-mlp,read.", nameof(text));
    }

    /// <inheritdoc/>
    public override string ToString() => (Verb switch { AccessVerb.Infer => "infer", AccessVerb.Read => "read", _ => "manage" }) + (Model is null ? "" : ":" + Model);
}

/// <summary>An API key's record (never the key itself).</summary>
/// <param name="Id">The public part of the key that finds its record.</param>
/// <param name="Name">The name given when it was created.</param>
/// <param name="Scopes">What it allows.</param>
/// <param name="CreatedUtc">When it was created.</param>
/// <param name="ExpiresUtc">When it stops working; null for never.</param>
/// <param name="Revoked">True once revoked.</param>
public sealed record ApiKeyInfo(string Id, string Name, IReadOnlyList<AccessScope> Scopes, DateTimeOffset CreatedUtc, DateTimeOffset? ExpiresUtc, bool Revoked);

/// <summary>A newly created API key: its record and the key, which is shown this once and stored only as a hash.</summary>
/// <param name="Info">The record.</param>
/// <param name="Key">The secret key (<c>nck_</c>, the id, <c>_</c>, 43 characters of 256 random bits).</param>
public sealed record CreatedApiKey(ApiKeyInfo Info, string Key);

public sealed partial class ModelRegistry
{
    const string KeyPrefix = "nck_";

    /// <summary>
    /// Creates an API key named <paramref name="name"/> with <paramref name="scopes"/>. The key holds 256 random bits;
    /// the registry stores only its SHA-256, so the returned <see cref="CreatedApiKey.Key"/> cannot be shown again.
    /// </summary>
    /// <exception cref="ArgumentException">A malformed name, no scopes, or a name already in use.</exception>
    public CreatedApiKey CreateApiKey(string name, IReadOnlyList<AccessScope> scopes, DateTimeOffset? expiresUtc = null)
    {
        CheckName(name, "API key name");
        ArgumentNullException.ThrowIfNull(scopes);
        if (scopes.Count == 0) throw new ArgumentException("An API key needs at least one scope.", nameof(scopes));
        string id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        string key = KeyPrefix + id + "_" + Base64Url(RandomNumberGenerator.GetBytes(32));
        var created = DateTimeOffset.UtcNow;
        var info = new ApiKeyInfo(id, name, [.. scopes.Distinct()], created, expiresUtc, false);
        using var c = database.Open();
        using var t = database.BeginWrite(c);
        using (var exists = RegistryDatabase.Command(c, t, "SELECT COUNT(*) FROM api_keys WHERE name = @name", ("@name", name)))
            if (Convert.ToInt64(exists.ExecuteScalar(), CultureInfo.InvariantCulture) > 0)
                throw new ArgumentException($"An API key named '{Clip(name)}' exists already; revoke it or choose another name.", nameof(name));
        using (var insert = RegistryDatabase.Command(c, t,
                   "INSERT INTO api_keys (key_id, name, key_sha256, scopes, created_utc, expires_utc, revoked) VALUES (@id, @name, @hash, @scopes, @created, @expires, 0)",
                   ("@id", id), ("@name", name), ("@hash", Convert.ToHexStringLower(HashKey(key))),
                   ("@scopes", string.Join(",", info.Scopes)), ("@created", Iso(created)), ("@expires", expiresUtc is { } e ? Iso(e) : null)))
            insert.ExecuteNonQuery();
        t.Commit();
        return new CreatedApiKey(info, key);
    }

    /// <summary>Every API key's record, by name.</summary>
    public IReadOnlyList<ApiKeyInfo> ListApiKeys()
    {
        using var c = database.Open();
        using var q = RegistryDatabase.Command(c, null, "SELECT key_id, name, scopes, created_utc, expires_utc, revoked FROM api_keys ORDER BY name");
        using var r = q.ExecuteReader();
        var keys = new List<ApiKeyInfo>();
        while (r.Read()) keys.Add(ReadKey(r));
        return keys;
    }

    /// <summary>Revokes the key named <paramref name="name"/>; false when there is none.</summary>
    public bool RevokeApiKey(string name)
    {
        CheckName(name, "API key name");
        using var c = database.Open();
        using var t = database.BeginWrite(c);
        using var update = RegistryDatabase.Command(c, t, "UPDATE api_keys SET revoked = 1 WHERE name = @name", ("@name", name));
        int changed = update.ExecuteNonQuery();
        t.Commit();
        return changed > 0;
    }

    /// <summary>
    /// Checks a presented key: its record is found by the id it contains, and the SHA-256 of the whole key is compared
    /// with the stored one in constant time. Returns the record when the key is known, not revoked and not expired;
    /// null otherwise (malformed, unknown, wrong secret, revoked or expired).
    /// </summary>
    public ApiKeyInfo? FindApiKey(string presented)
    {
        if (presented is null || presented.Length != KeyPrefix.Length + 16 + 1 + 43 || !presented.StartsWith(KeyPrefix, StringComparison.Ordinal)
            || presented[KeyPrefix.Length + 16] != '_')
            return null;
        string id = presented.Substring(KeyPrefix.Length, 16);
        if (!id.All(char.IsAsciiHexDigitLower)) return null;
        using var c = database.Open();
        using var q = RegistryDatabase.Command(c, null,
            "SELECT key_id, name, scopes, created_utc, expires_utc, revoked, key_sha256 FROM api_keys WHERE key_id = @id", ("@id", id));
        using var r = q.ExecuteReader();
        if (!r.Read()) return null;
        var info = ReadKey(r);
        byte[] stored = Convert.FromHexString(r.GetString(6));
        if (!CryptographicOperations.FixedTimeEquals(stored, HashKey(presented))) return null;
        if (info.Revoked || info.ExpiresUtc is { } e && e <= DateTimeOffset.UtcNow) return null;
        return info;
    }

    static ApiKeyInfo ReadKey(System.Data.Common.DbDataReader r) => new(
        r.GetString(0), r.GetString(1), AccessScope.ParseList(r.GetString(2)), ParseIso(r.GetString(3)),
        r.IsDBNull(4) ? null : ParseIso(r.GetString(4)), Convert.ToInt64(r.GetValue(5), CultureInfo.InvariantCulture) != 0);

    static byte[] HashKey(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

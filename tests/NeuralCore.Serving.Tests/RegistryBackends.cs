using System.Reflection;
using NeuralCore.Serving.Registry;
using Npgsql;
using Xunit.Sdk;

namespace NeuralCore.Serving.Tests;

/// <summary>Where a test's registry lives: a temporary SQLite directory, or a fresh schema in the test PostgreSQL database.</summary>
public sealed class RegistryBackend : IDisposable
{
    /// <summary>The environment variable holding the Npgsql connection string of a database the tests may create schemas in.</summary>
    public const string PostgresVariable = "NEURALCORE_TEST_POSTGRES";

    readonly string? schema;
    readonly string? connectionString;

    RegistryBackend(string kind, string directory, string? schema, string? connectionString)
    {
        Kind = kind;
        Directory = directory;
        this.schema = schema;
        this.connectionString = connectionString;
    }

    public string Kind { get; }

    /// <summary>A temporary directory: the SQLite registry, or the PostgreSQL registry's blob folder.</summary>
    public string Directory { get; }

    public static RegistryBackend Create(string kind)
    {
        string directory = System.IO.Directory.CreateTempSubdirectory("neuralcore-registry-").FullName;
        if (kind == "sqlite") return new RegistryBackend(kind, directory, null, null);
        string baseConnection = Environment.GetEnvironmentVariable(PostgresVariable)
            ?? throw new InvalidOperationException($"{PostgresVariable} is not set.");
        string schema = $"t_{Guid.NewGuid():N}";
        using (var c = new NpgsqlConnection(baseConnection))
        {
            c.Open();
            using var create = new NpgsqlCommand($"CREATE SCHEMA {schema}", c);
            create.ExecuteNonQuery();
        }
        var builder = new NpgsqlConnectionStringBuilder(baseConnection) { SearchPath = schema };
        return new RegistryBackend(kind, directory, schema, builder.ConnectionString);
    }

    /// <summary>Opens the registry (a new instance each call, with its own connections, as another process would).</summary>
    public ModelRegistry Open() => Kind == "sqlite"
        ? ModelRegistry.OpenSqlite(Directory)
        : ModelRegistry.OpenPostgres(connectionString!, Path.Combine(Directory, "blobs"));

    /// <summary>Runs one SQL statement against the registry's database directly (to simulate old or foreign databases).</summary>
    public void ExecuteSql(string sql)
    {
        if (Kind == "sqlite")
        {
            using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(Directory, "registry.db")};Pooling=False");
            c.Open();
            using var command = c.CreateCommand();
            command.CommandText = sql;
            command.ExecuteNonQuery();
        }
        else
        {
            using var c = new NpgsqlConnection(connectionString);
            c.Open();
            using var command = new NpgsqlCommand(sql, c);
            command.ExecuteNonQuery();
        }
    }

    public void Dispose()
    {
        if (schema is not null)
        {
            NpgsqlConnection.ClearAllPools();
            using var c = new NpgsqlConnection(Environment.GetEnvironmentVariable(PostgresVariable));
            c.Open();
            using var drop = new NpgsqlCommand($"DROP SCHEMA {schema} CASCADE", c);
            drop.ExecuteNonQuery();
        }
        else
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        }
        // Stored model files are read-only; the directory can still be removed (its entries are, not the files).
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>Supplies the "sqlite" backend to a theory.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class SqliteBackendAttribute : DataAttribute
{
    public override IEnumerable<object[]> GetData(MethodInfo testMethod) => [["sqlite"]];
}

/// <summary>
/// Supplies the "postgresql" backend to a theory; the case is reported as skipped, with the reason, when
/// <see cref="RegistryBackend.PostgresVariable"/> is not set.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class PostgresBackendAttribute : DataAttribute
{
    public PostgresBackendAttribute()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(RegistryBackend.PostgresVariable)))
            Skip = $"{RegistryBackend.PostgresVariable} is not set: no PostgreSQL database to test against (.ci/run installs, starts and sets one).";
    }

    public override IEnumerable<object[]> GetData(MethodInfo testMethod) => [["postgresql"]];
}

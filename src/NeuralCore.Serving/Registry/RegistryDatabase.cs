using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace NeuralCore.Serving.Registry;

/// <summary>
/// The few things SQLite and PostgreSQL do differently for the registry: opening a connection, starting a write
/// transaction that excludes every other writer (so version numbers are handed out one at a time, even across
/// processes and hosts), and recognising a unique-constraint violation. The SQL itself is the same for both.
/// </summary>
internal abstract class RegistryDatabase : IDisposable
{
    /// <summary>"sqlite" or "postgresql", for messages.</summary>
    public abstract string Kind { get; }

    /// <summary>Opens a (pooled) connection.</summary>
    public abstract DbConnection Open();

    /// <summary>Starts a transaction that holds the registry's write lock until it ends.</summary>
    public abstract DbTransaction BeginWrite(DbConnection connection);

    /// <summary>True when <paramref name="e"/> reports a primary-key or unique-constraint violation.</summary>
    public abstract bool IsUniqueViolation(DbException e);

    /// <inheritdoc/>
    public virtual void Dispose() { }

    internal static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var p = command.CreateParameter();
            p.ParameterName = name;
            p.Value = value ?? DBNull.Value;
            command.Parameters.Add(p);
        }
        return command;
    }
}

internal sealed class SqliteRegistryDatabase : RegistryDatabase
{
    readonly string connectionString;

    public SqliteRegistryDatabase(string path)
    {
        connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            ForeignKeys = true,
            Pooling = true,
            // Microsoft.Data.Sqlite retries a busy database (another writer holds the lock) for this many seconds.
            DefaultTimeout = 60,
        }.ToString();
        using var connection = Open();
        // Write-ahead logging lets readers (hosts resolving aliases) run while a writer registers a version.
        using var wal = Command(connection, null, "PRAGMA journal_mode=WAL;");
        wal.ExecuteNonQuery();
    }

    public override string Kind => "sqlite";

    public override DbConnection Open()
    {
        var connection = new SqliteConnection(connectionString);
        connection.Open();
        return connection;
    }

    // BEGIN IMMEDIATE: takes the database's write lock at once, so two writers never interleave.
    public override DbTransaction BeginWrite(DbConnection connection) => ((SqliteConnection)connection).BeginTransaction(deferred: false);

    public override bool IsUniqueViolation(DbException e) =>
        e is SqliteException { SqliteErrorCode: 19 /* SQLITE_CONSTRAINT */ } s && s.SqliteExtendedErrorCode is 1555 or 2067; // PRIMARYKEY, UNIQUE
}

internal sealed class PostgresRegistryDatabase(string connectionString) : RegistryDatabase
{
    // Key of the transaction-scoped advisory lock that serializes the registry's writers ("NCRG").
    const long WriteLockKey = 0x4E43_5247;

    readonly NpgsqlDataSource dataSource = NpgsqlDataSource.Create(connectionString);

    public override string Kind => "postgresql";

    public override DbConnection Open() => dataSource.OpenConnection();

    public override DbTransaction BeginWrite(DbConnection connection)
    {
        var transaction = connection.BeginTransaction();
        try
        {
            using var command = Command(connection, transaction, "SELECT pg_advisory_xact_lock(@key);", ("@key", WriteLockKey));
            command.ExecuteNonQuery();
            return transaction;
        }
        catch
        {
            transaction.Dispose();
            throw;
        }
    }

    public override bool IsUniqueViolation(DbException e) => e is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };

    public override void Dispose() => dataSource.Dispose();
}

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

    /// <summary>
    /// Listens for the change notifications every committed write transaction sends (PostgreSQL only): calls
    /// <paramref name="connected"/> once listening, then <paramref name="changed"/> for each notification, until
    /// <paramref name="cancellation"/> fires (returns) or the connection fails (throws). Returns at once, without
    /// calling either, where the database has no such channel (SQLite).
    /// </summary>
    public virtual Task ListenAsync(Action connected, Action changed, CancellationToken cancellation) => Task.CompletedTask;

    /// <summary>True when <see cref="ListenAsync"/> can deliver notifications.</summary>
    public virtual bool CanListen => false;

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

    /// <summary>
    /// The notification channel of registry changes. Its payload is the writer's schema (<c>current_schema()</c>), so
    /// registries in different schemas of one database ignore each other's changes.
    /// </summary>
    internal const string ChangeChannel = "neuralcore_registry";

    /// <summary>The application name of the listening connection (visible in <c>pg_stat_activity</c>).</summary>
    internal const string ListenerApplicationName = "neuralcore-registry-listener";

    readonly NpgsqlDataSource dataSource = NpgsqlDataSource.Create(connectionString);

    public override string Kind => "postgresql";

    public override DbConnection Open() => dataSource.OpenConnection();

    public override DbTransaction BeginWrite(DbConnection connection)
    {
        var transaction = connection.BeginTransaction();
        try
        {
            // The notification is queued now and delivered when (and only if) the transaction commits.
            using var command = Command(connection, transaction,
                $"SELECT pg_advisory_xact_lock(@key); SELECT pg_notify('{ChangeChannel}', current_schema());", ("@key", WriteLockKey));
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

    public override bool CanListen => true;

    public override async Task ListenAsync(Action connected, Action changed, CancellationToken cancellation)
    {
        // A dedicated connection outside the pool: it stays in LISTEN for the registry's lifetime. Keepalive queries
        // every 5 s make a dead connection fail WaitAsync instead of waiting forever.
        var builder = new NpgsqlConnectionStringBuilder(connectionString)
        {
            Pooling = false,
            KeepAlive = 5,
            ApplicationName = ListenerApplicationName,
        };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(cancellation).ConfigureAwait(false);
        string schema;
        await using (var query = new NpgsqlCommand("SELECT current_schema()", connection))
            schema = (string)(await query.ExecuteScalarAsync(cancellation).ConfigureAwait(false))!;
        connection.Notification += (_, e) =>
        {
            if (e.Channel == ChangeChannel && e.Payload == schema) changed();
        };
        await using (var listen = new NpgsqlCommand($"LISTEN {ChangeChannel}", connection))
            await listen.ExecuteNonQueryAsync(cancellation).ConfigureAwait(false);
        connected();
        try
        {
            while (true) await connection.WaitAsync(cancellation).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
        }
    }

    public override void Dispose() => dataSource.Dispose();
}

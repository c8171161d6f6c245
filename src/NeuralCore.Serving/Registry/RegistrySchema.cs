using System.Data.Common;
using System.Globalization;

namespace NeuralCore.Serving.Registry;

/// <summary>
/// The registry's schema as numbered migrations. <see cref="Migrate"/> runs at every open: inside one write
/// transaction it creates <c>schema_version</c> when missing, then applies, in order, each migration newer than the
/// highest recorded one and records it. Running it again changes nothing; a database from a newer release is refused.
/// </summary>
internal static class RegistrySchema
{
    /// <summary>Each migration's number and SQL (statements separated by semicolons; valid for SQLite and PostgreSQL).</summary>
    internal static readonly IReadOnlyList<(int Version, string Sql)> Migrations =
    [
        (1, """
            CREATE TABLE models (
                name TEXT PRIMARY KEY,
                description TEXT NOT NULL,
                last_version INTEGER NOT NULL,
                created_utc TEXT NOT NULL);
            CREATE TABLE model_versions (
                model_name TEXT NOT NULL REFERENCES models (name),
                version INTEGER NOT NULL,
                sha256 TEXT NOT NULL,
                size_bytes BIGINT NOT NULL,
                description TEXT NOT NULL,
                archived INTEGER NOT NULL,
                signature_json TEXT NOT NULL,
                metrics_json TEXT NOT NULL,
                parameters_json TEXT NOT NULL,
                parent_version INTEGER,
                dataset TEXT,
                created_utc TEXT NOT NULL,
                PRIMARY KEY (model_name, version));
            CREATE INDEX model_versions_sha256 ON model_versions (sha256);
            CREATE TABLE aliases (
                model_name TEXT NOT NULL,
                alias TEXT NOT NULL,
                version INTEGER NOT NULL,
                PRIMARY KEY (model_name, alias),
                FOREIGN KEY (model_name, version) REFERENCES model_versions (model_name, version));
            CREATE TABLE tags (
                model_name TEXT NOT NULL,
                version INTEGER NOT NULL,
                tag_key TEXT NOT NULL,
                tag_value TEXT NOT NULL,
                PRIMARY KEY (model_name, version, tag_key),
                FOREIGN KEY (model_name, version) REFERENCES model_versions (model_name, version));
            """),
        // API keys: only the SHA-256 of each key is stored; key_id (public, part of the key) finds the row.
        (2, """
            CREATE TABLE api_keys (
                key_id TEXT PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                key_sha256 TEXT NOT NULL,
                scopes TEXT NOT NULL,
                created_utc TEXT NOT NULL,
                expires_utc TEXT,
                revoked INTEGER NOT NULL);
            """),
        // Training curves: each History key's per-epoch values (a JSON array), in the order the keys were logged.
        (3, """
            CREATE TABLE training_curves (
                model_name TEXT NOT NULL,
                version INTEGER NOT NULL,
                metric TEXT NOT NULL,
                position INTEGER NOT NULL,
                values_json TEXT NOT NULL,
                PRIMARY KEY (model_name, version, metric),
                FOREIGN KEY (model_name, version) REFERENCES model_versions (model_name, version));
            """),
        // Training cost: the run's FLOPs and energy when the model's manifest or Fit's history carried them (NULL otherwise).
        (4, """
            ALTER TABLE model_versions ADD COLUMN training_flops BIGINT;
            ALTER TABLE model_versions ADD COLUMN training_energy_joules DOUBLE PRECISION;
            ALTER TABLE model_versions ADD COLUMN training_co2e_grams DOUBLE PRECISION;
            ALTER TABLE model_versions ADD COLUMN training_energy_method TEXT;
            """),
    ];

    /// <summary>The schema version this release writes.</summary>
    internal static int Current => Migrations[^1].Version;

    /// <summary>Brings the database up to <see cref="Current"/>; returns the number of migrations applied.</summary>
    /// <exception cref="InvalidOperationException">The database was written by a newer release (a higher schema version).</exception>
    internal static int Migrate(RegistryDatabase database)
    {
        using var connection = database.Open();
        using var transaction = database.BeginWrite(connection);
        Execute(connection, transaction, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_utc TEXT NOT NULL)");
        int current;
        using (var query = RegistryDatabase.Command(connection, transaction, "SELECT COALESCE(MAX(version), 0) FROM schema_version"))
            current = Convert.ToInt32(query.ExecuteScalar(), CultureInfo.InvariantCulture);
        if (current > Current)
            throw new InvalidOperationException(
                $"The registry database ({database.Kind}) has schema version {current}, newer than this release supports ({Current}); use a newer NeuralCore.Serving.");
        int applied = 0;
        foreach (var (version, sql) in Migrations)
        {
            if (version <= current) continue;
            foreach (var statement in sql.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                Execute(connection, transaction, statement);
            using var record = RegistryDatabase.Command(connection, transaction,
                "INSERT INTO schema_version (version, applied_utc) VALUES (@version, @applied)",
                ("@version", version), ("@applied", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture)));
            record.ExecuteNonQuery();
            applied++;
        }
        transaction.Commit();
        return applied;
    }

    static void Execute(DbConnection connection, DbTransaction transaction, string sql)
    {
        using var command = RegistryDatabase.Command(connection, transaction, sql);
        command.ExecuteNonQuery();
    }
}

using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using NeuralCore.Nn;
using NeuralCore.Onnx;
using NeuralCore.Serialization;
using NeuralCore.Training;

namespace NeuralCore.Serving.Registry;

/// <summary>
/// A model registry: models by name, each with numbered immutable versions (the library's own model files, stored by
/// SHA-256 and checked against it on every load), aliases such as <c>production</c>, tags, descriptions, the
/// signature, the training run's metrics and parameters, and lineage. Metadata lives in SQLite
/// (<see cref="OpenSqlite"/>, zero set-up) or PostgreSQL (<see cref="OpenPostgres"/>, for several hosts sharing one
/// registry); the schema is migrated at open.
/// </summary>
/// <remarks>
/// Thread-safe: every call uses its own pooled connection, and every change runs in a transaction that holds the
/// registry's write lock (SQLite <c>BEGIN IMMEDIATE</c>, a PostgreSQL advisory lock), so processes registering the
/// same model concurrently get distinct version numbers. Version numbers are never reused, even after a delete.
/// Names of models, aliases: 1 to 128 characters, letters, digits, '.', '_' and '-', starting with a letter or digit;
/// an alias may not be all digits or <c>latest</c>, which <see cref="Resolve"/> reads as version references.
/// </remarks>
public sealed partial class ModelRegistry : IDisposable
{
    /// <summary>Longest tag value and description accepted, in characters.</summary>
    public const int MaxTextLength = 4096;

    const int MaxRetries = 5;

    static Hosting.ServingJson Json => Hosting.ServingJson.Default;

    readonly RegistryDatabase database;
    readonly BlobStore blobs;

    ModelRegistry(RegistryDatabase database, string blobDirectory)
    {
        this.database = database;
        try
        {
            blobs = new BlobStore(blobDirectory);
            RegistrySchema.Migrate(database);
        }
        catch
        {
            database.Dispose();
            throw;
        }
        BlobDirectory = Path.GetFullPath(blobDirectory);
        Changes = new RegistryChanges(database);
    }

    /// <summary>Change tracking for caches over this registry (see <see cref="RegistryChanges"/>).</summary>
    public RegistryChanges Changes { get; }

    /// <summary>Where the model files are stored (<c>ab/cdef...</c> by SHA-256).</summary>
    public string BlobDirectory { get; }

    /// <summary>"sqlite" or "postgresql".</summary>
    public string DatabaseKind => database.Kind;

    /// <summary>The schema version this release creates and expects.</summary>
    public static int SchemaVersion => RegistrySchema.Current;

    /// <summary>
    /// Opens (creating when needed) the embedded registry in <paramref name="directory"/>: metadata in
    /// <c>registry.db</c> (SQLite), model files under <c>blobs/</c>.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is empty.</exception>
    /// <exception cref="InvalidOperationException">The database has a newer schema than this release.</exception>
    public static ModelRegistry OpenSqlite(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);
        return new ModelRegistry(new SqliteRegistryDatabase(Path.Combine(directory, "registry.db")), Path.Combine(directory, "blobs"));
    }

    /// <summary>
    /// Opens the registry whose metadata is in the PostgreSQL database of <paramref name="connectionString"/> (an
    /// Npgsql connection string) and whose model files are under <paramref name="blobDirectory"/>, a folder every host
    /// sharing the registry must see (a shared file system). The tables are created in the connection's search path.
    /// </summary>
    /// <exception cref="ArgumentException">An argument is empty or the connection string is malformed.</exception>
    /// <exception cref="DbException">The database cannot be reached.</exception>
    /// <exception cref="InvalidOperationException">The database has a newer schema than this release.</exception>
    public static ModelRegistry OpenPostgres(string connectionString, string blobDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        ArgumentException.ThrowIfNullOrEmpty(blobDirectory);
        return new ModelRegistry(new PostgresRegistryDatabase(connectionString), blobDirectory);
    }

    // ---------------------------------------------------------------- registering

    /// <summary>
    /// Registers <paramref name="model"/> (typically right after <c>Fit</c>) as the next version of
    /// <paramref name="name"/>: saves it with <see cref="Module.Save"/>, stores the file by its SHA-256 and records the
    /// final value of each <paramref name="history"/> metric, the run's <see cref="History.Parameters"/> and
    /// <paramref name="options"/>.
    /// </summary>
    /// <returns>The new version.</returns>
    /// <exception cref="ArgumentException">A name, alias, tag or text is invalid, or the input shape does not fit the model.</exception>
    /// <exception cref="ModelNotFoundException"><see cref="RegisterOptions.ParentVersion"/> does not exist.</exception>
    public ModelVersionInfo Register(string name, Sequential model, History? history = null, RegisterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new RegisterOptions();
        CheckName(name, "model name");
        var signature = Signature(model, options.InputShape, options);
        string staged = blobs.StagingPath();
        try
        {
            model.Save(staged, new ModelManifest
            {
                Name = name,
                InputShape = signature.Inputs[0].Shape,
                OutputShape = signature.Outputs.Count > 0 ? signature.Outputs[0].Shape : null,
                Metrics = history is null ? null : FinalMetrics(history),
                TrainingConfig = history?.Parameters,
                TrainingCost = RecordedTrainingCost.From(history),
            });
            return Store(name, staged, signature, history, options, RecordedTrainingCost.From(history));
        }
        finally
        {
            if (File.Exists(staged)) File.Delete(staged);
        }
    }

    /// <summary>
    /// Registers a model file written by <see cref="Module.Save"/>, or an ONNX model, as the next version of
    /// <paramref name="name"/>. The file is copied first and the copy is loaded with <see cref="Sequential.Load"/> (all its
    /// checks and <paramref name="limits"/>) or imported with <see cref="OnnxModel"/> (the format is told by content)
    /// before anything is recorded. The signature's input shape defaults to the manifest's, or to the ONNX graph input's
    /// (batch −1) when its other dimensions are fixed; an ONNX model's <c>class_labels</c> metadata gives the class names
    /// when none are set. Loading a stored ONNX version serves the imported graph as a one-layer <see cref="Sequential"/>.
    /// </summary>
    /// <returns>The new version.</returns>
    /// <exception cref="InvalidDataException">The file does not load (see <see cref="Sequential.Load"/>), is not an ONNX model NeuralCore imports, or exceeds <paramref name="limits"/>.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="ArgumentException">A name or option is invalid.</exception>
    public ModelVersionInfo RegisterFile(string name, string path, RegisterOptions? options = null, ModelLoadLimits? limits = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new RegisterOptions();
        CheckName(name, "model name");
        string staged = blobs.StagingPath();
        try
        {
            File.Copy(path, staged);
            Sequential model;
            OnnxModel? onnx;
            try
            {
                model = ModelFiles.Load(staged, limits, out onnx);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{path}: cannot be registered: {e.Message}", e);
            }
            if (onnx is not null)
            {
                var onnxSignature = Signature(model, options.InputShape ?? ModelFiles.InputShape(onnx),
                    options.ClassNames is null && onnx.ClassLabels is { } labels ? options with { ClassNames = labels } : options);
                return Store(name, staged, onnxSignature, null, options);
            }
            var manifest = ModelManifest.FromMetadata(SafeTensors.LoadMetadata(staged), limits)!;
            var signature = Signature(model, options.InputShape ?? manifest.InputShape, options);
            var metrics = manifest.Metrics is null ? options : options with { Metrics = Merge(manifest.Metrics, options.Metrics) };
            var parameters = manifest.TrainingConfig is null ? metrics : metrics with { Parameters = Merge(manifest.TrainingConfig, options.Parameters) };
            return Store(name, staged, signature, null, parameters, manifest.TrainingCost);
        }
        finally
        {
            if (File.Exists(staged)) File.Delete(staged);
        }
    }

    ModelVersionInfo Store(string name, string staged, ModelSignature signature, History? history, RegisterOptions options,
        RecordedTrainingCost? cost = null)
    {
        cost?.Validate();
        string description = CheckText(options.Description ?? "", "description");
        var tags = options.Tags ?? new Dictionary<string, string>();
        foreach (var (key, value) in tags) CheckTag(key, value);
        var aliases = options.Aliases ?? [];
        foreach (var alias in aliases) CheckAlias(alias);
        if (options.Dataset is { } dataset) CheckText(dataset, "data set name");
        var metrics = Merge(history is null ? null : FinalMetrics(history), options.Metrics);
        var parameters = Merge(history?.Parameters, options.Parameters);
        var curves = history is null ? [] : Curves(history);
        var (sha256, size) = BlobStore.Hash(staged);
        var created = DateTimeOffset.UtcNow;

        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return Write(connection =>
                {
                    var (c, t) = connection;
                    Exec(c, t, "INSERT INTO models (name, description, last_version, created_utc) VALUES (@name, '', 0, @created) ON CONFLICT (name) DO NOTHING",
                        ("@name", name), ("@created", Iso(created)));
                    if (options.ParentVersion is { } parent && !VersionExists(c, t, name, parent))
                        throw new ModelNotFoundException($"Model '{Clip(name)}' has no version {parent} to record as the parent.");
                    int version;
                    using (var next = RegistryDatabase.Command(c, t, "UPDATE models SET last_version = last_version + 1 WHERE name = @name RETURNING last_version", ("@name", name)))
                        version = Convert.ToInt32(next.ExecuteScalar(), CultureInfo.InvariantCulture);
                    Exec(c, t, """
                        INSERT INTO model_versions (model_name, version, sha256, size_bytes, description, archived, signature_json,
                            metrics_json, parameters_json, parent_version, dataset, created_utc,
                            training_flops, training_energy_joules, training_co2e_grams, training_energy_method)
                        VALUES (@name, @version, @sha, @size, @description, 0, @signature, @metrics, @parameters, @parent, @dataset, @created,
                            @flops, @joules, @co2e, @method)
                        """,
                        ("@name", name), ("@version", version), ("@sha", sha256), ("@size", size), ("@description", description),
                        ("@signature", JsonSerializer.Serialize(signature, Json.ModelSignature)), ("@metrics", JsonSerializer.Serialize(metrics, Json.DictionaryStringDouble)),
                        ("@parameters", JsonSerializer.Serialize(parameters, Json.DictionaryStringString)), ("@parent", options.ParentVersion),
                        ("@dataset", options.Dataset), ("@created", Iso(created)),
                        ("@flops", cost?.Flops), ("@joules", cost?.EnergyJoules), ("@co2e", cost?.Co2eGrams), ("@method", cost?.Method));
                    foreach (var (key, value) in tags) UpsertTag(c, t, name, version, key, value);
                    foreach (var alias in aliases) UpsertAlias(c, t, name, alias, version);
                    for (int i = 0; i < curves.Count; i++)
                        Exec(c, t, "INSERT INTO training_curves (model_name, version, metric, position, values_json) VALUES (@name, @version, @metric, @position, @values)",
                            ("@name", name), ("@version", version), ("@metric", curves[i].Metric), ("@position", i),
                            ("@values", JsonSerializer.Serialize(curves[i].Values, Json.DoubleArray)));
                    // Last, under the write lock: a concurrent Delete cannot remove the file between here and the commit.
                    string copy = blobs.StagingPath();
                    File.Copy(staged, copy);
                    bool created1 = blobs.Commit(copy, sha256);
                    try
                    {
                        t.Commit();
                    }
                    catch
                    {
                        if (created1) blobs.Delete(sha256);
                        throw;
                    }
                    return ReadVersions(c, null, name, version)[0];
                });
            }
            catch (DbException e) when (attempt < MaxRetries && database.IsUniqueViolation(e))
            {
                // Only reachable if another writer slipped past the write lock (a registry opened without it); retry.
            }
        }
    }

    // ---------------------------------------------------------------- reading

    /// <summary>
    /// Finds a version: <paramref name="reference"/> is a version number (<c>"3"</c>), <c>"latest"</c> (the highest
    /// version not archived) or an alias.
    /// </summary>
    /// <exception cref="ModelNotFoundException">No such model, version or alias; the message says which.</exception>
    /// <exception cref="ArgumentException">The name or reference is malformed.</exception>
    public ModelVersionInfo Resolve(string name, string reference)
    {
        CheckName(name, "model name");
        ArgumentException.ThrowIfNullOrEmpty(reference);
        using var c = database.Open();
        if (!ModelExists(c, null, name))
            throw new ModelNotFoundException($"The registry has no model named '{Clip(name)}'.");
        int version;
        if (reference.All(char.IsAsciiDigit))
        {
            if (!int.TryParse(reference, NumberStyles.None, CultureInfo.InvariantCulture, out version) || !VersionExists(c, null, name, version))
                throw new ModelNotFoundException($"Model '{Clip(name)}' has no version {Clip(reference)}.");
        }
        else if (reference == "latest")
        {
            using var q = RegistryDatabase.Command(c, null, "SELECT MAX(version) FROM model_versions WHERE model_name = @name AND archived = 0", ("@name", name));
            version = q.ExecuteScalar() is { } v and not DBNull ? Convert.ToInt32(v, CultureInfo.InvariantCulture)
                : throw new ModelNotFoundException($"Model '{Clip(name)}' has no version that is not archived, so 'latest' names none.");
        }
        else
        {
            CheckAlias(reference);
            using var q = RegistryDatabase.Command(c, null, "SELECT version FROM aliases WHERE model_name = @name AND alias = @alias", ("@name", name), ("@alias", reference));
            version = q.ExecuteScalar() is { } v and not DBNull ? Convert.ToInt32(v, CultureInfo.InvariantCulture)
                : throw new ModelNotFoundException($"Model '{Clip(name)}' has no alias '{Clip(reference)}'.");
        }
        return ReadVersions(c, null, name, version)[0];
    }

    /// <summary>Finds version <paramref name="version"/> of <paramref name="name"/>.</summary>
    /// <exception cref="ModelNotFoundException">No such model or version.</exception>
    public ModelVersionInfo GetVersion(string name, int version) => Resolve(name, version.ToString(CultureInfo.InvariantCulture));

    /// <summary>Every model, by name.</summary>
    public IReadOnlyList<RegisteredModel> ListModels()
    {
        using var c = database.Open();
        var models = new List<(string Name, string Description, DateTimeOffset Created)>();
        using (var q = RegistryDatabase.Command(c, null, "SELECT name, description, created_utc FROM models ORDER BY name"))
        using (var r = q.ExecuteReader())
            while (r.Read()) models.Add((r.GetString(0), r.GetString(1), ParseIso(r.GetString(2))));
        return models.ConvertAll(m => ReadModel(c, m.Name, m.Description, m.Created));
    }

    /// <summary>One model's summary.</summary>
    /// <exception cref="ModelNotFoundException">No such model.</exception>
    public RegisteredModel GetModel(string name)
    {
        CheckName(name, "model name");
        using var c = database.Open();
        using var q = RegistryDatabase.Command(c, null, "SELECT description, created_utc FROM models WHERE name = @name", ("@name", name));
        using var r = q.ExecuteReader();
        if (!r.Read()) throw new ModelNotFoundException($"The registry has no model named '{Clip(name)}'.");
        var (description, created) = (r.GetString(0), ParseIso(r.GetString(1)));
        r.Close();
        return ReadModel(c, name, description, created);
    }

    /// <summary>
    /// The training curves recorded with a version: each <see cref="History"/> key given to
    /// <see cref="Register(string, Sequential, History?, RegisterOptions?)"/> with its per-epoch values, in the order
    /// the keys were logged. Empty for a version registered without a history (or from a file).
    /// </summary>
    /// <exception cref="ModelNotFoundException">No such model or version.</exception>
    public IReadOnlyDictionary<string, IReadOnlyList<double>> GetTrainingCurves(string name, int version)
    {
        CheckName(name, "model name");
        using var c = database.Open();
        if (!ModelExists(c, null, name)) throw new ModelNotFoundException($"The registry has no model named '{Clip(name)}'.");
        if (!VersionExists(c, null, name, version)) throw new ModelNotFoundException($"Model '{Clip(name)}' has no version {version}.");
        // Insertion order is kept by the dictionary as long as nothing is removed from it.
        var curves = new Dictionary<string, IReadOnlyList<double>>(StringComparer.Ordinal);
        using var q = RegistryDatabase.Command(c, null,
            "SELECT metric, values_json FROM training_curves WHERE model_name = @name AND version = @version ORDER BY position",
            ("@name", name), ("@version", version));
        using var r = q.ExecuteReader();
        while (r.Read()) curves[r.GetString(0)] = JsonSerializer.Deserialize(r.GetString(1), Json.DoubleArray)!;
        return curves;
    }

    /// <summary>Every version of <paramref name="name"/>, archived ones included, by number.</summary>
    /// <exception cref="ModelNotFoundException">No such model.</exception>
    public IReadOnlyList<ModelVersionInfo> ListVersions(string name)
    {
        CheckName(name, "model name");
        using var c = database.Open();
        if (!ModelExists(c, null, name)) throw new ModelNotFoundException($"The registry has no model named '{Clip(name)}'.");
        return ReadVersions(c, null, name, null);
    }

    /// <summary>The path of the stored model file of <paramref name="version"/> (read-only; do not change it).</summary>
    public string FilePath(ModelVersionInfo version)
    {
        ArgumentNullException.ThrowIfNull(version);
        return blobs.PathOf(version.Sha256);
    }

    /// <summary>
    /// Loads a version (resolved as by <see cref="Resolve"/>) in evaluation mode. The stored file's SHA-256 is
    /// recomputed and compared with the registry's record first, then <see cref="Sequential.Load"/> (or, for an ONNX
    /// model, <see cref="OnnxModel"/>'s import) applies its own checks and <paramref name="limits"/>; nothing is returned
    /// unless both pass.
    /// </summary>
    /// <exception cref="ModelNotFoundException">No such model, version or alias.</exception>
    /// <exception cref="InvalidDataException">The stored file is missing, does not match its recorded hash, or fails to load; the message names the model and version.</exception>
    public Sequential Load(string name, string reference, ModelLoadLimits? limits = null) => Load(Resolve(name, reference), limits);

    /// <summary>Loads <paramref name="version"/>, checked as <see cref="Load(string, string, ModelLoadLimits?)"/> describes.</summary>
    /// <exception cref="InvalidDataException">The stored file is missing, does not match its recorded hash, or fails to load.</exception>
    public Sequential Load(ModelVersionInfo version, ModelLoadLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(version);
        string what = $"Model '{Clip(version.Name)}' version {version.Version}";
        string path = blobs.PathOf(version.Sha256);
        if (!File.Exists(path))
            throw new InvalidDataException($"{what}: its stored file {path} is missing; the version cannot be loaded.");
        var (actual, _) = BlobStore.Hash(path);
        if (actual != version.Sha256)
            throw new InvalidDataException(
                $"{what}: the stored file {path} has SHA-256 {actual}, but the registry recorded {version.Sha256}; the file was altered or corrupted, and the version is refused.");
        try
        {
            var model = ModelFiles.Load(path, limits, out _);
            model.Eval();
            return model;
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{what}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Checks every version of <paramref name="name"/> (or of every model when null) as <see cref="Load(ModelVersionInfo, ModelLoadLimits?)"/>
    /// does, and reports each.
    /// </summary>
    /// <exception cref="ModelNotFoundException"><paramref name="name"/> is not a model.</exception>
    public IReadOnlyList<VerificationResult> Verify(string? name = null, ModelLoadLimits? limits = null)
    {
        var versions = name is null ? ListModels().SelectMany(m => ListVersions(m.Name)).ToList() : [.. ListVersions(name)];
        return versions.ConvertAll(v =>
        {
            try
            {
                Load(v, limits);
                return new VerificationResult(v.Name, v.Version, null);
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                return new VerificationResult(v.Name, v.Version, e.Message);
            }
        });
    }

    // ---------------------------------------------------------------- changing metadata

    /// <summary>Points <paramref name="alias"/> of <paramref name="name"/> at <paramref name="version"/> (moving it if it exists).</summary>
    /// <exception cref="ModelNotFoundException">No such model or version.</exception>
    /// <exception cref="InvalidOperationException">The version is archived.</exception>
    /// <exception cref="ArgumentException">The alias is malformed or reserved.</exception>
    public void SetAlias(string name, string alias, int version)
    {
        CheckName(name, "model name");
        CheckAlias(alias);
        Write(x =>
        {
            if (RequireVersion(x.Connection, x.Transaction, name, version).Archived)
                throw new InvalidOperationException($"Model '{Clip(name)}' version {version} is archived; unarchive it before pointing '{alias}' at it.");
            UpsertAlias(x.Connection, x.Transaction, name, alias, version);
            x.Transaction.Commit();
            return 0;
        });
    }

    /// <summary>Removes an alias; returns false when it did not exist.</summary>
    public bool RemoveAlias(string name, string alias)
    {
        CheckName(name, "model name");
        CheckAlias(alias);
        return Write(x =>
        {
            int n = Exec(x.Connection, x.Transaction, "DELETE FROM aliases WHERE model_name = @name AND alias = @alias", ("@name", name), ("@alias", alias));
            x.Transaction.Commit();
            return n > 0;
        });
    }

    /// <summary>Sets (or replaces) a tag on a version.</summary>
    /// <exception cref="ModelNotFoundException">No such model or version.</exception>
    /// <exception cref="ArgumentException">The key is empty or over 128 characters, or the value over <see cref="MaxTextLength"/>.</exception>
    public void SetTag(string name, int version, string key, string value)
    {
        CheckName(name, "model name");
        CheckTag(key, value);
        Write(x =>
        {
            RequireVersion(x.Connection, x.Transaction, name, version);
            UpsertTag(x.Connection, x.Transaction, name, version, key, value);
            x.Transaction.Commit();
            return 0;
        });
    }

    /// <summary>Removes a tag; returns false when the version had no such tag.</summary>
    /// <exception cref="ModelNotFoundException">No such model or version.</exception>
    public bool RemoveTag(string name, int version, string key)
    {
        CheckName(name, "model name");
        CheckTag(key, "");
        return Write(x =>
        {
            RequireVersion(x.Connection, x.Transaction, name, version);
            int n = Exec(x.Connection, x.Transaction, "DELETE FROM tags WHERE model_name = @name AND version = @version AND tag_key = @key",
                ("@name", name), ("@version", version), ("@key", key));
            x.Transaction.Commit();
            return n > 0;
        });
    }

    /// <summary>Sets the description of the model (<paramref name="version"/> null) or of one version.</summary>
    /// <exception cref="ModelNotFoundException">No such model or version.</exception>
    public void SetDescription(string name, int? version, string description)
    {
        CheckName(name, "model name");
        CheckText(description, "description");
        Write(x =>
        {
            if (version is { } v)
            {
                RequireVersion(x.Connection, x.Transaction, name, v);
                Exec(x.Connection, x.Transaction, "UPDATE model_versions SET description = @d WHERE model_name = @name AND version = @version",
                    ("@d", description), ("@name", name), ("@version", v));
            }
            else if (Exec(x.Connection, x.Transaction, "UPDATE models SET description = @d WHERE name = @name", ("@d", description), ("@name", name)) == 0)
                throw new ModelNotFoundException($"The registry has no model named '{Clip(name)}'.");
            x.Transaction.Commit();
            return 0;
        });
    }

    /// <summary>
    /// Archives a version: it stays stored and loadable by number, but <c>"latest"</c> skips it and no alias may
    /// point at it.
    /// </summary>
    /// <exception cref="ModelNotFoundException">No such model or version.</exception>
    /// <exception cref="InvalidOperationException">An alias points at the version.</exception>
    public void Archive(string name, int version) => SetArchived(name, version, true);

    /// <summary>Reverses <see cref="Archive"/>.</summary>
    /// <exception cref="ModelNotFoundException">No such model or version.</exception>
    public void Unarchive(string name, int version) => SetArchived(name, version, false);

    void SetArchived(string name, int version, bool archived)
    {
        CheckName(name, "model name");
        Write(x =>
        {
            var info = RequireVersion(x.Connection, x.Transaction, name, version);
            if (archived && info.Aliases.Count > 0)
                throw new InvalidOperationException(
                    $"Model '{Clip(name)}' version {version} cannot be archived: the alias(es) {string.Join(", ", info.Aliases)} point at it; move or remove them first.");
            Exec(x.Connection, x.Transaction, "UPDATE model_versions SET archived = @a WHERE model_name = @name AND version = @version",
                ("@a", archived ? 1 : 0), ("@name", name), ("@version", version));
            x.Transaction.Commit();
            return 0;
        });
    }

    /// <summary>
    /// Deletes a version's record, its tags and, when no other version has the same content, its stored file. Its
    /// number is not reused.
    /// </summary>
    /// <exception cref="ModelNotFoundException">No such model or version.</exception>
    /// <exception cref="InvalidOperationException">An alias points at the version.</exception>
    public void Delete(string name, int version)
    {
        CheckName(name, "model name");
        Write(x =>
        {
            var (c, t) = x;
            var info = RequireVersion(c, t, name, version);
            if (info.Aliases.Count > 0)
                throw new InvalidOperationException(
                    $"Model '{Clip(name)}' version {version} cannot be deleted: the alias(es) {string.Join(", ", info.Aliases)} point at it; move or remove them first.");
            Exec(c, t, "DELETE FROM tags WHERE model_name = @name AND version = @version", ("@name", name), ("@version", version));
            Exec(c, t, "DELETE FROM training_curves WHERE model_name = @name AND version = @version", ("@name", name), ("@version", version));
            Exec(c, t, "DELETE FROM model_versions WHERE model_name = @name AND version = @version", ("@name", name), ("@version", version));
            using var refs = RegistryDatabase.Command(c, t, "SELECT COUNT(*) FROM model_versions WHERE sha256 = @sha", ("@sha", info.Sha256));
            bool shared = Convert.ToInt64(refs.ExecuteScalar(), CultureInfo.InvariantCulture) > 0;
            // The file is set aside while the write lock is held (a concurrent register of the same bytes waits for
            // the lock and then stores it anew), and put back if the commit fails.
            string? removed = shared ? null : blobs.SetAside(info.Sha256);
            try
            {
                t.Commit();
            }
            catch
            {
                if (removed is not null) blobs.PutBack(removed, info.Sha256);
                throw;
            }
            if (removed is not null) File.Delete(removed);
            return 0;
        });
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Changes.Dispose();
        database.Dispose();
    }

    // ---------------------------------------------------------------- helpers

    T Write<T>(Func<(DbConnection Connection, DbTransaction Transaction), T> body)
    {
        try
        {
            using var connection = database.Open();
            using var transaction = database.BeginWrite(connection);
            return body((connection, transaction));
        }
        finally
        {
            // Also after a failure: a change may have committed before it; an extra bump only costs a cache refill.
            Changes.Bump();
        }
    }

    static int Exec(DbConnection c, DbTransaction? t, string sql, params (string, object?)[] parameters)
    {
        using var command = RegistryDatabase.Command(c, t, sql, parameters);
        return command.ExecuteNonQuery();
    }

    static bool ModelExists(DbConnection c, DbTransaction? t, string name)
    {
        using var q = RegistryDatabase.Command(c, t, "SELECT COUNT(*) FROM models WHERE name = @name", ("@name", name));
        return Convert.ToInt64(q.ExecuteScalar(), CultureInfo.InvariantCulture) > 0;
    }

    static bool VersionExists(DbConnection c, DbTransaction? t, string name, int version)
    {
        using var q = RegistryDatabase.Command(c, t, "SELECT COUNT(*) FROM model_versions WHERE model_name = @name AND version = @version",
            ("@name", name), ("@version", version));
        return Convert.ToInt64(q.ExecuteScalar(), CultureInfo.InvariantCulture) > 0;
    }

    static ModelVersionInfo RequireVersion(DbConnection c, DbTransaction t, string name, int version)
    {
        if (!ModelExists(c, t, name)) throw new ModelNotFoundException($"The registry has no model named '{Clip(name)}'.");
        var found = ReadVersions(c, t, name, version);
        return found.Count > 0 ? found[0] : throw new ModelNotFoundException($"Model '{Clip(name)}' has no version {version}.");
    }

    static void UpsertAlias(DbConnection c, DbTransaction t, string name, string alias, int version) =>
        Exec(c, t, "INSERT INTO aliases (model_name, alias, version) VALUES (@name, @alias, @version) ON CONFLICT (model_name, alias) DO UPDATE SET version = excluded.version",
            ("@name", name), ("@alias", alias), ("@version", version));

    static void UpsertTag(DbConnection c, DbTransaction t, string name, int version, string key, string value) =>
        Exec(c, t, "INSERT INTO tags (model_name, version, tag_key, tag_value) VALUES (@name, @version, @key, @value) ON CONFLICT (model_name, version, tag_key) DO UPDATE SET tag_value = excluded.tag_value",
            ("@name", name), ("@version", version), ("@key", key), ("@value", value));

    RegisteredModel ReadModel(DbConnection c, string name, string description, DateTimeOffset created)
    {
        int? latest = null;
        int count;
        using (var q = RegistryDatabase.Command(c, null,
            "SELECT COUNT(*), MAX(CASE WHEN archived = 0 THEN version END) FROM model_versions WHERE model_name = @name", ("@name", name)))
        using (var r = q.ExecuteReader())
        {
            r.Read();
            count = Convert.ToInt32(r.GetValue(0), CultureInfo.InvariantCulture);
            if (!r.IsDBNull(1)) latest = Convert.ToInt32(r.GetValue(1), CultureInfo.InvariantCulture);
        }
        var aliases = new SortedDictionary<string, int>(StringComparer.Ordinal);
        using (var q = RegistryDatabase.Command(c, null, "SELECT alias, version FROM aliases WHERE model_name = @name", ("@name", name)))
        using (var r = q.ExecuteReader())
            while (r.Read()) aliases[r.GetString(0)] = Convert.ToInt32(r.GetValue(1), CultureInfo.InvariantCulture);
        return new RegisteredModel(name, description, created, latest, count, aliases);
    }

    static List<ModelVersionInfo> ReadVersions(DbConnection c, DbTransaction? t, string name, int? version)
    {
        var tags = new Dictionary<int, SortedDictionary<string, string>>();
        using (var q = RegistryDatabase.Command(c, t, "SELECT version, tag_key, tag_value FROM tags WHERE model_name = @name", ("@name", name)))
        using (var r = q.ExecuteReader())
            while (r.Read())
            {
                int v = Convert.ToInt32(r.GetValue(0), CultureInfo.InvariantCulture);
                if (!tags.TryGetValue(v, out var map)) tags[v] = map = new(StringComparer.Ordinal);
                map[r.GetString(1)] = r.GetString(2);
            }
        var aliases = new Dictionary<int, List<string>>();
        using (var q = RegistryDatabase.Command(c, t, "SELECT version, alias FROM aliases WHERE model_name = @name ORDER BY alias", ("@name", name)))
        using (var r = q.ExecuteReader())
            while (r.Read())
            {
                int v = Convert.ToInt32(r.GetValue(0), CultureInfo.InvariantCulture);
                if (!aliases.TryGetValue(v, out var list)) aliases[v] = list = [];
                list.Add(r.GetString(1));
            }
        var result = new List<ModelVersionInfo>();
        using (var q = RegistryDatabase.Command(c, t, $"""
            SELECT version, sha256, size_bytes, description, archived, signature_json, metrics_json, parameters_json, parent_version, dataset, created_utc,
                training_flops, training_energy_joules, training_co2e_grams, training_energy_method
            FROM model_versions WHERE model_name = @name {(version is null ? "" : "AND version = @version")} ORDER BY version
            """, ("@name", name), ("@version", version)))
        using (var r = q.ExecuteReader())
            while (r.Read())
            {
                int v = Convert.ToInt32(r.GetValue(0), CultureInfo.InvariantCulture);
                result.Add(new ModelVersionInfo
                {
                    Name = name,
                    Version = v,
                    Sha256 = r.GetString(1),
                    SizeBytes = Convert.ToInt64(r.GetValue(2), CultureInfo.InvariantCulture),
                    Description = r.GetString(3),
                    Archived = Convert.ToInt32(r.GetValue(4), CultureInfo.InvariantCulture) != 0,
                    Signature = JsonSerializer.Deserialize(r.GetString(5), Json.ModelSignature)!,
                    Metrics = JsonSerializer.Deserialize(r.GetString(6), Json.DictionaryStringDouble)!,
                    Parameters = JsonSerializer.Deserialize(r.GetString(7), Json.DictionaryStringString)!,
                    ParentVersion = r.IsDBNull(8) ? null : Convert.ToInt32(r.GetValue(8), CultureInfo.InvariantCulture),
                    Dataset = r.IsDBNull(9) ? null : r.GetString(9),
                    CreatedUtc = ParseIso(r.GetString(10)),
                    TrainingCost = r.IsDBNull(11) ? null : new RecordedTrainingCost(Convert.ToInt64(r.GetValue(11), CultureInfo.InvariantCulture),
                        Convert.ToDouble(r.GetValue(12), CultureInfo.InvariantCulture), Convert.ToDouble(r.GetValue(13), CultureInfo.InvariantCulture), r.GetString(14)),
                    Tags = tags.TryGetValue(v, out var tagMap) ? tagMap : new SortedDictionary<string, string>(),
                    Aliases = aliases.TryGetValue(v, out var aliasList) ? aliasList : [],
                });
            }
        return result;
    }

    /// <summary>The signature: the input shape given (or from the manifest), the output shape from one forward pass on zeros.</summary>
    static ModelSignature Signature(Sequential model, IReadOnlyList<long>? inputShape, RegisterOptions options)
    {
        CheckName(options.InputName, "input name");
        CheckName(options.OutputName, "output name");
        var classNames = options.ClassNames ?? [];
        foreach (var c in classNames) CheckText(c, "class name");
        var dtype = model.Parameters().Select(p => p.DType).DefaultIfEmpty(DType.Float32).First();
        string dataType = ProtocolDataType(dtype);
        if (inputShape is null)
            return new ModelSignature([new TensorSpec(options.InputName, [], dataType)], [new TensorSpec(options.OutputName, [], dataType)], classNames);
        if (inputShape.Count is 0 or > 32 || inputShape.Skip(1).Any(d => d < 1) || inputShape[0] is < -1 or 0)
            throw new ArgumentException(
                $"The input shape [{string.Join(", ", inputShape)}] is not valid: give the batch size (or -1) then each positive size, at most 32 dimensions.",
                nameof(options));
        var sample = inputShape.Select((d, i) => i == 0 ? 1 : d).ToArray();
        long[] output;
        bool wasTraining = model.IsTraining;
        try
        {
            model.Eval();
            using var noGrad = Tensor.NoGrad();
            using var scope = Tensor.Scope();
            output = model.Forward(Tensor.Zeros(sample, dtype)).Shape.ToArray();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            throw new ArgumentException($"The model does not accept the input shape [{string.Join(", ", inputShape)}]: {e.Message}", nameof(options), e);
        }
        finally
        {
            model.Train(wasTraining);
        }
        if (output.Length > 0) output[0] = -1;
        if (classNames.Count > 0 && (output.Length != 2 || output[1] != classNames.Count))
            throw new ArgumentException(
                $"{classNames.Count} class names were given, but the model's output shape is [{string.Join(", ", output)}].", nameof(options));
        return new ModelSignature([new TensorSpec(options.InputName, [.. inputShape.Select((d, i) => i == 0 ? -1 : d)], dataType)],
            [new TensorSpec(options.OutputName, output, dataType)], classNames);
    }

    /// <summary>The Open Inference Protocol's name for a tensor element type.</summary>
    internal static string ProtocolDataType(DType dtype) => dtype switch
    {
        DType.Float32 => "FP32",
        DType.Float64 => "FP64",
        DType.Int32 => "INT32",
        DType.Int64 => "INT64",
        DType.UInt8 => "UINT8",
        DType.Bool => "BOOL",
        _ => dtype.ToString().ToUpperInvariant(),
    };

    /// <summary>Each non-empty History key with its per-epoch values, in logging order; keys are checked as metric names.</summary>
    static List<(string Metric, double[] Values)> Curves(History history)
    {
        var curves = new List<(string, double[])>();
        foreach (var key in history.Keys)
            if (history[key].Count > 0)
                curves.Add((CheckText(key, "metric name"), [.. history[key]]));
        return curves;
    }

    static Dictionary<string, double> FinalMetrics(History history) =>
        history.Keys.Where(k => history[k].Count > 0).ToDictionary(k => k, k => history[k][^1]);

    static Dictionary<string, TValue> Merge<TValue>(IReadOnlyDictionary<string, TValue>? first, IReadOnlyDictionary<string, TValue>? second)
    {
        var merged = new Dictionary<string, TValue>();
        foreach (var source in new[] { first, second })
            if (source is not null)
                foreach (var (k, v) in source)
                {
                    CheckText(k, "metric or parameter name");
                    merged[k] = v;
                }
        return merged;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex NamePattern();

    internal static bool IsValidName(string name) => NamePattern().IsMatch(name);

    static void CheckName(string name, string what)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!NamePattern().IsMatch(name))
            throw new ArgumentException(
                $"The {what} '{Clip(name)}' is not valid: use 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit.", nameof(name));
    }

    static void CheckAlias(string alias)
    {
        CheckName(alias, "alias");
        if (alias == "latest" || alias.All(char.IsAsciiDigit))
            throw new ArgumentException($"The alias '{alias}' is reserved: 'latest' and numbers are version references.", nameof(alias));
    }

    static void CheckTag(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        if (key.Length is 0 or > 128 || key.Any(char.IsControl))
            throw new ArgumentException($"The tag key '{Clip(key)}' is not valid: use 1 to 128 characters, no control characters.", nameof(key));
        CheckText(value, "tag value");
    }

    static string CheckText(string text, string what)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > MaxTextLength)
            throw new ArgumentException($"The {what} has {text.Length} characters, over the limit of {MaxTextLength}.", nameof(text));
        if (text.Contains('\0'))
            throw new ArgumentException($"The {what} contains a NUL character.", nameof(text));
        return text;
    }

    static string Clip(string text) => text.Length <= 200 ? text : text[..200] + "...";

    static string Iso(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture);

    static DateTimeOffset ParseIso(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}

using NeuralCore.Nn;
using NeuralCore.Serving.Registry;
using NeuralCore.Training;

namespace NeuralCore.Serving.Tests.Registry;

/// <summary>Every registry operation, against SQLite and against PostgreSQL (skipped, with the reason, when no database is configured).</summary>
public sealed class ModelRegistryTests
{
    internal static readonly string[] Classes = ["low", "mid", "high"];

    /// <summary>A small classifier trained for two epochs on fixed data (4 features, 3 classes), its history and inputs.</summary>
    internal static (Sequential Model, History History, Tensor X) Trained(int offset = 0)
    {
        const int n = 48;
        var xs = new float[n * 4];
        var ys = new long[n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < 4; j++) xs[i * 4 + j] = MathF.Sin(i * 0.37f + j * 1.3f + offset);
            ys[i] = (i + offset) % 3;
        }
        var x = Tensor.FromArray(xs, n, 4);
        var y = Tensor.FromArray(ys, n);
        var model = new Sequential(new Dense(4, 8, Activation.Relu), new Dense(8, 3));
        model.Compile("adam", "categorical_crossentropy", ["accuracy"]);
        var history = model.Fit(x, y, epochs: 2, batchSize: 16, verbose: 0, shuffle: false);
        return (model, history, x);
    }

    static RegisterOptions Options(params string[] aliases) => new()
    {
        Description = "test classifier",
        InputShape = [-1, 4],
        ClassNames = Classes,
        Dataset = "sines-48",
        Tags = new Dictionary<string, string> { ["team"] = "core" },
        Aliases = aliases,
        Metrics = new Dictionary<string, double> { ["test_accuracy"] = 0.5 },
        Parameters = new Dictionary<string, string> { ["note"] = "fixed data" },
    };

    static float[] Predict(Sequential model, Tensor x)
    {
        model.Eval();
        using var noGrad = Tensor.NoGrad();
        return model.Forward(x).ToArray<float>();
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void Register_RecordsSignatureMetricsParametersAndLineage(string backend)
    {
        using var env = RegistryBackend.Create(backend);
        using var registry = env.Open();
        var (model, history, _) = Trained();
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);

        var v1 = registry.Register("clf", model, history, Options("production"));

        Assert.Equal(("clf", 1, false), (v1.Name, v1.Version, v1.Archived));
        Assert.Equal("test classifier", v1.Description);
        Assert.InRange(v1.CreatedUtc, before, DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.Matches("^[0-9a-f]{64}$", v1.Sha256);
        Assert.Equal(new FileInfo(registry.FilePath(v1)).Length, v1.SizeBytes);
        var input = Assert.Single(v1.Signature.Inputs);
        var output = Assert.Single(v1.Signature.Outputs);
        Assert.Equal(("input", "FP32"), (input.Name, input.DataType));
        Assert.Equal([-1, 4], input.Shape);
        Assert.Equal(("output", "FP32"), (output.Name, output.DataType));
        Assert.Equal([-1, 3], output.Shape);
        Assert.Equal(Classes, v1.Signature.ClassNames);
        Assert.Equal(history["loss"][^1], v1.Metrics["loss"]);
        Assert.Equal(history["accuracy"][^1], v1.Metrics["accuracy"]);
        Assert.Equal(0.5, v1.Metrics["test_accuracy"]);
        Assert.Equal("2", v1.Parameters["epochs"]);
        Assert.Equal("16", v1.Parameters["batch_size"]);
        Assert.Equal("Adam", v1.Parameters["optimizer"]);
        Assert.Equal("fixed data", v1.Parameters["note"]);
        Assert.Equal("core", v1.Tags["team"]);
        Assert.Equal(["production"], v1.Aliases);
        Assert.Equal("sines-48", v1.Dataset);
        Assert.Null(v1.ParentVersion);

        var v2 = registry.Register("clf", model, history, Options() with { ParentVersion = 1 });
        Assert.Equal((2, 1), (v2.Version, v2.ParentVersion));
        Assert.Throws<ModelNotFoundException>(() => registry.Register("clf", model, history, Options() with { ParentVersion = 9 }));
        Assert.Equal([1, 2], registry.ListVersions("clf").Select(v => v.Version));
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void Load_GivesTheSamePredictionsBitForBit(string backend)
    {
        using var env = RegistryBackend.Create(backend);
        using var registry = env.Open();
        var (model, history, x) = Trained();
        registry.Register("clf", model, history, Options());

        var loaded = registry.Load("clf", "latest");

        Assert.False(loaded.IsTraining);
        Assert.Equal(Predict(model, x), Predict(loaded, x));
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void Resolve_ReadsNumbersLatestAndAliases_AndNamesWhatIsMissing(string backend)
    {
        using var env = RegistryBackend.Create(backend);
        using var registry = env.Open();
        var (model, history, _) = Trained();
        registry.Register("clf", model, history, Options("production"));
        registry.Register("clf", model, history, Options("staging"));
        registry.Register("clf", model, history, Options());

        Assert.Equal(2, registry.Resolve("clf", "2").Version);
        Assert.Equal(3, registry.Resolve("clf", "latest").Version);
        Assert.Equal(1, registry.Resolve("clf", "production").Version);
        Assert.Equal(2, registry.Resolve("clf", "staging").Version);

        Assert.Contains("no model named 'other'", Assert.Throws<ModelNotFoundException>(() => registry.Resolve("other", "1")).Message);
        Assert.Contains("no version 4", Assert.Throws<ModelNotFoundException>(() => registry.Resolve("clf", "4")).Message);
        Assert.Contains("no version 99999999999", Assert.Throws<ModelNotFoundException>(() => registry.Resolve("clf", "99999999999")).Message);
        Assert.Contains("no alias 'canary'", Assert.Throws<ModelNotFoundException>(() => registry.Resolve("clf", "canary")).Message);
        Assert.Throws<ArgumentException>(() => registry.Resolve("bad name", "1"));
        Assert.Throws<ArgumentException>(() => registry.Resolve("clf", "bad alias"));
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void Aliases_MoveAndAreRemoved_AndReservedNamesAreRefused(string backend)
    {
        using var env = RegistryBackend.Create(backend);
        using var registry = env.Open();
        var (model, history, _) = Trained();
        registry.Register("clf", model, history, Options("production"));
        registry.Register("clf", model, history, Options());

        registry.SetAlias("clf", "production", 2);
        Assert.Equal(2, registry.Resolve("clf", "production").Version);
        Assert.Empty(registry.GetVersion("clf", 1).Aliases);
        Assert.Equal(2, registry.GetModel("clf").Aliases["production"]);

        Assert.True(registry.RemoveAlias("clf", "production"));
        Assert.False(registry.RemoveAlias("clf", "production"));
        Assert.Throws<ModelNotFoundException>(() => registry.Resolve("clf", "production"));

        Assert.Throws<ArgumentException>(() => registry.SetAlias("clf", "latest", 1));
        Assert.Throws<ArgumentException>(() => registry.SetAlias("clf", "42", 1));
        Assert.Throws<ModelNotFoundException>(() => registry.SetAlias("clf", "production", 3));
        Assert.Throws<ModelNotFoundException>(() => registry.SetAlias("nope", "production", 1));
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void TagsAndDescriptions_AreSetReplacedAndRemoved(string backend)
    {
        using var env = RegistryBackend.Create(backend);
        using var registry = env.Open();
        var (model, history, _) = Trained();
        registry.Register("clf", model, history, Options());

        registry.SetTag("clf", 1, "team", "serving");
        registry.SetTag("clf", 1, "reviewed by", "ana");
        Assert.Equal(new Dictionary<string, string> { ["reviewed by"] = "ana", ["team"] = "serving" }, registry.GetVersion("clf", 1).Tags);
        Assert.True(registry.RemoveTag("clf", 1, "team"));
        Assert.False(registry.RemoveTag("clf", 1, "team"));
        Assert.Equal(["reviewed by"], registry.GetVersion("clf", 1).Tags.Keys);
        Assert.Throws<ModelNotFoundException>(() => registry.SetTag("clf", 2, "a", "b"));
        Assert.Throws<ArgumentException>(() => registry.SetTag("clf", 1, "", "b"));
        Assert.Throws<ArgumentException>(() => registry.SetTag("clf", 1, "k", new string('x', ModelRegistry.MaxTextLength + 1)));

        registry.SetDescription("clf", null, "a classifier of sines");
        registry.SetDescription("clf", 1, "first try");
        Assert.Equal("a classifier of sines", registry.GetModel("clf").Description);
        Assert.Equal("first try", registry.GetVersion("clf", 1).Description);
        Assert.Throws<ModelNotFoundException>(() => registry.SetDescription("nope", null, "x"));
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void Archive_HidesFromLatest_AndIsRefusedWhileAnAliasPointsAtTheVersion(string backend)
    {
        using var env = RegistryBackend.Create(backend);
        using var registry = env.Open();
        var (model, history, _) = Trained();
        registry.Register("clf", model, history, Options());
        registry.Register("clf", model, history, Options("production"));

        var refused = Assert.Throws<InvalidOperationException>(() => registry.Archive("clf", 2));
        Assert.Contains("production", refused.Message);
        registry.Archive("clf", 1);
        Assert.True(registry.GetVersion("clf", 1).Archived);
        Assert.Throws<InvalidOperationException>(() => registry.SetAlias("clf", "staging", 1));
        Assert.Equal(1, registry.Resolve("clf", "1").Version);   // still loadable by number
        registry.Load("clf", "1");

        registry.RemoveAlias("clf", "production");
        registry.Archive("clf", 2);
        Assert.Null(registry.GetModel("clf").LatestVersion);
        Assert.Throws<ModelNotFoundException>(() => registry.Resolve("clf", "latest"));
        registry.Unarchive("clf", 1);
        Assert.Equal(1, registry.Resolve("clf", "latest").Version);
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void Delete_IsRefusedWhileAliased_NeverReusesNumbers_AndRemovesUnsharedFiles(string backend)
    {
        using var env = RegistryBackend.Create(backend);
        using var registry = env.Open();
        var (model, history, _) = Trained();
        string file = Path.Combine(env.Directory, "model.safetensors");
        model.Save(file, new Serialization.ModelManifest { InputShape = [-1, 4] });
        var v1 = registry.RegisterFile("clf", file, new RegisterOptions { Aliases = ["production"] });
        var v2 = registry.RegisterFile("clf", file);
        var (other, otherHistory, _) = Trained(offset: 1);
        var v3 = registry.Register("clf", other, otherHistory, Options());
        Assert.Equal(v1.Sha256, v2.Sha256);   // same bytes, one stored file
        Assert.NotEqual(v1.Sha256, v3.Sha256);
        string shared = registry.FilePath(v1);
        Assert.Equal(Path.Combine(registry.BlobDirectory, v1.Sha256[..2], v1.Sha256[2..]), shared);

        var refused = Assert.Throws<InvalidOperationException>(() => registry.Delete("clf", 1));
        Assert.Contains("production", refused.Message);

        registry.Delete("clf", 2);
        Assert.True(File.Exists(shared));   // version 1 still uses it
        registry.Delete("clf", 3);
        Assert.False(File.Exists(registry.FilePath(v3)));
        Assert.Throws<ModelNotFoundException>(() => registry.Delete("clf", 3));

        var v4 = registry.Register("clf", model, history, Options());
        Assert.Equal(4, v4.Version);
        Assert.Equal([1, 4], registry.ListVersions("clf").Select(v => v.Version));
        Assert.Equal(4, registry.GetModel("clf").LatestVersion);
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void TrainingCurves_AreStoredPerEpoch_InLoggingOrder_AndDeletedWithTheVersion(string backend)
    {
        using var env = RegistryBackend.Create(backend);
        using var registry = env.Open();
        var (model, history, _) = Trained();
        var v1 = registry.Register("clf", model, history, Options());
        string file = Path.Combine(env.Directory, "model.safetensors");
        model.Save(file, new Serialization.ModelManifest { InputShape = [-1, 4] });
        var v2 = registry.RegisterFile("clf", file);

        var curves = registry.GetTrainingCurves("clf", v1.Version);
        Assert.Equal(history.Keys, curves.Keys);
        foreach (var key in history.Keys)
        {
            Assert.Equal(2, curves[key].Count);
            Assert.Equal(history[key], curves[key]);                 // exact: doubles round-trip through the JSON
            Assert.Equal(v1.Metrics[key], curves[key][^1]);          // the final metric is the curve's last point
        }
        Assert.Empty(registry.GetTrainingCurves("clf", v2.Version));   // registered from a file: no history
        Assert.Throws<ModelNotFoundException>(() => registry.GetTrainingCurves("clf", 9));
        Assert.Throws<ModelNotFoundException>(() => registry.GetTrainingCurves("nope", 1));

        registry.Delete("clf", v1.Version);
        Assert.Throws<ModelNotFoundException>(() => registry.GetTrainingCurves("clf", v1.Version));
        var v3 = registry.Register("clf", model, history, Options());
        Assert.Equal(history.Keys, registry.GetTrainingCurves("clf", v3.Version).Keys);
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void CorruptedOrMissingFiles_AreRefused_AndReportedByVerify(string backend)
    {
        using var env = RegistryBackend.Create(backend);
        using var registry = env.Open();
        var (model, history, _) = Trained();
        var good = registry.Register("clf", model, history, Options());
        var (other, otherHistory, _) = Trained(offset: 2);
        var bad = registry.Register("clf", other, otherHistory, Options());
        var (third, thirdHistory, _) = Trained(offset: 1);
        var missing = registry.Register("other", third, thirdHistory, Options());

        string path = registry.FilePath(bad);
        File.SetAttributes(path, FileAttributes.Normal);
        var bytes = File.ReadAllBytes(path);
        bytes[^1] ^= 0x40;   // one bit of the last weight
        File.WriteAllBytes(path, bytes);
        File.Delete(registry.FilePath(missing));

        var e = Assert.Throws<InvalidDataException>(() => registry.Load("clf", "2"));
        Assert.Contains("Model 'clf' version 2", e.Message);
        Assert.Contains("altered or corrupted", e.Message);
        Assert.Contains("missing", Assert.Throws<InvalidDataException>(() => registry.Load("other", "1")).Message);
        registry.Load("clf", "1");

        var results = registry.Verify();
        Assert.Equal([("clf", 1, true), ("clf", 2, false), ("other", 1, false)], results.Select(r => (r.Name, r.Version, r.Ok)));
        Assert.Equal(good.Version, Assert.Single(registry.Verify("clf"), r => r.Ok).Version);
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void RegisterFile_LoadsTheCopyFirst_AndRefusesBadFilesWithoutRecordingThem(string backend)
    {
        using var env = RegistryBackend.Create(backend);
        using var registry = env.Open();
        var (model, history, x) = Trained();
        string file = Path.Combine(env.Directory, "model.safetensors");
        model.Save(file, new Serialization.ModelManifest { Name = "clf", InputShape = [-1, 4], Metrics = new Dictionary<string, double> { ["accuracy"] = 0.25 } });

        var v1 = registry.RegisterFile("clf", file, new RegisterOptions { ClassNames = Classes });
        Assert.Equal([-1, 4], v1.Signature.Inputs[0].Shape);
        Assert.Equal([-1, 3], v1.Signature.Outputs[0].Shape);
        Assert.Equal(0.25, v1.Metrics["accuracy"]);
        Assert.Equal(Predict(model, x), Predict(registry.Load("clf", "1"), x));

        var bytes = File.ReadAllBytes(file);
        bytes[^1] ^= 1;
        File.WriteAllBytes(file, bytes);
        Assert.Throws<InvalidDataException>(() => registry.RegisterFile("clf", file));
        Assert.Equal([1], registry.ListVersions("clf").Select(v => v.Version));
        Assert.Empty(Directory.GetFiles(Path.Combine(registry.BlobDirectory, "incoming")));
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void BadArguments_AreRefusedWithArgumentException(string backend)
    {
        using var env = RegistryBackend.Create(backend);
        using var registry = env.Open();
        var (model, history, _) = Trained();
        Assert.Throws<ArgumentException>(() => registry.Register("", model, history));
        Assert.Throws<ArgumentException>(() => registry.Register("a/b", model, history));
        Assert.Throws<ArgumentException>(() => registry.Register(new string('a', 129), model, history));
        Assert.Throws<ArgumentException>(() => registry.Register("clf", model, history, new RegisterOptions { InputShape = [-1, 5] }));
        Assert.Throws<ArgumentException>(() => registry.Register("clf", model, history, new RegisterOptions { InputShape = [-1, 4], ClassNames = ["a", "b"] }));
        Assert.Throws<ArgumentException>(() => registry.Register("clf", model, history, Options("latest")));
        Assert.Empty(registry.ListModels());
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void ListModels_SummarisesEachModel(string backend)
    {
        using var env = RegistryBackend.Create(backend);
        using var registry = env.Open();
        var (model, history, _) = Trained();
        registry.Register("b-model", model, history, Options("production"));
        registry.Register("b-model", model, history, Options());
        registry.Register("a-model", model, history, Options());

        var models = registry.ListModels();
        Assert.Equal(["a-model", "b-model"], models.Select(m => m.Name));
        Assert.Equal((2, 2), (models[1].VersionCount, models[1].LatestVersion));
        Assert.Equal(1, models[1].Aliases["production"]);
        Assert.Empty(models[0].Aliases);
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void ConcurrentRegistrations_FromSeparateRegistryInstances_GetDistinctNumbers(string backend)
    {
        using var env = RegistryBackend.Create(backend);
        using var first = env.Open();
        using var second = env.Open();
        var (model, history, _) = Trained();
        string staged = Path.Combine(env.Directory, "m.safetensors");
        model.Save(staged, new Serialization.ModelManifest { InputShape = [-1, 4] });

        var numbers = new System.Collections.Concurrent.ConcurrentBag<int>();
        Parallel.For(0, 12, new ParallelOptions { MaxDegreeOfParallelism = 6 }, i =>
            numbers.Add((i % 2 == 0 ? first : second).RegisterFile("clf", staged).Version));

        Assert.Equal(Enumerable.Range(1, 12), numbers.Order());
        Assert.Equal(12, first.ListVersions("clf").Count);
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void Migrations_AreIdempotent_AndANewerSchemaIsRefused(string backend)
    {
        using var env = RegistryBackend.Create(backend);
        var (model, history, _) = Trained();
        using (var registry = env.Open())
            registry.Register("clf", model, history, Options());
        using (var again = env.Open())
            Assert.Equal(1, again.GetVersion("clf", 1).Version);

        env.ExecuteSql($"INSERT INTO schema_version (version, applied_utc) VALUES ({ModelRegistry.SchemaVersion + 1}, '2099-01-01T00:00:00Z')");
        var e = Assert.Throws<InvalidOperationException>(env.Open);
        Assert.Contains($"schema version {ModelRegistry.SchemaVersion + 1}", e.Message);
    }
}

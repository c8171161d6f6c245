using NeuralCore.Nn;
using NeuralCore.Serialization;
using NeuralCore.Serving.Registry;

namespace NeuralCore.Serving.Tests.Registry;

/// <summary>Training FLOPs and energy recorded with each version, from Fit's history or the model file's manifest.</summary>
public sealed class TrainingCostTests
{
    [Theory, SqliteBackend, PostgresBackend]
    public void Register_RecordsTheHistorysTotalCost(string backend)
    {
        using var env = RegistryBackend.Create(backend);
        using var registry = env.Open();
        var (model, history, _) = ModelRegistryTests.Trained();
        var total = history.TotalCost!;

        var v1 = registry.Register("clf", model, history, new RegisterOptions { InputShape = [-1, 4] });
        var read = registry.GetVersion("clf", 1);

        foreach (var info in new[] { v1, read })
        {
            var cost = info.TrainingCost!;
            Assert.Equal(total.Flops, cost.Flops);
            Assert.Equal(total.Energy.Joules, cost.EnergyJoules, 9);
            Assert.Equal(total.Energy.Co2eGrams, cost.Co2eGrams, 12);
            Assert.Equal(total.Energy.Method, cost.Method);
        }
        // The model file's manifest carries it too.
        var manifest = ModelManifest.FromMetadata(SafeTensors.LoadMetadata(registry.FilePath(v1)))!;
        Assert.Equal(total.Flops, manifest.TrainingCost!.Flops);

        var untrained = registry.Register("clf", new Sequential(new Dense(4, 3)), null, new RegisterOptions { InputShape = [-1, 4] });
        Assert.Null(untrained.TrainingCost);
        Assert.Null(registry.GetVersion("clf", 2).TrainingCost);
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void RegisterFile_TakesTheCostFromTheManifest(string backend)
    {
        using var env = RegistryBackend.Create(backend);
        using var registry = env.Open();
        var model = new Sequential(new Dense(4, 3));
        string path = Path.Combine(env.Directory, "m.safetensors");
        var cost = new RecordedTrainingCost(123_456_789_012, 4567.5, 0.6, "Estimated-TDP");
        model.Save(path, new ModelManifest { InputShape = [-1, 4], TrainingCost = cost });

        var info = registry.RegisterFile("clf", path);

        Assert.Equal(cost, info.TrainingCost);
        Assert.Equal(cost, registry.GetVersion("clf", 1).TrainingCost);
    }

    [Fact]
    public void Manifest_RoundTripsTheCost_AndRejectsBadValues()
    {
        var cost = new RecordedTrainingCost(42, 1.5, 0.0002, "Measured-RAPL+Measured-NVML");
        var parsed = ModelManifest.Parse(new ModelManifest { TrainingCost = cost }.ToJson());
        Assert.Equal(cost, parsed.TrainingCost);
        Assert.Null(ModelManifest.Parse(new ModelManifest().ToJson()).TrainingCost);

        string good = new ModelManifest { TrainingCost = cost }.ToJson();
        var negative = Assert.Throws<InvalidDataException>(() => ModelManifest.Parse(good.Replace("\"flops\":42", "\"flops\":-1")));
        Assert.Contains("FLOPs", negative.Message);
        var noMethod = Assert.Throws<InvalidDataException>(() => ModelManifest.Parse(good.Replace("\"method\":", "\"other\":")));
        Assert.Contains("trainingCost.method", noMethod.Message);
        Assert.Throws<ArgumentException>(() => new ModelManifest { TrainingCost = cost with { EnergyJoules = double.NaN } }.ToJson());
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void Migration4_AddsTheColumns_ToADatabaseAtSchema3(string backend)
    {
        using var env = RegistryBackend.Create(backend);
        // A registry as release 3 left it: migrations 1 to 3 and one version.
        env.ExecuteSql("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_utc TEXT NOT NULL)");
        foreach (var (version, sql) in RegistrySchema.Migrations.Where(m => m.Version <= 3))
        {
            foreach (var statement in sql.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                env.ExecuteSql(statement);
            env.ExecuteSql($"INSERT INTO schema_version (version, applied_utc) VALUES ({version}, '2026-01-01T00:00:00Z')");
        }
        env.ExecuteSql("INSERT INTO models (name, description, last_version, created_utc) VALUES ('old', '', 1, '2026-01-01T00:00:00Z')");
        env.ExecuteSql("""
            INSERT INTO model_versions (model_name, version, sha256, size_bytes, description, archived, signature_json, metrics_json,
                parameters_json, parent_version, dataset, created_utc)
            VALUES ('old', 1, '0000000000000000000000000000000000000000000000000000000000000000', 0, '', 0,
                '{"Inputs":[],"Outputs":[],"ClassNames":[]}', '{}', '{}', NULL, NULL, '2026-01-01T00:00:00Z')
            """);

        using var registry = env.Open();

        Assert.Null(registry.GetVersion("old", 1).TrainingCost);
        var (model, history, _) = ModelRegistryTests.Trained();
        Assert.NotNull(registry.Register("old", model, history, new RegisterOptions { InputShape = [-1, 4] }).TrainingCost);
    }
}

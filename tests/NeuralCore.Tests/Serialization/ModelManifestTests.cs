using System.Text.Json.Nodes;
using NeuralCore.Serialization;

namespace NeuralCore.Tests.Serialization;

public class ModelManifestTests
{
    static ModelManifest Full() => new()
    {
        Name = "modèle \"x\"",
        Version = "3.0.0-beta",
        CreatedUtc = new DateTimeOffset(2025, 1, 2, 3, 4, 5, 678, TimeSpan.Zero),
        Architecture = new JsonObject { ["type"] = "ReLU" },
        WeightsSha256 = new string('a', 64),
        InputShape = [-1, 784],
        OutputShape = [-1, 10],
        TrainingConfig = new Dictionary<string, string> { ["lr"] = "0.001" },
        Seed = -5,
        Metrics = new Dictionary<string, double> { ["acc"] = 0.1 + 0.2, ["nan"] = double.NaN, ["inf"] = double.PositiveInfinity, ["ninf"] = double.NegativeInfinity },
    };

    [Fact]
    public void Json_RoundTripsEveryField()
    {
        var m = Full();
        var back = ModelManifest.Parse(m.ToJson());
        Assert.Equal((m.FormatVersion, m.Name, m.Version, m.CreatedUtc, m.WeightsSha256, m.Seed), (back.FormatVersion, back.Name, back.Version, back.CreatedUtc, back.WeightsSha256, back.Seed));
        Assert.Equal(m.InputShape, back.InputShape);
        Assert.Equal(m.OutputShape, back.OutputShape);
        Assert.Equal(m.TrainingConfig, back.TrainingConfig);
        Assert.Equal(0.1 + 0.2, back.Metrics!["acc"]);             // shortest round-trip formatting keeps every bit
        Assert.True(double.IsNaN(back.Metrics["nan"]));
        Assert.Equal(double.PositiveInfinity, back.Metrics["inf"]);
        Assert.Equal(double.NegativeInfinity, back.Metrics["ninf"]);
        Assert.Equal("{\"type\":\"ReLU\"}", back.Architecture!.ToJsonString());
        Assert.Equal(m.ToJson(), back.ToJson());
        Assert.Equal(m.ToJson(), ModelManifest.Parse(m.ToJson(indented: true)).ToJson());
    }

    [Fact]
    public void OptionalFieldsAreOmitted()
    {
        var json = new ModelManifest { CreatedUtc = DateTimeOffset.UnixEpoch }.ToJson();
        Assert.Equal("{\"formatVersion\":3,\"name\":\"model\",\"version\":\"1.0.0\",\"createdUtc\":\"1970-01-01T00:00:00.0000000+00:00\"}", json);
        var back = ModelManifest.Parse(json);
        Assert.Null(back.Architecture);
        Assert.Null(back.Metrics);
        Assert.Null(back.Seed);
    }

    [Fact]
    public void SaveAndLoad_StandaloneFile()
    {
        string path = Path.Combine(Path.GetTempPath(), $"nc-manifest-{Guid.NewGuid():N}.json");
        try
        {
            Full().Save(path);
            Assert.Contains("\n", File.ReadAllText(path));              // indented for people
            Assert.Equal(Full().ToJson(), ModelManifest.Load(path).ToJson());
            File.WriteAllText(path, "[]");
            var e = Assert.Throws<InvalidDataException>(() => ModelManifest.Load(path));
            Assert.StartsWith(path + ": Invalid model manifest: the manifest must be a JSON object", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("{\"formatVersion\":1,\"formatVersion\":1,\"name\":\"a\",\"version\":\"1\",\"createdUtc\":\"2020-01-01T00:00:00Z\"}", "not valid JSON")]
    [InlineData("{\"formatVersion\":4,\"name\":\"a\",\"version\":\"1\",\"createdUtc\":\"2020-01-01T00:00:00Z\"}", "format version 4 is not supported")]
    [InlineData("{\"name\":\"a\",\"version\":\"1\",\"createdUtc\":\"2020-01-01T00:00:00Z\"}", "'formatVersion' is missing")]
    [InlineData("{\"formatVersion\":1,\"name\":5,\"version\":\"1\",\"createdUtc\":\"2020-01-01T00:00:00Z\"}", "'name' must be a string, found Number")]
    [InlineData("{\"formatVersion\":1,\"name\":\"a\",\"version\":\"1\",\"createdUtc\":\"yesterday\"}", "'createdUtc' is not a date and time")]
    [InlineData("{\"formatVersion\":1,\"name\":\"a\",\"version\":\"1\",\"createdUtc\":\"2020-01-01T00:00:00Z\",\"weightsSha256\":\"xyz\"}", "'weightsSha256' must be 64 hex digits")]
    [InlineData("{\"formatVersion\":1,\"name\":\"a\",\"version\":\"1\",\"createdUtc\":\"2020-01-01T00:00:00Z\",\"inputShape\":[1,-2]}", "'inputShape' must hold 64-bit integers ≥ -1")]
    [InlineData("{\"formatVersion\":1,\"name\":\"a\",\"version\":\"1\",\"createdUtc\":\"2020-01-01T00:00:00Z\",\"metrics\":{\"a\":\"high\"}}", "'metrics.a' must be a number")]
    [InlineData("{\"formatVersion\":1,\"name\":\"a\",\"version\":\"1\",\"createdUtc\":\"2020-01-01T00:00:00Z\",\"trainingConfig\":{\"a\":1}}", "'trainingConfig.a' must be a string")]
    [InlineData("{\"formatVersion\":1,\"name\":\"a\",\"version\":\"1\",\"createdUtc\":\"2020-01-01T00:00:00Z\",\"architecture\":[]}", "'architecture' must be an object")]
    [InlineData("{\"formatVersion\":1,\"name\":\"a\",\"version\":\"1\",\"createdUtc\":\"2020-01-01T00:00:00Z\",\"seed\":1.5}", "'seed' must be a 64-bit integer")]
    [InlineData("{\"formatVersion\":1,\"name\":\"a\",\"version\":\"1\",\"createdUtc\":\"2020-01-01T00:00:00Z\",\"architecture\":{\"a\":1,\"a\":2}}", "not valid JSON")]
    public void MalformedManifests_AreInvalidData(string json, string fragment)
    {
        var e = Assert.Throws<InvalidDataException>(() => ModelManifest.Parse(json));
        Assert.StartsWith("Invalid model manifest:", e.Message);
        Assert.Contains(fragment, e.Message);
    }

    [Fact]
    public void FromMetadata_IsNullWithoutTheKey()
    {
        Assert.Null(ModelManifest.FromMetadata(new Dictionary<string, string> { ["format"] = "pt" }));
        Assert.Equal("x", ModelManifest.FromMetadata(new Dictionary<string, string> { [ModelManifest.MetadataKey] = new ModelManifest { Name = "x" }.ToJson() })!.Name);
    }
}

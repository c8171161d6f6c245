using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using NeuralCore.Nn;
using NeuralCore.Optim;
using NeuralCore.Serialization;

namespace NeuralCore.Tests.Serialization;

/// <summary>Model files from untrusted sources: load limits, integrity hash coverage, exception types, message sizes.</summary>
public sealed class ModelFileSafetyTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("nc-safety-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    string PathFor(string name) => Path.Combine(dir, name);

    const string Minimal = "\"formatVersion\":2,\"name\":\"m\",\"version\":\"1\",\"createdUtc\":\"2020-01-01T00:00:00Z\"";

    static string SaveWithManifestJson(string path, string manifestJson, IReadOnlyDictionary<string, Tensor>? tensors = null)
    {
        SafeTensors.Save(path, tensors ?? new Dictionary<string, Tensor>(), new Dictionary<string, string> { [ModelManifest.MetadataKey] = manifestJson });
        return path;
    }

    static string SaveWithArchitecture(string path, JsonObject architecture, IReadOnlyDictionary<string, Tensor>? tensors = null) =>
        SaveWithManifestJson(path, new ModelManifest { Architecture = architecture }.ToJson(), tensors);

    static JsonObject SequentialOf(IEnumerable<JsonNode> layers) =>
        new() { ["type"] = "Sequential", ["layers"] = new JsonArray([.. layers]) };

    // ---- 1. Invalid Unicode and deep JSON ----

    [Theory]
    [InlineData("{" + Minimal + ",\"trainingConfig\":{\"\\ud800\":\"x\"}}", "key")]
    [InlineData("{" + Minimal + ",\"trainingConfig\":{\"lr\":\"\\udc00\"}}", "string")]
    [InlineData("{" + Minimal + ",\"metrics\":{\"a\\ud800b\":1}}", "key")]
    [InlineData("{\"formatVersion\":2,\"name\":\"\\ud83d\",\"version\":\"1\",\"createdUtc\":\"2020-01-01T00:00:00Z\"}", "string")]
    [InlineData("{" + Minimal + ",\"architecture\":{\"type\":\"\\ud800\"}}", "string")]
    [InlineData("{" + Minimal + ",\"architecture\":{\"type\":\"ReLU\",\"\\udfff\":1}}", "key")]
    public void UnpairedSurrogateEscapes_AreInvalidData(string json, string where)
    {
        var e = Assert.Throws<InvalidDataException>(() => ModelManifest.Parse(json));
        Assert.Contains($"the {where} at byte", e.Message);
        Assert.Contains("unpaired UTF-16 surrogate", e.Message);

        string path = SaveWithManifestJson(PathFor("surrogate.safetensors"), json);
        Assert.Contains("unpaired UTF-16 surrogate", Assert.Throws<InvalidDataException>(() => Sequential.Load(path)).Message);
        Assert.Throws<InvalidDataException>(() => new ReLU().LoadWeights(path));
        Assert.Throws<InvalidDataException>(() => SafeTensors.LoadFile(path).GetManifest());
    }

    [Fact]
    public void ValidSurrogatePairs_StillLoad()
    {
        var m = ModelManifest.Parse("{" + Minimal.Replace("\"m\"", "\"\\ud83d\\ude00 \U0001F600\"") + "}");
        Assert.Equal("\U0001F600 \U0001F600", m.Name);
    }

    [Fact]
    public void ManifestTextWithARawUnpairedSurrogate_IsInvalidData()
    {
        var e = Assert.Throws<InvalidDataException>(() => ModelManifest.Parse("{" + Minimal.Replace("\"m\"", "\"a\uD800\"") + "}"));
        Assert.Contains("unpaired UTF-16 surrogate at index", e.Message);
    }

    [Fact]
    public void DeepJsonInAFile_IsInvalidData_NamingTheLimit()
    {
        string deep = new string('[', 10_000) + new string(']', 10_000);
        var e = Assert.Throws<InvalidDataException>(() => ModelManifest.Parse("{" + Minimal + ",\"x\":" + deep + "}"));
        Assert.Contains("ModelLoadLimits.MaxJsonDepth", e.Message);
        string path = SaveWithManifestJson(PathFor("deep-json.safetensors"), "{" + Minimal + ",\"architecture\":{\"type\":\"ReLU\",\"x\":" + deep + "}}");
        Assert.Contains("ModelLoadLimits.MaxJsonDepth", Assert.Throws<InvalidDataException>(() => Sequential.Load(path)).Message);
    }

    static JsonObject DeepObject(int depth)
    {
        var node = new JsonObject { ["type"] = "ReLU" };
        for (int i = 0; i < depth; i++) node = new JsonObject { ["x"] = node };
        return node;
    }

    [Fact]
    public void DeepCallerBuiltObjects_AreArgumentExceptions_WithoutRecursing()
    {
        var deep = DeepObject(200_000);                            // recursion this deep would overflow the stack
        Assert.Contains("deeper than", Assert.Throws<ArgumentException>(() => ModuleConfigs.Create(deep)).Message);
        var manifest = new ModelManifest { Architecture = deep };
        Assert.Contains("deeper than", Assert.Throws<ArgumentException>(() => manifest.ToJson()).Message);
        Assert.Throws<ArgumentException>(() => new ReLU().Save(PathFor("deep.safetensors"), manifest));
        Assert.False(File.Exists(PathFor("deep.safetensors")));

        var bad = new JsonObject { ["type"] = "ReLU", ["note"] = "a\uDC00b" };
        Assert.Contains("unpaired UTF-16 surrogate", Assert.Throws<ArgumentException>(() => ModuleConfigs.Create(bad)).Message);
        Assert.Throws<ArgumentException>(() => new ModelManifest { Name = "\uD800" }.ToJson());
        Assert.Throws<ArgumentException>(() => new ModelManifest { TrainingConfig = new Dictionary<string, string> { ["\uDBFF"] = "x" } }.ToJson());
    }

    // ---- 2. Layer count and linear-time construction ----

    static string ManyLayers(int count)
    {
        var sb = new StringBuilder("{" + Minimal + ",\"architecture\":{\"type\":\"Sequential\",\"layers\":[");
        for (int i = 0; i < count; i++) sb.Append(i == 0 ? "" : ",").Append("{\"type\":\"ReLU\"}");
        return sb.Append("]}}").ToString();
    }

    [Fact]
    public void HundredThousandLayerManifest_IsRefusedByTheLayerLimit_AndLoadsWhenRaised()
    {
        string json = ManyLayers(100_000);
        Assert.InRange(json.Length, 1_500_000, 1_700_000);
        string path = SaveWithManifestJson(PathFor("many.safetensors"), json);

        var e = Assert.Throws<InvalidDataException>(() => Sequential.Load(path));
        Assert.Contains("the number of layers is 10001, over the limit of 10000 (ModelLoadLimits.MaxLayers)", e.Message);
        Assert.Contains("layer '9999' (ReLU)", e.Message);                    // the root counts as one layer

        var model = Sequential.Load(path, ModelLoadLimits.Default with { MaxLayers = 100_001 });
        Assert.Equal(100_000, model.Count);
        Assert.IsType<ReLU>(model[99_999]);
        Assert.Equal("99999", model.NamedChildren().Last().Name);
    }

    [Fact]
    public void RegisteringChildren_IsLinear()
    {
        // A name check that scans the children makes this quadratic: about 4.5·10^10 string comparisons, minutes of
        // work; with the name set it takes well under a second. The bound is far from both.
        var stopwatch = Stopwatch.StartNew();
        var layers = new Module[300_000];
        for (int i = 0; i < layers.Length; i++) layers[i] = new Dropout(0);
        var model = new Sequential(layers);
        stopwatch.Stop();
        Assert.Equal(300_000, model.Count);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(30), $"300 000 children took {stopwatch.Elapsed}");
    }

    // ---- 3. Per-layer limits ----

    [Fact]
    public void HostileConvPadding_IsRefusedAtLoad_BeforeAnyLayerIsBuilt()
    {
        // A saved model, then its manifest edited: padding 46341 makes (H + 2·padding)² overflow 32-bit sizes.
        var model = new Sequential(new Conv2d(1, 1, 3));
        string path = PathFor("conv.safetensors");
        model.Save(path);
        var file = SafeTensors.LoadFile(path);
        var manifest = file.GetManifest()!;
        manifest.Architecture!["layers"]![0]!["padding"] = new JsonArray(46341, 46341);
        var metadata = new Dictionary<string, string>(file.Metadata) { [ModelManifest.MetadataKey] = manifest.ToJson() };
        SafeTensors.Save(path, file.Tensors, metadata);           // weights and recorded hash unchanged

        var e = Assert.Throws<InvalidDataException>(() => Sequential.Load(path));
        Assert.StartsWith(path + ": Invalid architecture: layer '0' (Conv2d): 'padding' is 46341, over the limit of 256 (ModelLoadLimits.MaxPadding)", e.Message);
        Assert.Contains("new ModelLoadLimits { MaxPadding = 46341 }", e.Message);

        // The limit refused it; with the limit raised the edit is still caught, by the integrity hash.
        var raised = Assert.Throws<InvalidDataException>(() => Sequential.Load(path, new ModelLoadLimits { MaxPadding = 46341 }));
        Assert.Contains("SHA-256 mismatch", raised.Message);
    }

    [Theory]
    [InlineData("{\"type\":\"Conv2d\",\"inChannels\":1,\"outChannels\":1,\"kernelSize\":[1,1],\"padding\":[0,100000]}", "'padding' is 100000, over the limit of 256 (ModelLoadLimits.MaxPadding)")]
    [InlineData("{\"type\":\"Conv2d\",\"inChannels\":1,\"outChannels\":1,\"kernelSize\":[1,1],\"stride\":1000}", "'stride' is 1000, over the limit of 256 (ModelLoadLimits.MaxStride)")]
    [InlineData("{\"type\":\"Conv2d\",\"inChannels\":1,\"outChannels\":1,\"kernelSize\":[1,1],\"dilation\":[300,1]}", "'dilation' is 300, over the limit of 256 (ModelLoadLimits.MaxDilation)")]
    [InlineData("{\"type\":\"Conv2d\",\"inChannels\":70000,\"outChannels\":1,\"kernelSize\":1}", "'inChannels' is 70000, over the limit of 65536 (ModelLoadLimits.MaxChannels)")]
    [InlineData("{\"type\":\"Conv2d\",\"inChannels\":1,\"outChannels\":1,\"kernelSize\":[1,4096]}", "'kernelSize' is 4096, over the limit of 256 (ModelLoadLimits.MaxKernelSize)")]
    [InlineData("{\"type\":\"MaxPool2d\",\"kernelSize\":2,\"padding\":[0,2000000000]}", "'padding' is 2000000000, over the limit of 256 (ModelLoadLimits.MaxPadding)")]
    [InlineData("{\"type\":\"AvgPool2d\",\"kernelSize\":1000}", "'kernelSize' is 1000, over the limit of 256 (ModelLoadLimits.MaxKernelSize)")]
    [InlineData("{\"type\":\"AdaptiveAvgPool2d\",\"outputSize\":[5000,1]}", "'outputSize' is 5000, over the limit of 1024 (ModelLoadLimits.MaxPoolOutputSize)")]
    [InlineData("{\"type\":\"Dense\",\"units\":2000000000}", "'units' is 2000000000, over the limit of 1048576 (ModelLoadLimits.MaxFeatures)")]
    [InlineData("{\"type\":\"Linear\",\"inFeatures\":1,\"outFeatures\":2000000}", "'outFeatures' is 2000000, over the limit of 1048576 (ModelLoadLimits.MaxFeatures)")]
    [InlineData("{\"type\":\"BatchNorm2d\",\"numFeatures\":2000000}", "'numFeatures' is 2000000, over the limit of 1048576 (ModelLoadLimits.MaxFeatures)")]
    [InlineData("{\"type\":\"LayerNorm\",\"normalizedShape\":[2,2000000]}", "'normalizedShape' is 2000000, over the limit of 1048576 (ModelLoadLimits.MaxFeatures)")]
    [InlineData("{\"type\":\"LayerNorm\",\"normalizedShape\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}", "'normalizedShape (its number of dimensions)' is 33, over the limit of 32 (ModelLoadLimits.MaxShapeRank)")]
    public void LayerSettingsOverALimit_AreRefused_NamingLayerSettingValueAndLimit(string layer, string fragment)
    {
        var arch = SequentialOf([new JsonObject { ["type"] = "ReLU" }, JsonNode.Parse(layer)!]);
        string path = SaveWithArchitecture(PathFor("limit.safetensors"), arch);
        var e = Assert.Throws<InvalidDataException>(() => Sequential.Load(path));
        Assert.Contains($"layer '1' ({JsonNode.Parse(layer)!["type"]})", e.Message);
        Assert.Contains(fragment, e.Message);
        Assert.Contains("if the file is trusted, load it with a larger limit", e.Message);
        Assert.Contains(fragment, Assert.Throws<InvalidDataException>(() => ModuleConfigs.Create(arch)).Message);
    }

    [Fact]
    public void NestedLayers_AreNamedByTheirPath()
    {
        var arch = SequentialOf([new JsonObject { ["type"] = "ReLU" }, SequentialOf([new JsonObject { ["type"] = "ReLU" }, JsonNode.Parse("{\"type\":\"Conv2d\",\"inChannels\":1,\"outChannels\":1,\"kernelSize\":999}")!])]);
        Assert.Contains("layer '1.1' (Conv2d): 'kernelSize' is 999", Assert.Throws<InvalidDataException>(() => ModuleConfigs.Create(arch)).Message);
    }

    [Fact]
    public void TotalParameters_AreBoundedBeforeAnythingIsAllocated()
    {
        // Each layer is within the per-layer limits; two of them declare more than 2^31 - 1 elements.
        var layers = Enumerable.Range(0, 3).Select(_ => (JsonNode)new JsonObject { ["type"] = "Linear", ["inFeatures"] = 1 << 15, ["outFeatures"] = 1 << 15 });
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => ModuleConfigs.Create(SequentialOf(layers)));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 10_000_000);
        Assert.Contains("layer '1' (Linear): the parameter element count it brings the model to is 2147549184, over the limit of 2147483647 (ModelLoadLimits.MaxParameters)", e.Message);
    }

    [Fact]
    public void AModelRefusedByDefault_LoadsWithARaisedLimit()
    {
        Rng.ManualSeed(3);
        var model = new Sequential(new Conv2d(1, 2, (1, 300)), new Flatten());
        string path = PathFor("wide-kernel.safetensors");
        model.Save(path);
        var e = Assert.Throws<InvalidDataException>(() => Sequential.Load(path));
        Assert.Contains("layer '0' (Conv2d): 'kernelSize' is 300, over the limit of 256 (ModelLoadLimits.MaxKernelSize)", e.Message);

        var again = Sequential.Load(path, ModelLoadLimits.Default with { MaxKernelSize = 300 });
        var x = Tensor.Randn(1, 1, 2, 300);
        Assert.Equal(model.Forward(x).ToArray<float>(), again.Forward(x).ToArray<float>());

        string small = PathFor("small.safetensors");
        new Sequential(new ReLU(), new ReLU(), new ReLU()).Save(small);
        Assert.Contains("(ModelLoadLimits.MaxLayers)", Assert.Throws<InvalidDataException>(() => Sequential.Load(small, new ModelLoadLimits { MaxLayers = 3 })).Message);
        Assert.Equal(3, Sequential.Load(small, new ModelLoadLimits { MaxLayers = 4 }).Count);
    }

    [Fact]
    public void ManifestSize_IsBounded()
    {
        string path = PathFor("big-manifest.safetensors");
        new Sequential(new ReLU()).Save(path, new ModelManifest { TrainingConfig = new Dictionary<string, string> { ["notes"] = new string('n', 5000) } });
        var e = Assert.Throws<InvalidDataException>(() => Sequential.Load(path, new ModelLoadLimits { MaxManifestBytes = 4096 }));
        Assert.Contains("over the limit of 4096 (ModelLoadLimits.MaxManifestBytes)", e.Message);
        Assert.Throws<InvalidDataException>(() => new Sequential(new ReLU()).LoadWeights(path, limits: new ModelLoadLimits { MaxManifestBytes = 4096 }));
        Assert.Single(Sequential.Load(path));

        string standalone = PathFor("manifest.json");
        new ModelManifest { Name = new string('x', 10_000) }.Save(standalone);
        Assert.Contains("(ModelLoadLimits.MaxManifestBytes)", Assert.Throws<InvalidDataException>(() => ModelManifest.Load(standalone, new ModelLoadLimits { MaxManifestBytes = 1000 })).Message);
        Assert.Equal(10_000, ModelManifest.Load(standalone).Name.Length);
    }

    [Fact]
    public void Limits_RejectNonPositiveValues()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ModelLoadLimits { MaxLayers = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new ModelLoadLimits { MaxParameters = -1 });
        Assert.Throws<ArgumentOutOfRangeException>(() => ModelLoadLimits.Default with { MaxNestingDepth = ModelLoadLimits.MaxRecursionDepth + 1 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new ModelLoadLimits { MaxJsonDepth = 5000 });
        Assert.Equal(10_000, ModelLoadLimits.Default.MaxLayers);
        Assert.Equal(new ModelLoadLimits(), ModelLoadLimits.Default);
    }

    // ---- 4. Integrity hash coverage and format versions ----

    static void EditHeader(string path, string from, string to)
    {
        Assert.Equal(from.Length, to.Length);
        var bytes = File.ReadAllBytes(path);
        int headerLength = (int)BitConverter.ToUInt64(bytes, 0);
        string header = Encoding.UTF8.GetString(bytes, 8, headerLength);
        int at = header.IndexOf(from, StringComparison.Ordinal);
        Assert.True(at >= 0, $"'{from}' is not in the header {header}");
        header = header[..at] + to + header[(at + from.Length)..];
        Encoding.UTF8.GetBytes(header).CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
    }

    static void SwapOffsets(string path, string a, string b)
    {
        const string placeholder = "\u0001";
        var bytes = File.ReadAllBytes(path);
        int headerLength = (int)BitConverter.ToUInt64(bytes, 0);
        string header = Encoding.UTF8.GetString(bytes, 8, headerLength);
        Assert.Contains(a, header);
        Assert.Contains(b, header);
        header = header.Replace(a, placeholder).Replace(b, a).Replace(placeholder, b);
        var encoded = Encoding.UTF8.GetBytes(header);
        Assert.Equal(headerLength, encoded.Length);
        encoded.CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
    }

    static Sequential TwoSquareLayers() => new(new Linear(2, 2, bias: false), new Linear(2, 2, bias: false));

    [Fact]
    public void HeaderOnlyEdits_FailTheHash()
    {
        string dtype = PathFor("dtype.safetensors");
        TwoSquareLayers().Save(dtype);
        EditHeader(dtype, "\"1.weight\":{\"dtype\":\"F32\"", "\"1.weight\":{\"dtype\":\"I32\"");
        Assert.Equal(new[] { DType.Float32, DType.Int32 }, SafeTensors.Load(dtype).OrderBy(kv => kv.Key).Select(kv => kv.Value.DType));   // a valid file
        Assert.Contains("SHA-256 mismatch", Assert.Throws<InvalidDataException>(() => Sequential.Load(dtype)).Message);
        Assert.Contains("SHA-256 mismatch", Assert.Throws<InvalidDataException>(() => TwoSquareLayers().LoadWeights(dtype)).Message);

        string offsets = PathFor("offsets.safetensors");
        TwoSquareLayers().Save(offsets);
        SwapOffsets(offsets, "\"data_offsets\":[0,16]", "\"data_offsets\":[16,32]");
        Assert.Contains("SHA-256 mismatch", Assert.Throws<InvalidDataException>(() => Sequential.Load(offsets)).Message);

        string shape = PathFor("shape.safetensors");
        new Sequential(new Linear(3, 2, bias: false)).Save(shape);
        EditHeader(shape, "\"shape\":[2,3]", "\"shape\":[3,2]");
        Assert.Contains("SHA-256 mismatch", Assert.Throws<InvalidDataException>(() => new Linear(2, 3, bias: false).LoadWeights(shape, strict: false)).Message);
    }

    [Fact]
    public void ArchitectureEdits_FailTheHash()
    {
        string path = PathFor("arch.safetensors");
        new Sequential(new Linear(2, 2), new Dropout(0.25)).Save(path);
        var file = SafeTensors.LoadFile(path);
        var manifest = file.GetManifest()!;
        manifest.Architecture!["layers"]![1]!["p"] = 0.5;
        SafeTensors.Save(path, file.Tensors, new Dictionary<string, string>(file.Metadata) { [ModelManifest.MetadataKey] = manifest.ToJson() });
        Assert.Contains("the file's architecture, tokenizer, tensor table and data hash to", Assert.Throws<InvalidDataException>(() => Sequential.Load(path)).Message);
    }

    // A file as format version 1 wrote it: the same safetensors layout, the hash of the data buffer only.
    static string SaveVersion1(string path, Module model)
    {
        var state = model.StateDict();
        var manifest = new ModelManifest
        {
            FormatVersion = 1,
            Architecture = ModuleConfigs.Describe(model),
            WeightsSha256 = SafeTensors.ComputeDataSha256(state),
        };
        SafeTensors.Save(path, state, new Dictionary<string, string> { ["format"] = "pt", [ModelManifest.MetadataKey] = manifest.ToJson() });
        return path;
    }

    [Fact]
    public void Version1Files_LoadWhenUntouched()
    {
        var model = new Sequential(new Linear(3, 2), new BatchNorm1d(2), new Linear(2, 2, bias: false));
        string path = SaveVersion1(PathFor("v1.safetensors"), model);
        var again = Sequential.Load(path);
        foreach (var (key, tensor) in model.StateDict()) Assert.Equal(tensor.ToArray<double>(), again.StateDict()[key].ToArray<double>());
        var target = new Sequential(new Linear(3, 2), new BatchNorm1d(2), new Linear(2, 2, bias: false));
        target.LoadWeights(path);
        Assert.Equal(model[0].StateDict()["weight"].ToArray<float>(), target[0].StateDict()["weight"].ToArray<float>());
    }

    [Fact]
    public void Version1Files_WithHeaderEdits_AreRefused()
    {
        string offsets = SaveVersion1(PathFor("v1-offsets.safetensors"), TwoSquareLayers());
        SwapOffsets(offsets, "\"data_offsets\":[0,16]", "\"data_offsets\":[16,32]");
        var e = Assert.Throws<InvalidDataException>(() => Sequential.Load(offsets));
        Assert.Contains("format version 1 model file: tensor '0.weight' (F32) follows '1.weight' (F32)", e.Message);
        Assert.Contains("re-save the model", e.Message);

        // I32 sorts after F32, so this edit keeps the version 1 order; the dtype check catches it.
        string dtype = SaveVersion1(PathFor("v1-dtype.safetensors"), TwoSquareLayers());
        EditHeader(dtype, "\"1.weight\":{\"dtype\":\"F32\"", "\"1.weight\":{\"dtype\":\"I32\"");
        Assert.Contains("tensor '1.weight' is stored as Int32 but the module holds it as Float32", Assert.Throws<InvalidDataException>(() => Sequential.Load(dtype)).Message);
        Assert.Contains("format version 1", Assert.Throws<InvalidDataException>(() => TwoSquareLayers().LoadWeights(dtype)).Message);

        // The same edit to the first tensor breaks the order.
        string first = SaveVersion1(PathFor("v1-first.safetensors"), TwoSquareLayers());
        EditHeader(first, "\"0.weight\":{\"dtype\":\"F32\"", "\"0.weight\":{\"dtype\":\"I32\"");
        Assert.Contains("not in the order the version 1 writer used", Assert.Throws<InvalidDataException>(() => Sequential.Load(first)).Message);
    }

    [Theory]
    [InlineData("4294967297")]
    [InlineData("-4294967295")]
    [InlineData("0")]
    [InlineData("4")]
    public void FormatVersionsOutOfRange_AreRefused(string version)
    {
        var e = Assert.Throws<InvalidDataException>(() => ModelManifest.Parse("{" + Minimal.Replace("\"formatVersion\":2", "\"formatVersion\":" + version) + "}"));
        Assert.Contains($"format version {version} is not supported (this library reads versions 1 to 3)", e.Message);
    }

    [Theory]
    [InlineData("\"formatVersion\":1e400", "'formatVersion' must be a 64-bit integer")]
    [InlineData("\"formatVersion\":18446744073709551617", "'formatVersion' must be a 64-bit integer")]
    [InlineData("\"formatVersion\":1.5", "'formatVersion' must be a 64-bit integer")]
    public void NonIntegerFormatVersions_AreRefused(string field, string fragment)
    {
        var e = Assert.Throws<InvalidDataException>(() => ModelManifest.Parse("{" + Minimal.Replace("\"formatVersion\":2", field) + "}"));
        Assert.Contains(fragment, e.Message);
    }

    // ---- 5. Bounded messages ----

    [Fact]
    public void LoadStateDict_ListsTheFirstTenKeysOfEachKind()
    {
        var state = new Dictionary<string, Tensor>();
        for (int i = 0; i < 50_000; i++) state[$"layer{i}.weight"] = Tensor.Zeros(1);
        var e = Assert.Throws<ArgumentException>(() => new Linear(2, 2).LoadStateDict(state));
        Assert.True(e.Message.Length < 2000, $"the message has {e.Message.Length} characters");
        Assert.Contains("unexpected keys: layer0.weight, layer1.weight", e.Message);
        Assert.Contains("... and 49990 more", e.Message);
        Assert.Contains("missing keys: weight, bias.", e.Message);

        var optimizer = new Sgd(new Linear(2, 2).Parameters(), lr: 0.1);
        var opt = Assert.Throws<ArgumentException>(() => optimizer.LoadStateDict(state));
        Assert.True(opt.Message.Length < 2000, $"the message has {opt.Message.Length} characters");
        Assert.Contains("... and 49990 more", opt.Message);
    }

    [Fact]
    public void NamesFromFiles_AreClippedInMessages()
    {
        string longName = new string('w', 100_000);
        string path = PathFor("long-name.safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor> { [longName] = Tensor.Zeros(1) });
        var e = Assert.Throws<ArgumentException>(() => new Linear(1, 1).LoadWeights(path));
        Assert.True(e.Message.Length < 1000, $"the message has {e.Message.Length} characters");
        Assert.Contains("... (99800 more characters)", e.Message);

        var arch = SequentialOf([new JsonObject { ["type"] = longName }]);
        var unknown = Assert.Throws<InvalidDataException>(() => ModuleConfigs.Create(arch));
        Assert.True(unknown.Message.Length < 1000, $"the message has {unknown.Message.Length} characters");

        var manifest = Assert.Throws<InvalidDataException>(() => ModelManifest.Parse("{" + Minimal + ",\"trainingConfig\":{\"" + longName + "\":1}}"));
        Assert.True(manifest.Message.Length < 1000, $"the message has {manifest.Message.Length} characters");
        var time = Assert.Throws<InvalidDataException>(() => ModelManifest.Parse("{" + Minimal.Replace("2020-01-01T00:00:00Z", longName) + "}"));
        Assert.True(time.Message.Length < 1000, $"the message has {time.Message.Length} characters");
    }

    // ---- 6. Malformed manifests: InvalidDataException only ----

    const string Alphabet = "{}[]\",:0123456789-.eE\\ u";

    [Fact]
    public void MutatedManifests_ThrowOnlyInvalidData()
    {
        var model = new Sequential(new Conv2d(1, 2, 3, padding: 1), new BatchNorm2d(2), new ReLU(), new MaxPool2d(2),
            new AdaptiveAvgPool2d(1), new Flatten(), new Sequential(new Linear(2, 3), new LayerNorm(3)), new Dense(2, Activation.Relu));
        var text = new ModelManifest { Architecture = ModuleConfigs.Describe(model), Seed = 1, InputShape = [-1, 1, 4, 4] }.ToJson();
        string[] tokens = ["\\ud800", "\\udfff\\ud800", "4294967297", "-1", "0", "1e400", "null", "[]", "{}", "\"\"", "[[[[[[", "\"type\"", "true", "46341", "-2147483649", "\\u0000", "9223372036854775808"];
        var rng = new Random(20250107);
        var tensors = model.StateDict();
        int loaded = 0;
        for (int i = 0; i < 1500; i++)
        {
            var chars = new StringBuilder(text);
            for (int m = rng.Next(1, 4); m > 0; m--)
            {
                int at = rng.Next(chars.Length);
                switch (rng.Next(3))
                {
                    case 0: chars.Remove(at, Math.Min(rng.Next(1, 8), chars.Length - at)); break;
                    case 1: chars.Insert(at, tokens[rng.Next(tokens.Length)]); break;
                    default: chars[at] = Alphabet[rng.Next(Alphabet.Length)]; break;
                }
            }
            string json = chars.ToString();
            try
            {
                var parsed = ModelManifest.Parse(json);
                if (parsed.Architecture is { } architecture) ModuleConfigs.Create(architecture, maxParameterElements: 10_000);
                loaded++;
            }
            catch (InvalidDataException)
            {
            }
            if (i % 10 != 0) continue;
            string path = SaveWithManifestJson(PathFor("mutated.safetensors"), json, tensors);
            try
            {
                Sequential.Load(path);
            }
            catch (InvalidDataException)
            {
            }
        }
        Assert.InRange(loaded, 1, 1499);                           // both outcomes happen
    }
}

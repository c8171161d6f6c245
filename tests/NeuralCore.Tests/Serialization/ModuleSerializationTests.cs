using System.Text.Json.Nodes;
using NeuralCore.Nn;
using NeuralCore.Serialization;

namespace NeuralCore.Tests.Serialization;

/// <summary>Module.Save / LoadWeights and Sequential.Load.</summary>
public sealed class ModuleSerializationTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("nc-model-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    string PathFor(string name) => Path.Combine(dir, name);

    sealed class TinyNet : Module
    {
        public readonly Linear Fc1 = new(3, 4), Fc2 = new(4, 2);
        public readonly Tensor Scale, Steps;

        public TinyNet()
        {
            RegisterModules(("fc1", Fc1), ("fc2", Fc2));
            Scale = RegisterParameter("scale", Tensor.Randn(2));
            Steps = RegisterBuffer("steps", Tensor.Scalar(0, DType.Int64));
        }

        public override Tensor Forward(Tensor x) => Fc2.Forward(Fc1.Forward(x).Relu()) * Scale;
    }

    static void AssertSameState(Module expected, Module actual)
    {
        var a = expected.StateDict();
        var b = actual.StateDict();
        Assert.Equal(a.Keys, b.Keys);
        foreach (var (k, t) in a)
        {
            Assert.Equal(t.Shape, b[k].Shape);
            Assert.Equal(t.DType, b[k].DType);
            Assert.Equal(t.ToArray<double>(), b[k].ToArray<double>());
        }
    }

    [Fact]
    public void CustomModule_SaveThenLoadWeights_RestoresEveryParameterAndBuffer()
    {
        var net = new TinyNet();
        using (Tensor.NoGrad()) net.Steps.Fill_(17);
        string path = PathFor("tiny.safetensors");
        net.Save(path);

        var other = new TinyNet();
        var weightBefore = other.Fc1.Weight;
        other.LoadWeights(path);
        AssertSameState(net, other);
        Assert.Same(weightBefore, other.Fc1.Weight);               // parameters keep their identity (optimizers stay valid)
        Assert.True(other.Fc1.Weight.RequiresGrad);
        Assert.Equal(17L, other.Steps.Item<long>());

        // A plain safetensors reader sees PyTorch-style keys.
        Assert.Equal(new[] { "fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight", "scale", "steps" }.Order(),
            SafeTensors.Load(path).Keys.Order());
        var manifest = SafeTensors.LoadFile(path).GetManifest()!;
        Assert.Equal("TinyNet", manifest.Name);
        Assert.Null(manifest.Architecture);                        // TinyNet is not registered: weights only
    }

    [Fact]
    public void LoadWeights_Strict_ListsMissingAndUnexpectedKeys()
    {
        string path = PathFor("linear.safetensors");
        new Linear(3, 4).Save(path);
        var e = Assert.Throws<ArgumentException>(() => new TinyNet().LoadWeights(path));
        Assert.Contains("missing keys: scale, fc1.weight, fc1.bias, fc2.weight, fc2.bias, steps.", e.Message);
        Assert.Contains("unexpected keys: bias, weight.", e.Message);

        var shapeMismatch = Assert.Throws<ArgumentException>(() => new Linear(4, 4).LoadWeights(path, strict: false));
        Assert.Contains("size mismatch: weight (expected [4, 4], got [4, 3])", shapeMismatch.Message);

        var net = new TinyNet();
        var before = net.Fc1.Weight.ToArray<float>();
        net.LoadWeights(path, strict: false);                      // nothing matches; nothing changes
        Assert.Equal(before, net.Fc1.Weight.ToArray<float>());
    }

    [Fact]
    public void LoadWeights_AcceptsPlainSafetensorsWithoutManifest()
    {
        var source = new Linear(2, 2);
        string path = PathFor("plain.safetensors");
        SafeTensors.Save(path, source.StateDict());
        var target = new Linear(2, 2);
        target.LoadWeights(path);
        AssertSameState(source, target);
    }

    [Fact]
    public void TamperedWeights_FailTheSha256Check()
    {
        var model = new Sequential(new Linear(4, 3), new ReLU());
        string path = PathFor("tampered.safetensors");
        model.Save(path);
        var bytes = File.ReadAllBytes(path);
        bytes[^5] ^= 0x01;                                         // one bit in the last weight's data
        File.WriteAllBytes(path, bytes);

        var e = Assert.Throws<InvalidDataException>(() => new Sequential(new Linear(4, 3), new ReLU()).LoadWeights(path));
        Assert.Contains("SHA-256 mismatch", e.Message);
        Assert.Contains(path, e.Message);
        Assert.Contains("SHA-256 mismatch", Assert.Throws<InvalidDataException>(() => Sequential.Load(path)).Message);
    }

    [Fact]
    public void SequentialLoad_RebuildsTheKerasModel_WithIdenticalPredictions()
    {
        Rng.ManualSeed(7);
        var model = new Sequential(new Flatten(), new Dense(64, activation: Activation.Relu), new Dense(10));
        var x = Tensor.Randn(5, 1, 28, 28);
        var expected = model.Forward(x).ToArray<float>();
        string path = PathFor("fashion.safetensors");
        model.Save(path);

        var again = Sequential.Load(path);
        Assert.Equal(3, again.Count);
        Assert.IsType<Flatten>(again[0]);
        var dense = Assert.IsType<Dense>(again[1]);
        Assert.Equal((64, Activation.Relu, (int?)784), (dense.Units, dense.ActivationFunction, dense.InFeatures));
        Assert.Equal(new int?[] { 784, 64 }, new[] { dense.InFeatures, ((Dense)again[2]).InFeatures });
        Assert.Equal(expected, again.Forward(x).ToArray<float>());
        AssertSameState(model, again);

        var manifest = SafeTensors.LoadFile(path).GetManifest()!;
        Assert.Equal("Sequential", manifest.Name);
        Assert.Equal(ModelManifest.CurrentFormatVersion, manifest.FormatVersion);
        Assert.Matches("^[0-9a-f]{64}$", manifest.WeightsSha256);
        Assert.Equal(ModuleConfigs.Describe(model).ToJsonString(), manifest.Architecture!.ToJsonString());
        Assert.Equal("pt", SafeTensors.LoadFile(path).Metadata["format"]);
    }

    [Fact]
    public void SequentialLoad_EveryBuiltInLayer_RoundTripsInEvalMode()
    {
        Rng.ManualSeed(11);
        var model = new Sequential(
            new Conv2d(3, 4, 3, stride: 1, padding: 1),
            new BatchNorm2d(4, momentum: null),
            new ReLU(),
            new MaxPool2d(2),
            new Conv2d(4, 4, (3, 1), stride: (1, 1), padding: (1, 0), groups: 2, bias: false),
            new AvgPool2d(2, stride: 1, countIncludePad: false, ceilMode: true),
            new AdaptiveAvgPool2d(2),
            new Flatten(),
            new Sequential(new Linear(16, 8), new LeakyReLU(0.2), new ELU(0.5)),
            new BatchNorm1d(8, eps: 1e-3, affine: false),
            new LayerNorm(8),
            new Dropout(0.25),
            new Dense(6, Activation.Gelu),
            new GELU(), new Softplus(), new Tanh(), new Sigmoid(),
            new Dense(5, Activation.Tanh, useBias: false),
            new Softmax(1), new LogSoftmax(-1));
        var x = Tensor.Randn(2, 3, 8, 8);
        model.Forward(x);                                          // trains batch-norm statistics, builds Dense layers
        model.Eval();
        var expected = model.Forward(x).ToArray<float>();
        string path = PathFor("all.safetensors");
        model.Save(path);

        var again = Sequential.Load(path);
        again.Eval();
        Assert.Equal(ModuleConfigs.Describe(model).ToJsonString(), ModuleConfigs.Describe(again).ToJsonString());
        AssertSameState(model, again);
        Assert.Equal(expected, again.Forward(x).ToArray<float>());
    }

    [Fact]
    public void SequentialLoad_UnbuiltDense_StaysUnbuilt()
    {
        string path = PathFor("unbuilt.safetensors");
        new Sequential(new Dense(4)).Save(path);
        var again = Sequential.Load(path);
        Assert.False(((Dense)again[0]).IsBuilt);
        Assert.Equal(new Shape(2, 4), again.Forward(Tensor.Ones(2, 3)).Shape);
    }

    [Fact]
    public void Save_KeepsTheGivenManifest_AndFillsInHashAndArchitecture()
    {
        var created = new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.Zero);
        var given = new ModelManifest
        {
            Name = "fashion-mlp",
            Version = "2.1.0",
            CreatedUtc = created,
            InputShape = [-1, 1, 28, 28],
            OutputShape = [-1, 10],
            TrainingConfig = new Dictionary<string, string> { ["optimizer"] = "adam", ["epochs"] = "5" },
            Seed = 42,
            Metrics = new Dictionary<string, double> { ["accuracy"] = 0.875, ["loss"] = double.NaN },
            WeightsSha256 = new string('0', 64),                   // stale: always recomputed
        };
        var model = new Sequential(new Linear(2, 2));
        string path = PathFor("named.safetensors");
        model.Save(path, given);

        var file = SafeTensors.LoadFile(path);
        var m = file.GetManifest()!;
        Assert.Equal(("fashion-mlp", "2.1.0", created, 42L), (m.Name, m.Version, m.CreatedUtc, m.Seed!.Value));
        Assert.Equal(new long[] { -1, 1, 28, 28 }, m.InputShape);
        Assert.Equal(new long[] { -1, 10 }, m.OutputShape);
        Assert.Equal("adam", m.TrainingConfig!["optimizer"]);
        Assert.Equal(0.875, m.Metrics!["accuracy"]);
        Assert.True(double.IsNaN(m.Metrics["loss"]));
        Assert.Matches("^[0-9a-f]{64}$", m.WeightsSha256);
        Assert.NotEqual(given.WeightsSha256, m.WeightsSha256);
        Assert.Equal(3, m.FormatVersion);
        Sequential.Load(path);                                     // the recomputed hash passes the check
        Assert.Equal("Sequential", (string?)m.Architecture!["type"]);
        Assert.Null(given.Architecture);                           // the caller's manifest is not modified
    }

    [Fact]
    public void SequentialLoad_WithoutArchitecture_SaysHowToLoadInstead()
    {
        string path = PathFor("weights-only.safetensors");
        new TinyNet().Save(path);
        Assert.Contains("no NeuralCore manifest with an architecture", Assert.Throws<InvalidDataException>(() => Sequential.Load(path)).Message);
        SafeTensors.Save(path, new Linear(2, 2).StateDict());
        Assert.Contains("call LoadWeights", Assert.Throws<InvalidDataException>(() => Sequential.Load(path)).Message);
    }

    static string SaveWithArchitecture(string path, JsonObject architecture, IReadOnlyDictionary<string, Tensor> tensors)
    {
        var manifest = new ModelManifest { Architecture = architecture };
        SafeTensors.Save(path, tensors, new Dictionary<string, string> { [ModelManifest.MetadataKey] = manifest.ToJson() });
        return path;
    }

    [Fact]
    public void SequentialLoad_UnknownLayerType_IsRejectedWithoutInstantiatingIt()
    {
        var arch = new JsonObject { ["type"] = "Sequential", ["layers"] = new JsonArray(new JsonObject { ["type"] = "System.IO.FileInfo" }) };
        string path = SaveWithArchitecture(PathFor("unknown.safetensors"), arch, new Dictionary<string, Tensor>());
        var e = Assert.Throws<InvalidDataException>(() => Sequential.Load(path));
        Assert.Contains("unknown layer type 'System.IO.FileInfo'; register it with ModuleConfigs.Register", e.Message);
    }

    [Fact]
    public void SequentialLoad_ArchitectureNotSequential_OrNotMatchingTheWeights()
    {
        string linearPath = PathFor("linear.safetensors");
        new Linear(2, 3).Save(linearPath);
        Assert.Contains("describes a Linear, not a Sequential", Assert.Throws<InvalidDataException>(() => Sequential.Load(linearPath)).Message);

        var arch = ModuleConfigs.Describe(new Sequential(new Linear(2, 3)));
        string path = SaveWithArchitecture(PathFor("mismatch.safetensors"), arch,
            new Dictionary<string, Tensor> { ["0.weight"] = Tensor.Zeros(3, 2), ["0.bias"] = Tensor.Zeros(3), ["extra"] = Tensor.Zeros(1) });
        var e = Assert.Throws<InvalidDataException>(() => Sequential.Load(path));
        Assert.Contains("the weights do not match the architecture", e.Message);
        Assert.Contains("unexpected keys: extra", e.Message);
    }

    [Fact]
    public void SequentialLoad_HugeLayerInTheManifest_IsRejectedBeforeAllocating()
    {
        // 46341 x 46341 floats would be 8 GB; the file holds 3 elements, so the loader refuses before allocating.
        var arch = new JsonObject
        {
            ["type"] = "Sequential",
            ["layers"] = new JsonArray(new JsonObject { ["type"] = "Dense", ["units"] = 46341, ["inFeatures"] = 46341 }),
        };
        string path = SaveWithArchitecture(PathFor("huge.safetensors"), arch, new Dictionary<string, Tensor> { ["0.linear.bias"] = Tensor.Zeros(3) });
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => Sequential.Load(path));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 50_000_000);
        Assert.Contains("layer '0' (Dense): it brings the parameter elements to 2147534622, more than the 3 the weights hold", e.Message);
    }

    [Fact]
    public void SequentialLoad_InvalidLayerSettings_AreInvalidData()
    {
        var tensors = new Dictionary<string, Tensor>();
        (JsonObject Layer, string Fragment)[] cases =
        [
            (new JsonObject { ["type"] = "Dropout", ["p"] = 1.5 }, "layer '0' (Dropout): Dropout: p must be in [0, 1]"),
            (new JsonObject { ["type"] = "Dense", ["units"] = "64" }, "layer '0' (Dense): 'units' must be a 32-bit integer, found \"64\""),
            (new JsonObject { ["type"] = "Dense", ["units"] = 4, ["activation"] = "Swish" }, "'activation' is \"Swish\"; expected one of None, Relu"),
            (new JsonObject { ["type"] = "Dense" }, "layer '0' (Dense): the setting 'units' is missing"),
            (new JsonObject { ["type"] = "Flatten", ["startDim"] = 1.5 }, "'startDim' must be a 32-bit integer, found 1.5"),
            (new JsonObject { ["type"] = "MaxPool2d", ["kernelSize"] = new JsonArray(2, 2, 2) }, "'kernelSize' must be [height, width]"),
            (new JsonObject { ["type"] = "Linear", ["inFeatures"] = -1, ["outFeatures"] = 2, ["bias"] = false }, "layer '0' (Linear): inFeatures"),
            (new JsonObject { ["type"] = "ReLU", ["extra"] = 1 }, ""),
            (new JsonObject { ["layers"] = new JsonArray() }, "has no \"type\" string"),
        ];
        foreach (var (layer, fragment) in cases)
        {
            var arch = new JsonObject { ["type"] = "Sequential", ["layers"] = new JsonArray(layer) };
            string path = SaveWithArchitecture(PathFor("bad.safetensors"), arch, tensors);
            if (fragment.Length == 0)
            {
                Assert.IsType<ReLU>(Sequential.Load(path)[0]);     // unknown settings are ignored
                continue;
            }
            Assert.Contains(fragment, Assert.Throws<InvalidDataException>(() => Sequential.Load(path)).Message);
        }
    }

    [Fact]
    public void SequentialLoad_DeeplyNestedArchitecture_IsRejected()
    {
        JsonObject arch = new() { ["type"] = "ReLU" };
        for (int i = 0; i < ModelLoadLimits.Default.MaxNestingDepth + 2; i++) arch = new JsonObject { ["type"] = "Sequential", ["layers"] = new JsonArray(arch) };
        string path = SaveWithArchitecture(PathFor("deep.safetensors"), arch, new Dictionary<string, Tensor>());
        var e = Assert.Throws<InvalidDataException>(() => Sequential.Load(path));
        Assert.Contains("its nesting depth is 33, over the limit of 32 (ModelLoadLimits.MaxNestingDepth)", e.Message);
        Assert.Contains("new ModelLoadLimits { MaxNestingDepth = 33 }", e.Message);
        Assert.IsType<Sequential>(Sequential.Load(path, new ModelLoadLimits { MaxNestingDepth = 40 }));
    }

    [Fact]
    public void SequentialLoad_MalformedEmbeddedManifest_IsInvalidData()
    {
        string path = PathFor("bad-manifest.safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor>(), new Dictionary<string, string> { [ModelManifest.MetadataKey] = "{\"formatVersion\":1," });
        var e = Assert.Throws<InvalidDataException>(() => Sequential.Load(path));
        Assert.Contains("Invalid model manifest: not valid JSON", e.Message);
        Assert.StartsWith(path, e.Message);
        Assert.Throws<InvalidDataException>(() => new Linear(1, 1).LoadWeights(path, strict: false));
    }
}

using System.Text.Json;

namespace NeuralCore.Tests.Nn;

/// <summary>
/// One case of PyTorch-made reference values (TestData/torch/NAME.json, written by
/// tools/torch-references/make_references.py): tensors as {"shape", "data"}, read back as Float64.
/// </summary>
public sealed class TorchReference
{
    readonly JsonElement root;

    TorchReference(JsonElement root) => this.root = root;

    public static TorchReference Load(string name)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "TestData", "torch", name + ".json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return new TorchReference(doc.RootElement.Clone());
    }

    public JsonElement this[string name] => root.GetProperty(name);

    public int Int(string name) => root.GetProperty(name).GetInt32();

    public bool Bool(string name) => root.GetProperty(name).GetBoolean();

    public Tensor Tensor(string name) => ToTensor(root.GetProperty(name));

    /// <summary>The tensors of an object member (a state dict or a set of gradients) by name.</summary>
    public Dictionary<string, Tensor> Tensors(string name) =>
        root.GetProperty(name).EnumerateObject().ToDictionary(p => p.Name, p => ToTensor(p.Value));

    public static Tensor ToTensor(JsonElement t)
    {
        var shape = t.GetProperty("shape").EnumerateArray().Select(v => v.GetInt64()).ToArray();
        var data = t.GetProperty("data").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        return NeuralCore.Tensor.FromArray(data, shape);
    }

    /// <summary>Copies the reference state dict into <paramref name="module"/>'s parameters (every one must be named).</summary>
    public void LoadInto(NeuralCore.Nn.Module module, string name = "state")
    {
        var state = Tensors(name);
        var parameters = module.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        Assert.Equal(state.Keys.Order(), parameters.Keys.Order());
        using (NeuralCore.Tensor.NoGrad())
            foreach (var (key, value) in state)
            {
                Assert.Equal(value.Shape, parameters[key].Shape);
                parameters[key].Copy_(value);
            }
    }

    public static void AssertClose(Tensor expected, Tensor actual, double tolerance, string what)
    {
        Assert.True(expected.Shape == actual.Shape, $"{what}: shape {actual.Shape}, expected {expected.Shape}");
        var e = expected.To(DType.Float64).ToArray<double>();
        var a = actual.To(DType.Float64).Contiguous().ToArray<double>();
        for (int i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] - a[i]) <= tolerance * (1 + Math.Abs(e[i])), $"{what}[{i}]: {a[i]}, expected {e[i]}");
    }
}

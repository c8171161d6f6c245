using System.Reflection;
using System.Text.Json;

namespace NeuralCore.Tests;

/// <summary>
/// PyTorch 1.13's results for the everyday ops, read from TestData/api-references.json (made by
/// tools/pytorch-references/make_api_references.py). Tensors are stored as {"shape", "data"} in float64.
/// </summary>
internal static class PyTorchReferences
{
    static readonly Lazy<JsonDocument> document = new(() =>
    {
        var root = typeof(PyTorchReferences).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .First(a => a.Key == "RepositoryRoot").Value!;
        return JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "tests", "NeuralCore.Tests", "TestData", "api-references.json")));
    });

    public static JsonElement Root => document.Value.RootElement;

    /// <summary>The cases of one family (an array in the file).</summary>
    public static IEnumerable<JsonElement> Cases(string family) => Root.GetProperty(family).EnumerateArray();

    /// <summary>A Float64 tensor from a {"shape", "data"} entry.</summary>
    public static Tensor Tensor(JsonElement e)
    {
        var shape = e.GetProperty("shape").EnumerateArray().Select(v => v.GetInt64()).ToArray();
        var data = e.GetProperty("data").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        return NeuralCore.Tensor.FromArray(data, shape.Length == 0 ? [] : shape).Reshape(shape);
    }

    public static Tensor Tensor(JsonElement parent, string name) => Tensor(parent.GetProperty(name));

    public static (int, int) Pair(JsonElement parent, string name)
    {
        var a = parent.GetProperty(name).EnumerateArray().Select(v => v.GetInt32()).ToArray();
        return (a[0], a[1]);
    }

    /// <summary>Asserts equal shapes and elementwise closeness (|a − e| ≤ atol + rtol·|e|).</summary>
    public static void AssertClose(Tensor expected, Tensor actual, double atol = 1e-10, double rtol = 1e-10, string what = "")
    {
        Assert.True(expected.Shape == actual.Shape, $"{what}: shape {actual.Shape}, expected {expected.Shape}");
        var e = expected.ToArray<double>();
        var a = actual.ToArray<double>();
        for (int i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(a[i] - e[i]) <= atol + rtol * Math.Abs(e[i]), $"{what}: element {i} is {a[i]}, expected {e[i]}");
    }
}

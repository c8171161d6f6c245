using System.Net;
using System.Text;
using System.Text.Json;
using NeuralCore.Compression;
using NeuralCore.Nn;
using NeuralCore.Serving.Hosting;
using NeuralCore.Serving.Registry;
using NeuralCore.Serving.Tests.Registry;

namespace NeuralCore.Serving.Tests.Hosting;

/// <summary>An int8 model (static post-training quantization) registered, loaded back by the host and served over HTTP.</summary>
public sealed class QuantizedServingTests : IAsyncLifetime
{
    readonly RegistryBackend env = RegistryBackend.Create("sqlite");
    ModelRegistry registry = null!;
    LoopbackHost host = null!;
    Sequential quantized = null!;
    Tensor x = null!;

    public async Task InitializeAsync()
    {
        registry = env.Open();
        (var model, _, x) = ModelRegistryTests.Trained();
        quantized = Quantization.QuantizeStatic(model, [x]);
        registry.Register("clf-int8", quantized, null, new RegisterOptions { InputShape = [-1, 4], ClassNames = ModelRegistryTests.Classes });
        host = await LoopbackHost.StartAsync(registry, new ServingOptions { AllowAnonymousInference = true });
    }

    public async Task DisposeAsync()
    {
        await host.DisposeAsync();
        registry.Dispose();
        env.Dispose();
    }

    [Fact]
    public async Task HttpPredictionsOfTheInt8ModelEqualInProcessOnes()
    {
        Assert.Contains(quantized, l => l is QuantizedLinear);
        var loaded = registry.Load("clf-int8", "1");
        Assert.Contains(loaded, l => l is QuantizedLinear);
        var batch = x[..6];
        var expected = quantized.Forward(batch).ToArray<float>();
        Assert.Equal(expected, loaded.Forward(batch).ToArray<float>());

        string body = JsonSerializer.Serialize(new
        {
            inputs = new[] { new { name = "input", shape = new[] { 6, 4 }, datatype = "FP32", data = batch.ToArray<float>() } },
        });
        using var response = await host.Http.PostAsync("/v2/models/clf-int8/infer", new StringContent(body, Encoding.UTF8, "application/json"));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var output = JsonDocument.Parse(text).RootElement.GetProperty("outputs")[0];
        Assert.Equal([6L, 3L], output.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(expected, output.GetProperty("data").EnumerateArray().Select(e => e.GetSingle()));
    }
}

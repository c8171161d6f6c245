using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using NeuralCore.Benchmarks.OrtServing;
using NeuralCore.Nn;
using NeuralCore.Onnx;
using NeuralCore.Serving.Hosting;
using NeuralCore.Serving.Registry;
using NeuralCore.Serving.Tests.Registry;

namespace NeuralCore.Serving.Tests.Hosting;

/// <summary>
/// tools/ort-serving-compare.sh compares NeuralCore.Serving with benchmarks/OrtServing (ONNX Runtime): both must serve
/// the same model, i.e. answer the same request with the same outputs and class probabilities.
/// </summary>
public sealed class OrtServingComparisonTests : IDisposable
{
    readonly RegistryBackend env = RegistryBackend.Create("sqlite");
    readonly ModelRegistry registry;
    readonly Sequential mlp;
    readonly string onnxPath = Path.Combine(Path.GetTempPath(), $"ort-serving-{Guid.NewGuid():N}.onnx");

    public OrtServingComparisonTests()
    {
        registry = env.Open();
        Rng.ManualSeed(11);
        // The Fashion-MNIST MLP's architecture; untrained weights are as good for comparing the two servers.
        mlp = new Sequential(new Flatten(), new Dense(64, activation: Activation.Relu), new Dense(32, activation: Activation.Relu), new Dense(10));
        registry.Register("fashion-mlp", mlp, null, new RegisterOptions { InputShape = [-1, 1, 28, 28] });
        mlp.Eval();
        OnnxExporter.Save(mlp, Tensor.Zeros([1, 1, 28, 28]), onnxPath);
    }

    public void Dispose()
    {
        registry.Dispose();
        env.Dispose();
        File.Delete(onnxPath);
    }

    /// <summary>The body tools/make-infer-body.sh writes, for a 28x28 image with the given pixels.</summary>
    static string Body(float[] pixels) =>
        "{\"id\": \"r1\", \"inputs\": [{\"name\": \"input\", \"shape\": [1, 1, 28, 28], \"datatype\": \"FP32\", \"data\": [" +
        string.Join(", ", pixels.Select(p => p.ToString("R", System.Globalization.CultureInfo.InvariantCulture))) + "]}]}";

    static async Task<(HttpStatusCode Status, JsonDocument Json)> PostAsync(HttpClient http, string route, string body)
    {
        using var response = await http.PostAsync(route, new StringContent(body, Encoding.UTF8, "application/json"));
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()));
    }

    static float[] Softmax(float[] logits)
    {
        double max = logits.Max(), sum = logits.Sum(v => Math.Exp(v - max));
        return [.. logits.Select(v => (float)(Math.Exp(v - max) / sum))];
    }

    [Fact]
    public async Task OrtServing_AnswersTheSameOutputsAndProbabilities_AsNeuralCoreServing()
    {
        float[] pixels = [.. Enumerable.Range(0, 784).Select(i => (i * 37 % 256) / 255f)];
        string body = Body(pixels);

        await using var neuralCore = await LoopbackHost.StartAsync(registry, new ServingOptions
        {
            AllowAnonymousInference = true,
            Batching = new BatchingOptions { MaxBatchSize = 32, MaxQueueDelay = TimeSpan.FromMilliseconds(1) },
        });
        var ort = OrtServingApp.Create(onnxPath, "fashion-mlp", ["http://127.0.0.1:0"], intraOpThreads: 1);
        await using (ort)
        {
            await ort.StartAsync();
            string address = ort.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            Assert.StartsWith("http://127.0.0.1:", address);
            using var ortHttp = new HttpClient { BaseAddress = new Uri(address) };

            var (ncStatus, ncJson) = await PostAsync(neuralCore.Http, "/v2/models/fashion-mlp/infer", body);
            var (ortStatus, ortJson) = await PostAsync(ortHttp, "/v2/models/fashion-mlp/infer", body);
            using (ncJson)
            using (ortJson)
            {
                Assert.Equal(HttpStatusCode.OK, ncStatus);
                Assert.Equal(HttpStatusCode.OK, ortStatus);
                var ncOut = ncJson.RootElement.GetProperty("outputs")[0];
                var ortOut = ortJson.RootElement.GetProperty("outputs")[0];
                Assert.Equal("fashion-mlp", ortJson.RootElement.GetProperty("model_name").GetString());
                Assert.Equal("r1", ortJson.RootElement.GetProperty("id").GetString());
                Assert.Equal([1L, 10L], ortOut.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
                Assert.Equal(ncOut.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()), ortOut.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
                float[] a = [.. ncOut.GetProperty("data").EnumerateArray().Select(e => e.GetSingle())];
                float[] b = [.. ortOut.GetProperty("data").EnumerateArray().Select(e => e.GetSingle())];
                Assert.Equal(10, a.Length);
                Assert.Equal(10, b.Length);
                for (int i = 0; i < a.Length; i++)
                    Assert.True(Math.Abs(a[i] - b[i]) <= 1e-5f * Math.Max(1f, Math.Abs(a[i])), $"output {i}: NeuralCore {a[i]}, ONNX Runtime {b[i]}");
                float[] pa = Softmax(a), pb = Softmax(b);
                for (int i = 0; i < pa.Length; i++)
                    Assert.True(Math.Abs(pa[i] - pb[i]) <= 1e-5f, $"probability {i}: NeuralCore {pa[i]}, ONNX Runtime {pb[i]}");

                // And both equal the model run in process (the comparison is not of two equally wrong servers).
                float[] want;
                using (Tensor.NoGrad()) want = mlp.Forward(Tensor.FromArray(pixels, [1, 1, 28, 28])).ToArray<float>();
                Assert.Equal(want, a);
            }

            // The ORT app refuses what it cannot serve with the status a client expects.
            var (unknown, unknownJson) = await PostAsync(ortHttp, "/v2/models/other/infer", body);
            unknownJson.Dispose();
            Assert.Equal(HttpStatusCode.NotFound, unknown);
            var (shortData, shortJson) = await PostAsync(ortHttp, "/v2/models/fashion-mlp/infer",
                "{\"inputs\": [{\"name\": \"input\", \"shape\": [1, 1, 28, 28], \"datatype\": \"FP32\", \"data\": [0.5, 0.25]}]}");
            using (shortJson)
            {
                Assert.Equal(HttpStatusCode.BadRequest, shortData);
                Assert.Contains("784", shortJson.RootElement.GetProperty("error").GetString());
            }
            await ort.StopAsync();
        }
    }
}

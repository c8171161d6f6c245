using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using NeuralCore.Nn;
using NeuralCore.Serving.Hosting;
using NeuralCore.Serving.Registry;
using NeuralCore.Serving.Tests.Registry;

namespace NeuralCore.Serving.Tests.Hosting;

/// <summary>The Open Inference Protocol host on real Kestrel (127.0.0.1, a free port) over a real SQLite registry.</summary>
public sealed class ServingHostTests : IAsyncLifetime
{
    readonly RegistryBackend env = RegistryBackend.Create("sqlite");
    ModelRegistry registry = null!;
    LoopbackHost host = null!;

    HttpClient http => host.Http;
    Sequential model = null!;
    Tensor x = null!;

    public async Task InitializeAsync()
    {
        registry = env.Open();
        (model, var history, x) = ModelRegistryTests.Trained();
        registry.Register("clf", model, history, new RegisterOptions { InputShape = [-1, 4], ClassNames = ModelRegistryTests.Classes, Aliases = ["production"] });
        host = await LoopbackHost.StartAsync(registry, new ServingOptions { MaxRequestBodyBytes = 64 << 10, AllowAnonymousInference = true });
    }

    public async Task DisposeAsync()
    {
        await host.DisposeAsync();
        registry.Dispose();
        env.Dispose();
    }

    static string InferBody(string name, long[] shape, float[] data, string datatype = "FP32", bool nested = false)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("id", "req-1");
            w.WriteStartArray("inputs");
            w.WriteStartObject();
            w.WriteString("name", name);
            w.WriteStartArray("shape");
            foreach (var d in shape) w.WriteNumberValue(d);
            w.WriteEndArray();
            w.WriteString("datatype", datatype);
            w.WriteStartArray("data");
            long row = shape.Length > 1 ? shape[^1] : data.Length;
            for (int i = 0; i < data.Length; i++)
            {
                if (nested && i % row == 0) w.WriteStartArray();
                w.WriteNumberValue(data[i]);
                if (nested && i % row == row - 1) w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    async Task<(HttpStatusCode Status, JsonElement Body, string? MediaType)> Send(HttpMethod method, string path, string? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone(), response.Content.Headers.ContentType?.MediaType);
    }

    static float[] Expected(Sequential m, Tensor input)
    {
        m.Eval();
        using var noGrad = Tensor.NoGrad();
        return m.Forward(input).ToArray<float>();
    }

    async Task<(string Version, float[] Values)> Infer(string path, Tensor input, bool nested = false)
    {
        var (status, body, _) = await Send(HttpMethod.Post, path, InferBody("input", input.Shape.ToArray(), input.ToArray<float>(), nested: nested));
        Assert.True(status == HttpStatusCode.OK, body.ToString());
        Assert.Equal("clf", body.GetProperty("model_name").GetString());
        Assert.Equal("req-1", body.GetProperty("id").GetString());
        var output = body.GetProperty("outputs")[0];
        Assert.Equal("output", output.GetProperty("name").GetString());
        Assert.Equal([input.Shape[0], 3], output.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        return (body.GetProperty("model_version").GetString()!, [.. output.GetProperty("data").EnumerateArray().Select(e => e.GetSingle())]);
    }

    static void AssertProblem((HttpStatusCode Status, JsonElement Body, string? MediaType) response, HttpStatusCode status, string detailPart)
    {
        Assert.Equal(status, response.Status);
        Assert.Equal("application/problem+json", response.MediaType);
        Assert.Equal((int)status, response.Body.GetProperty("status").GetInt32());
        Assert.Contains(detailPart, response.Body.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task HealthAndServerMetadata()
    {
        Assert.True((await Send(HttpMethod.Get, "/v2/health/live")).Body.GetProperty("live").GetBoolean());
        Assert.True((await Send(HttpMethod.Get, "/v2/health/ready")).Body.GetProperty("ready").GetBoolean());
        var server = await Send(HttpMethod.Get, "/v2");
        Assert.Equal(HttpStatusCode.OK, server.Status);
        Assert.Equal("neuralcore", server.Body.GetProperty("name").GetString());
    }

    [Fact]
    public async Task ModelMetadata_DescribesTheSignature_ForVersionsAndAliases()
    {
        var (status, body, _) = await Send(HttpMethod.Get, "/v2/models/clf/versions/production");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("clf", body.GetProperty("name").GetString());
        Assert.Equal(["1"], body.GetProperty("versions").EnumerateArray().Select(e => e.GetString()));
        var input = body.GetProperty("inputs")[0];
        Assert.Equal(("input", "FP32"), (input.GetProperty("name").GetString(), input.GetProperty("datatype").GetString()));
        Assert.Equal([-1, 4], input.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal([-1, 3], body.GetProperty("outputs")[0].GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(ModelRegistryTests.Classes, body.GetProperty("parameters").GetProperty("class_names").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(HttpStatusCode.OK, (await Send(HttpMethod.Get, "/v2/models/clf")).Status);

        var ready = await Send(HttpMethod.Get, "/v2/models/clf/versions/1/ready");
        Assert.True(ready.Body.GetProperty("ready").GetBoolean());
        Assert.True((await Send(HttpMethod.Get, "/v2/models/clf/ready")).Body.GetProperty("ready").GetBoolean());
    }

    [Fact]
    public async Task HttpPredictions_EqualInProcessPredictionsBitForBit()
    {
        var batch = x[..5];
        var expected = Expected(model, batch);
        Assert.Equal(expected, Expected(registry.Load("clf", "1"), batch));

        foreach (var path in new[] { "/v2/models/clf/infer", "/v2/models/clf/versions/1/infer", "/v2/models/clf/versions/production/infer" })
        {
            var (version, values) = await Infer(path, batch);
            Assert.Equal("1", version);
            Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), values.Select(BitConverter.SingleToInt32Bits));
        }
        var (_, nested) = await Infer("/v2/models/clf/infer", batch, nested: true);
        Assert.Equal(expected, nested);
    }

    [Fact]
    public async Task BadRequests_Get400NamingWhatWasExpected_AndTheHostKeepsServing()
    {
        var row = x[..1].ToArray<float>();
        var cases = new (string Body, string DetailPart)[]
        {
            ("{\"inputs\": [", "not valid JSON"),
            ("[1, 2]", "JSON object"),
            ("{}", "\"inputs\""),
            (InferBody("input", [1, 5], [.. row, 0f]), "[N, 4]"),
            (InferBody("input", [4], row), "[N, 4]"),
            (InferBody("input", [1, 4], row, datatype: "INT64"), "FP32"),
            (InferBody("pixels", [1, 4], row), "\"input\""),
            (InferBody("input", [2, 4], row), "needs 8"),
            (InferBody("input", [1, 4], [.. row, 1f]), "more values"),
            (InferBody("input", [0, 4], []), "positive integer"),
            ("{\"inputs\": [{\"name\": \"input\", \"shape\": [1, 4], \"datatype\": \"FP32\", \"data\": [1, 2, \"x\", 4]}]}", "finite FP32"),
            ("{\"inputs\": [{\"name\": \"input\", \"shape\": [1, 4], \"datatype\": \"FP32\", \"data\": [1, 2, 1e99, 4]}]}", "finite FP32"),
            ("{\"inputs\": [{\"name\": \"input\", \"shape\": [100000000, 4], \"datatype\": \"FP32\", \"data\": []}]}", "more than"),
        };
        foreach (var (body, detail) in cases)
        {
            AssertProblem(await Send(HttpMethod.Post, "/v2/models/clf/infer", body), HttpStatusCode.BadRequest, detail);
            var (_, values) = await Infer("/v2/models/clf/infer", x[..1]);
            Assert.Equal(Expected(model, x[..1]), values);
        }
    }

    [Fact]
    public async Task UnknownModelsVersionsAndAliases_Get404()
    {
        AssertProblem(await Send(HttpMethod.Get, "/v2/models/nope"), HttpStatusCode.NotFound, "no model named 'nope'");
        AssertProblem(await Send(HttpMethod.Get, "/v2/models/clf/versions/7"), HttpStatusCode.NotFound, "no version 7");
        AssertProblem(await Send(HttpMethod.Get, "/v2/models/clf/versions/canary/ready"), HttpStatusCode.NotFound, "no alias 'canary'");
        AssertProblem(await Send(HttpMethod.Post, "/v2/models/nope/infer", InferBody("input", [1, 4], x[..1].ToArray<float>())), HttpStatusCode.NotFound, "nope");
    }

    [Fact]
    public async Task OversizedBodies_Get413()
    {
        var big = new float[40_000];
        AssertProblem(await Send(HttpMethod.Post, "/v2/models/clf/infer", InferBody("input", [10_000, 4], big)), HttpStatusCode.RequestEntityTooLarge, "");
        var (_, values) = await Infer("/v2/models/clf/infer", x[..2]);
        Assert.Equal(Expected(model, x[..2]), values);
    }

    [Fact]
    public async Task MovingAnAlias_ChangesWhatTheNextRequestGets()
    {
        var (other, history, _) = ModelRegistryTests.Trained(offset: 1);
        registry.Register("clf", other, history, new RegisterOptions { InputShape = [-1, 4] });
        var batch = x[..3];

        var (before, beforeValues) = await Infer("/v2/models/clf/versions/production/infer", batch);
        registry.SetAlias("clf", "production", 2);
        var (after, afterValues) = await Infer("/v2/models/clf/versions/production/infer", batch);

        Assert.Equal(("1", "2"), (before, after));
        Assert.Equal(Expected(model, batch), beforeValues);
        Assert.Equal(Expected(other, batch), afterValues);
        Assert.Equal("2", (await Infer("/v2/models/clf/infer", batch)).Version);   // latest
    }

    [Fact]
    public async Task ACorruptedVersion_Gets503_AndTheOthersKeepServing()
    {
        var (other, history, _) = ModelRegistryTests.Trained(offset: 2);
        var bad = registry.Register("clf", other, history, new RegisterOptions { InputShape = [-1, 4] });
        string path = registry.FilePath(bad);
        File.SetAttributes(path, FileAttributes.Normal);
        var bytes = File.ReadAllBytes(path);
        bytes[^3] ^= 0x10;
        File.WriteAllBytes(path, bytes);

        AssertProblem(await Send(HttpMethod.Get, "/v2/models/clf/versions/2/ready"), HttpStatusCode.ServiceUnavailable, "altered or corrupted");
        AssertProblem(await Send(HttpMethod.Post, "/v2/models/clf/versions/2/infer", InferBody("input", [1, 4], x[..1].ToArray<float>())),
            HttpStatusCode.ServiceUnavailable, "altered or corrupted");
        var (version, values) = await Infer("/v2/models/clf/versions/production/infer", x[..1]);
        Assert.Equal("1", version);
        Assert.Equal(Expected(model, x[..1]), values);
    }

    [Fact]
    public async Task ConcurrentRequests_AllGetTheRightAnswers()
    {
        var batches = Enumerable.Range(0, 8).Select(i => x[(i * 4)..(i * 4 + 1 + i % 4)]).ToArray();
        var expected = batches.Select(b => Expected(model, b)).ToArray();
        var tasks = Enumerable.Range(0, 8).Select(async client =>
        {
            for (int r = 0; r < 25; r++)
            {
                int i = (client + r) % batches.Length;
                var (_, values) = await Infer("/v2/models/clf/versions/production/infer", batches[i]);
                Assert.Equal(expected[i], values);
            }
        });
        await Task.WhenAll(tasks);
        Assert.Equal(1, host.App.Services.GetRequiredService<LoadedModels>().Count);
    }

    /// <summary>A v2 request in the binary tensor data extension: JSON header (input values as raw FP32 bytes), then the bytes.</summary>
    static byte[] BinaryInferBody(long[] shape, float[] data, bool binaryOutput, out int headerLength, long? declaredSize = null)
    {
        var header = new System.Text.Json.Nodes.JsonObject
        {
            ["id"] = "req-bin",
            ["inputs"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject
            {
                ["name"] = "input",
                ["shape"] = new System.Text.Json.Nodes.JsonArray([.. shape.Select(d => (System.Text.Json.Nodes.JsonNode)System.Text.Json.Nodes.JsonValue.Create(d))]),
                ["datatype"] = "FP32",
                ["parameters"] = new System.Text.Json.Nodes.JsonObject { ["binary_data_size"] = declaredSize ?? (long)data.Length * 4 },
            }),
        };
        if (binaryOutput)
            header["outputs"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject
            {
                ["name"] = "output",
                ["parameters"] = new System.Text.Json.Nodes.JsonObject { ["binary_data"] = true },
            });
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        headerLength = json.Length;
        var body = new byte[json.Length + data.Length * 4];
        json.CopyTo(body, 0);
        for (int i = 0; i < data.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(body.AsSpan(json.Length + i * 4), data[i]);
        return body;
    }

    async Task<HttpResponseMessage> SendBinary(byte[] body, string headerLength)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/clf/infer") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
        request.Headers.TryAddWithoutValidation("Inference-Header-Content-Length", headerLength);
        return await http.SendAsync(request);
    }

    [Fact]
    public async Task BinaryTensorData_InAndOut_EqualsTheJsonRouteBitForBit()
    {
        var batch = x[..5];
        var expected = Expected(model, batch);
        var (_, viaJson) = await Infer("/v2/models/clf/infer", batch);
        Assert.Equal(expected, viaJson);

        // Binary input, JSON output.
        var body = BinaryInferBody(batch.Shape.ToArray(), batch.ToArray<float>(), binaryOutput: false, out int length);
        using (var response = await SendBinary(body, length.ToString(System.Globalization.CultureInfo.InvariantCulture)))
        {
            string text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, text);
            var output = JsonDocument.Parse(text).RootElement.GetProperty("outputs")[0];
            Assert.Equal(expected, output.GetProperty("data").EnumerateArray().Select(e => e.GetSingle()));
        }

        // Binary input and output: the response's JSON header declares the bytes that follow it.
        body = BinaryInferBody(batch.Shape.ToArray(), batch.ToArray<float>(), binaryOutput: true, out length);
        using (var response = await SendBinary(body, length.ToString(System.Globalization.CultureInfo.InvariantCulture)))
        {
            var bytes = await response.Content.ReadAsByteArrayAsync();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            int headerLength = int.Parse(response.Headers.GetValues("Inference-Header-Content-Length").Single(), System.Globalization.CultureInfo.InvariantCulture);
            var output = JsonDocument.Parse(bytes.AsMemory(0, headerLength)).RootElement.GetProperty("outputs")[0];
            Assert.False(output.TryGetProperty("data", out _));
            Assert.Equal([5L, 3L], output.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
            Assert.Equal(expected.Length * 4, output.GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
            Assert.Equal(headerLength + expected.Length * 4, bytes.Length);
            var values = Enumerable.Range(0, expected.Length)
                .Select(i => System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(headerLength + i * 4))).ToArray();
            Assert.Equal(expected, values);
        }
    }

    [Fact]
    public async Task BinaryTensorData_Mismatches_Get400AndTheHostKeepsServing()
    {
        var row = x[..1];
        var data = row.ToArray<float>();
        var good = BinaryInferBody(row.Shape.ToArray(), data, binaryOutput: false, out int length);
        var cases = new (byte[] Body, string Header, string Detail)[]
        {
            (good, (good.Length + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), "Inference-Header-Content-Length"),
            (good, "-3", "Inference-Header-Content-Length"),
            (good, "lots", "Inference-Header-Content-Length"),
            (good[..^4], length.ToString(System.Globalization.CultureInfo.InvariantCulture), "declares 16"),
            ([.. good, 0, 0, 0, 0], length.ToString(System.Globalization.CultureInfo.InvariantCulture), "declares 16"),
            (BinaryInferBody(row.Shape.ToArray(), data, false, out int l2, declaredSize: 12), l2.ToString(System.Globalization.CultureInfo.InvariantCulture), "needs 16 bytes"),
            (good, (length - 1).ToString(System.Globalization.CultureInfo.InvariantCulture), "not valid JSON"),
        };
        foreach (var (body, header, detail) in cases)
        {
            using var response = await SendBinary(body, header);
            string text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{header}: {(int)response.StatusCode} {text}");
            Assert.Contains(detail, text);
            var (_, values) = await Infer("/v2/models/clf/infer", row);
            Assert.Equal(Expected(model, row), values);
        }
    }
}

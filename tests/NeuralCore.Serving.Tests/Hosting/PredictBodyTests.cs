using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using NeuralCore.Serving.Hosting;
using NeuralCore.Serving.Registry;
using NeuralCore.Serving.Tests.Registry;

namespace NeuralCore.Serving.Tests.Hosting;

/// <summary>
/// <c>:predict</c> bodies read straight from their bytes give what parsing them into a <see cref="JsonDocument"/> gave:
/// the same tensors bit for bit, the same messages for bad requests and for malformed JSON, in process and over HTTP.
/// </summary>
public sealed class PredictBodyTests
{
    static readonly ModelSignature Flat = new([new TensorSpec("input", [-1, 4], "FP32")], [new TensorSpec("output", [-1, 3], "FP32")], []);
    static readonly ModelSignature Image = new([new TensorSpec("input", [-1, 2, 3], "FP32")], [new TensorSpec("output", [-1, 3], "FP32")], []);
    static readonly ModelSignature Open = new([new TensorSpec("input", [-1, -1], "FP32")], [new TensorSpec("output", [-1, 3], "FP32")], []);

    /// <summary>What the route did before: a document (depth 64), then the instances read from its elements.</summary>
    static class DocumentReference
    {
        public static Tensor ParseInstances(JsonElement root, ModelSignature signature)
        {
            var spec = signature.Inputs[0];
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("instances", out var instancesElement)) root = instancesElement;
            if (root.ValueKind != JsonValueKind.Array)
                throw new InferenceRequestException($"The body must be a JSON array of instances (or {{\"instances\": [...]}}); found {Kind(root)}.");
            if (spec.Shape.Count < 1 || spec.Shape.Skip(1).Any(d => d < 1))
                throw new InferenceRequestException($"The model's input \"{spec.Name}\" has no fixed instance shape; use the v2 infer route.");
            long[] instanceShape = [.. spec.Shape.Skip(1)];
            long perInstance = instanceShape.Aggregate(1L, (a, b) => a * b);
            string expected = $"[{string.Join(", ", instanceShape)}] ({perInstance} values)";
            bool single = root.GetArrayLength() > 0 && root.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number);
            var instances = single ? [root] : root.EnumerateArray().ToList();
            if (instances.Count == 0) throw new InferenceRequestException($"The body holds no instances; each instance is {expected}.");
            if (instances.Count * perInstance > InferenceRequest.MaxElements)
                throw new InferenceRequestException($"{instances.Count} instances of {perInstance} values are more than {InferenceRequest.MaxElements} elements, the most one request may carry.");
            var data = new float[instances.Count * perInstance];
            for (int i = 0; i < instances.Count; i++)
            {
                string label = single ? "the instance" : $"instance {i}";
                if (instances[i].ValueKind != JsonValueKind.Array)
                    throw new InferenceRequestException($"{label} must be an array; found {Kind(instances[i])}.");
                var slice = new float[perInstance];
                int filled = 0;
                Flatten(instances[i], slice, ref filled, 0, label);
                if (filled != perInstance)
                    throw new InferenceRequestException($"{label} has {filled} values; the model's input \"{spec.Name}\" takes {expected} per instance.");
                slice.CopyTo(data, i * perInstance);
            }
            return Tensor.FromArray(data, [instances.Count, .. instanceShape]);
        }

        static void Flatten(JsonElement array, float[] data, ref int filled, int depth, string label)
        {
            if (depth > 32) throw new InferenceRequestException($"{label} is nested more than 32 levels deep.");
            foreach (var item in array.EnumerateArray())
            {
                if (item.ValueKind == JsonValueKind.Array)
                {
                    Flatten(item, data, ref filled, depth + 1, label);
                    continue;
                }
                if (filled == data.Length)
                    throw new InferenceRequestException($"{label} has more values than the {data.Length} expected.");
                if (item.ValueKind != JsonValueKind.Number || !item.TryGetSingle(out data[filled]) || !float.IsFinite(data[filled]))
                    throw new InferenceRequestException($"{label}[{filled}] must be a finite FP32 number; found {Kind(item)}.");
                filled++;
            }
        }

        static string Kind(JsonElement e) => e.ValueKind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number out of range",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            _ => "null",
        };
    }

    /// <summary>"tensor shape|bits" for a parsed body, "json: message" or "request: message" for a refused one.</summary>
    static string Outcome(Func<Tensor> parse)
    {
        try
        {
            var t = parse();
            return $"tensor [{string.Join(", ", t.Shape.ToArray())}] {string.Join(" ", t.ToArray<float>().Select(v => BitConverter.SingleToInt32Bits(v).ToString("x8", CultureInfo.InvariantCulture)))}";
        }
        catch (JsonException e)
        {
            return "json: " + e.Message;
        }
        catch (InferenceRequestException e)
        {
            return "request: " + e.Message;
        }
    }

    static string Before(byte[] body, ModelSignature signature) => Outcome(() =>
    {
        // The route parsed the stream with JsonDocument.ParseAsync at depth 64.
        using var document = JsonDocument.ParseAsync(new MemoryStream(body), new JsonDocumentOptions { MaxDepth = 64 }).GetAwaiter().GetResult();
        return DocumentReference.ParseInstances(document.RootElement, signature);
    });

    static string Now(byte[] body, ModelSignature signature) => Outcome(() => InferenceRequest.ParseInstances(body, signature));

    static void AssertSame(string json, ModelSignature signature)
    {
        var body = Encoding.UTF8.GetBytes(json);
        string before = Before(body, signature);
        Assert.Equal(before, Now(body, signature));
        // The element overload (kept for callers holding a document) reads the element's text the same way.
        if (!before.StartsWith("json:", StringComparison.Ordinal))
        {
            using var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
            Assert.Equal(before, Outcome(() => InferenceRequest.ParseInstances(document.RootElement, signature)));
        }
    }

    [Theory]
    [InlineData("[[1, 2, 3, 4], [5, 6, 7, 8]]")]
    [InlineData("[1, 2.5, -3e-2, 0]")]
    [InlineData("""{"instances": [[1, 2, 3, 4]]}""")]
    [InlineData("""{"a": [1, {"b": null}], "instances": [[[1, 2], [3, 4]]], "c": "x"}""")]
    [InlineData("""{"instances": [[9, 9, 9, 9]], "instances": [[1, 2, 3, 4], [0, 0, 0, 0]]}""")]   // the last one counts
    [InlineData("""{"\u0069nstances": [[1, 2, 3, 4]]}""")]
    [InlineData("""{"instances": 5}""")]
    [InlineData("""{"x": 1}""")]
    [InlineData("\"text\"")]
    [InlineData("null")]
    [InlineData("true")]
    [InlineData("[]")]
    [InlineData("[[]]")]
    [InlineData("[[1, 2, 3]]")]
    [InlineData("[[1, 2, 3, 4, 5]]")]
    [InlineData("[1, 2, 3]")]
    [InlineData("[[1, 2, \"a\", 4]]")]
    [InlineData("[[1, 2, null, 4]]")]
    [InlineData("[[1, 2, {}, 4]]")]
    [InlineData("[[1, 2, 3, 1e39]]")]
    [InlineData("[[1, 2, 3, -1e400]]")]
    [InlineData("[[1, 2, 3, 4], 5]")]
    [InlineData("[5, [1, 2, 3, 4]]")]
    [InlineData("[[1, 2, 3, 4], {\"x\": 1}]")]
    [InlineData("[[1, 2, 3, 4, 5, \"a\"]]")]
    [InlineData("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1, 2, 3, 4]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]")]
    [InlineData("  \r\n [[1,2,3,4]] \t ")]
    public void KnownBodies_GiveWhatTheDocumentGave(string json)
    {
        AssertSame(json, Flat);
        AssertSame(json, Image);
        AssertSame(json, Open);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("[[1, 2, 3, 4]")]
    [InlineData("[[1, 2, 3, 4]]]")]
    [InlineData("[[1, 2, 3, 4]] x")]
    [InlineData("[[1, 2, 3, 4],]")]
    [InlineData("[[1, 2, 3, 4]] [[1, 2, 3, 4]]")]
    [InlineData("{\"instances\": [[1, 2, 3, 4]]")]
    [InlineData("{\"instances\" [[1, 2, 3, 4]]}")]
    [InlineData("{instances: [[1, 2, 3, 4]]}")]
    [InlineData("[[1, 2, 3, 4]] // comment")]
    [InlineData("[[1, 2, 3, 04]]")]
    [InlineData("[[1, 2, 3, NaN]]")]
    [InlineData("[[1, 2, 3, .5]]")]
    [InlineData("{\"x\": \"bad \\q escape\", \"instances\": [[1, 2, 3, 4]]}")]
    [InlineData("{\"x\": [1, 2}, \"instances\": [[1, 2, 3, 4]]}")]
    public void MalformedBodies_FailWithTheDocumentParsersMessage(string json)
    {
        var body = Encoding.UTF8.GetBytes(json);
        string before = Before(body, Flat);
        Assert.StartsWith("json: ", before);
        Assert.Equal(before, Now(body, Flat));
    }

    [Fact]
    public void DeepNesting_IsMalformedAtTheSameDepth()
    {
        foreach (int depth in new[] { 33, 34, 63, 64, 65, 100 })
        {
            string json = new string('[', depth) + "1" + new string(']', depth);
            AssertSame(json, Flat);
            AssertSame($$"""{"other": {{json}}, "instances": [[1, 2, 3, 4]]}""", Flat);
        }
    }

    [Fact]
    public void RandomBodies_GiveWhatTheDocumentGave()
    {
        var random = new Random(2024);
        for (int trial = 0; trial < 600; trial++)
        {
            string json = RandomBody(random);
            var signature = (trial % 3) switch { 0 => Flat, 1 => Image, _ => Open };
            AssertSame(json, signature);
            // Cut short or with a byte changed it is usually malformed: the same message either way.
            var bytes = Encoding.UTF8.GetBytes(json);
            var cut = bytes.AsSpan(0, random.Next(bytes.Length)).ToArray();
            Assert.Equal(Before(cut, signature), Now(cut, signature));
            var changed = (byte[])bytes.Clone();
            const string Replacements = "[]{},:\"0-e. x";
            changed[random.Next(changed.Length)] = (byte)Replacements[random.Next(Replacements.Length)];
            Assert.Equal(Before(changed, signature), Now(changed, signature));
        }
    }

    /// <summary>Mostly well-formed bodies, some valid for a signature, some off by a value, a type or a level.</summary>
    static string RandomBody(Random random)
    {
        int instances = random.Next(0, 4);
        var items = new List<string>();
        for (int i = 0; i < instances; i++)
        {
            int values = random.Next(10) < 7 ? (random.Next(2) == 0 ? 4 : 6) : random.Next(0, 8);
            var numbers = Enumerable.Range(0, values).Select(_ => Value(random)).ToList();
            items.Add(random.Next(4) switch
            {
                0 when numbers.Count == 6 => $"[[{string.Join(", ", numbers.Take(3))}], [{string.Join(", ", numbers.Skip(3))}]]",
                1 when numbers.Count == 4 => $"[[{string.Join(", ", numbers.Take(2))}], {string.Join(", ", numbers.Skip(2))}]",
                _ => $"[{string.Join(", ", numbers)}]",
            });
            if (random.Next(20) == 0) items[^1] = Value(random);
        }
        string array = random.Next(6) == 0 && instances > 0 ? items[0] : $"[{string.Join(", ", items)}]";
        return random.Next(3) switch
        {
            0 => $$"""{"instances": {{array}}}""",
            1 when random.Next(2) == 0 => $$"""{"meta": {"k": [1, "x", null]}, "instances": {{array}}, "tail": true}""",
            _ => array,
        };
    }

    static string Value(Random random) => random.Next(12) switch
    {
        0 => "\"7\"",
        1 => "null",
        2 => "1e39",
        3 => "{}",
        4 => random.Next(-1000, 1000).ToString(CultureInfo.InvariantCulture),
        5 => (random.NextDouble() * 1e6).ToString("E9", CultureInfo.InvariantCulture),
        6 => ((random.Next(2) == 0 ? 1 : -1) * BitConverter.Int32BitsToSingle(random.Next() & 0x7F7FFFFF)).ToString("R", CultureInfo.InvariantCulture),
        _ => ((float)(random.NextDouble() - 0.5)).ToString("R", CultureInfo.InvariantCulture),
    };

    [Fact]
    public async Task OverHttp_PredictAnswersAndProblemsAreAsBefore()
    {
        using var env = RegistryBackend.Create("sqlite");
        using var registry = env.Open();
        var (model, history, x) = ModelRegistryTests.Trained();
        model.Eval();
        registry.Register("clf", model, history, new RegisterOptions { InputShape = [-1, 4], ClassNames = ModelRegistryTests.Classes });
        await using var host = await LoopbackHost.StartAsync(registry, new ServingOptions { AllowAnonymousInference = true });
        var signature = registry.Resolve("clf", "latest").Signature;

        async Task<(HttpStatusCode Status, JsonElement Body)> Post(string model, byte[] body)
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new("application/json");
            using var response = await host.Http.PostAsync($"/v1/models/{model}:predict", content);
            return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
        }

        // Valid bodies: the probabilities of the in-process forward pass, also after a UTF-8 byte order mark.
        var rows = x.ToArray<float>();
        string two = $"[[{string.Join(", ", rows[..4].Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}], [{string.Join(", ", rows[4..8].Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}]]";
        foreach (var body in new[] { Encoding.UTF8.GetBytes(two), [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(two)], Encoding.UTF8.GetBytes($$"""{"instances": {{two}}}""") })
        {
            var (status, answer) = await Post("clf", body);
            Assert.Equal(HttpStatusCode.OK, status);
            using (Tensor.NoGrad())
            {
                var logits = model.Forward(x[0..2]).ToArray<float>();
                var predictions = answer.GetProperty("predictions").EnumerateArray().ToList();
                Assert.Equal(2, predictions.Count);
                for (int r = 0; r < 2; r++)
                    Assert.Equal(ServingHost.Probabilities(logits.AsSpan(r * 3, 3)), predictions[r].GetProperty("probabilities").EnumerateArray().Select(v => v.GetSingle()).ToArray());
            }
        }

        // Bad requests: 400 with the document parser's message; malformed JSON before an unknown model (as before).
        foreach (var json in new[] { "[[1, 2, 3]]", "[]", """{"x": 1}""", "[[1, 2, \"a\", 4]]", "[[1, 2, 3, 4], 5]", "[[1, 2, 3, 4]", "", "[1, 2, 3, 4] x" })
        {
            var body = Encoding.UTF8.GetBytes(json);
            string before = Before(body, signature);
            var (status, problem) = await Post("clf", body);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            if (before.StartsWith("json: ", StringComparison.Ordinal))
            {
                Assert.Equal("Malformed JSON", problem.GetProperty("title").GetString());
                Assert.Equal($"The request body is not valid JSON: {before["json: ".Length..]}", problem.GetProperty("detail").GetString());
                Assert.Equal(HttpStatusCode.BadRequest, (await Post("nope", body)).Status);
            }
            else
            {
                Assert.Equal("Invalid inference request", problem.GetProperty("title").GetString());
                Assert.Equal(before["request: ".Length..], problem.GetProperty("detail").GetString());
                Assert.Equal(HttpStatusCode.NotFound, (await Post("nope", body)).Status);
            }
        }
    }
}

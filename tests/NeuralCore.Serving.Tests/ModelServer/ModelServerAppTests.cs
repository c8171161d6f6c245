using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using NeuralCore.Samples;
using NeuralCore.Serving.Registry;

namespace NeuralCore.Serving.Tests.ModelServer;

/// <summary>The ModelServer app's logic in this process: serving on a free loopback port, and the registry verbs.</summary>
public sealed partial class ModelServerAppTests : IDisposable
{
    readonly string directory = Directory.CreateTempSubdirectory("neuralcore-modelserver-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    static async Task<(int Code, string Output, string Error)> Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int code = await ModelServerApp.RunAsync(args, output, error, CancellationToken.None);
        return (code, output.ToString(), error.ToString());
    }

    [GeneratedRegex(@"Listening on (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningLine();

    /// <summary>Starts the server on an empty registry, waits (bounded) for it to listen, runs <paramref name="body"/>, stops it.</summary>
    internal static async Task WithServer(string registryDirectory, string[] extraArgs, Func<HttpClient, string, Task> body)
    {
        var output = new StringWriter();
        var synchronizedOutput = TextWriter.Synchronized(output);
        using var stop = new CancellationTokenSource();
        var server = Task.Run(() => ModelServerApp.RunAsync(
            ["--registry", registryDirectory, "--urls", "http://127.0.0.1:0", "--epochs", "1", .. extraArgs], synchronizedOutput, synchronizedOutput, stop.Token));
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        Match match;
        while (!(match = ListeningLine().Match(Snapshot())).Success)
        {
            Assert.False(server.IsCompleted, $"The server stopped: {Snapshot()}");
            Assert.True(DateTime.UtcNow < deadline, $"The server did not start within 3 minutes: {Snapshot()}");
            await Task.Delay(100);
        }
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(match.Groups[1].Value), Timeout = TimeSpan.FromSeconds(30) };
            await body(http, Snapshot());
        }
        finally
        {
            await stop.CancelAsync();
            Assert.Equal(0, await server.WaitAsync(TimeSpan.FromSeconds(30)));
        }

        string Snapshot()
        {
            lock (synchronizedOutput) return output.ToString();
        }
    }

    [Fact]
    public async Task EmptyRegistryTrainsRegistersAndServesTheSampleModel()
    {
        string registryDirectory = Path.Combine(directory, "registry");
        await WithServer(registryDirectory, ["--allow-anonymous-inference"], async (http, log) =>
        {
            Assert.Contains("The registry is empty: training the Fashion-MNIST MLP", log);
            Assert.Contains("Registered 'fashion-mlp' version 1 (alias 'production')", log);
            using var metadata = JsonDocument.Parse(await http.GetStringAsync("/v2/models/fashion-mlp/versions/production"));
            Assert.Equal("fashion-mlp", metadata.RootElement.GetProperty("name").GetString());
            Assert.Equal(10, metadata.RootElement.GetProperty("parameters").GetProperty("class_names").GetArrayLength());
            Assert.Equal([-1, 1, 28, 28], metadata.RootElement.GetProperty("inputs")[0].GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));

            string body = $$"""{"inputs": [{"name": "input", "shape": [1, 1, 28, 28], "datatype": "FP32", "data": [{{string.Join(",", Enumerable.Repeat("0.5", 784))}}]}]}""";
            using var response = await http.PostAsync("/v2/models/fashion-mlp/versions/production/infer", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var result = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var data = result.RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();

            using var registry = ModelRegistry.OpenSqlite(registryDirectory);
            var model = registry.Load("fashion-mlp", "production");
            using var noGrad = Tensor.NoGrad();
            Assert.Equal(model.Forward(Tensor.Full([1, 1, 28, 28], 0.5f)).ToArray<float>(), data);
        });

        // A second start finds the model and trains nothing; this time with micro-batching.
        await WithServer(registryDirectory, ["--allow-anonymous-inference", "--max-batch-size", "8"], async (http, log) =>
        {
            Assert.DoesNotContain("training", log);
            string instance = $"[{string.Join(",", Enumerable.Repeat("0.5", 784))}]";
            using var response = await http.PostAsync("/v1/models/fashion-mlp:predict", new StringContent(instance, System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var prediction = json.RootElement.GetProperty("predictions")[0];
            Assert.Contains(prediction.GetProperty("label").GetString(), NeuralCore.Vision.FashionMnist.ClassNames);
            Assert.Equal(1.0, prediction.GetProperty("probabilities").EnumerateArray().Sum(p => p.GetDouble()), 4);
        });
        var refused = await Run(["--max-batch-size", "-1", "--registry", registryDirectory]);
        Assert.Equal(1, refused.Code);
        Assert.Contains("--max-batch-size must be 0", refused.Error);
    }

    [Fact]
    public async Task Init_SeedsAnEmptyRegistryOnce_AndNoTrainServesAnEmptyRegistryAsItIs()
    {
        string empty = Path.Combine(directory, "empty");
        await WithServer(empty, ["--no-train", "--allow-anonymous-inference"], async (http, log) =>
        {
            Assert.DoesNotContain("training", log);
            Assert.Contains("0 model(s)", log);
            using var missing = await http.GetAsync("/v2/models/fashion-mlp/ready");
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        });

        var refused = await Run(["init", "--epochs", "0", "--registry", empty]);
        Assert.Equal(1, refused.Code);
        Assert.Contains("--epochs must be at least 1", refused.Error);

        string seeded = Path.Combine(directory, "seeded");
        var first = await Run(["init", "--epochs", "1", "--registry", seeded]);
        Assert.True(first.Code == 0, first.Error);
        Assert.Contains("Registered 'fashion-mlp' version 1 (alias 'production')", first.Output);
        var second = await Run(["init", "--registry", seeded]);
        Assert.Equal(0, second.Code);
        Assert.Contains("already holds 1 model(s): nothing to do", second.Output);
        using var registry = ModelRegistry.OpenSqlite(seeded);
        Assert.Equal(1, Assert.Single(registry.ListModels()).VersionCount);
    }

    [Fact]
    public async Task RegistryVerbsWorkAndRefuseWithOneLine()
    {
        string registryDirectory = Path.Combine(directory, "registry");
        using (var registry = ModelRegistry.OpenSqlite(registryDirectory))
        {
            var (model, history, _) = Registry.ModelRegistryTests.Trained();
            registry.Register("clf", model, history, new RegisterOptions { InputShape = [-1, 4], Aliases = ["production"] });
            model.Save(Path.Combine(directory, "clf.safetensors"));
        }
        string[] r = ["--registry", registryDirectory];

        var registered = await Run(["register", "clf", Path.Combine(directory, "clf.safetensors"), "--alias", "staging", "--parent", "1", .. r]);
        Assert.Equal(0, registered.Code);
        Assert.Contains("Registered 'clf' version 2", registered.Output);

        var list = await Run(["list", "clf", .. r]);
        Assert.Equal(0, list.Code);
        Assert.Contains("clf v1", list.Output);
        Assert.Contains("clf v2", list.Output);

        Assert.Equal(0, (await Run(["alias", "clf", "production", "2", .. r])).Code);
        Assert.Equal(0, (await Run(["tag", "clf", "1", "owner", "team-a", .. r])).Code);
        Assert.Equal(0, (await Run(["archive", "clf", "1", .. r])).Code);
        var show = await Run(["show", "clf", "1", .. r]);
        using (var json = JsonDocument.Parse(show.Output))
        {
            Assert.True(json.RootElement.GetProperty("archived").GetBoolean());
            Assert.Equal("team-a", json.RootElement.GetProperty("tags").GetProperty("owner").GetString());
            Assert.Equal(1, json.RootElement.GetProperty("version").GetInt32());
        }
        using (var registry = ModelRegistry.OpenSqlite(registryDirectory))
        {
            Assert.Equal(2, registry.Resolve("clf", "production").Version);
            Assert.Equal(1, registry.GetVersion("clf", 2).ParentVersion);
        }

        // Refusals: one line on the error writer, exit code 1 (command failed) or 2 (bad command line), no stack trace.
        var refusedDelete = await Run(["delete", "clf", "2", .. r]);
        Assert.Equal(1, refusedDelete.Code);
        Assert.Contains("alias", refusedDelete.Error);
        Assert.Single(refusedDelete.Error.Trim().Split('\n'));
        var unknown = await Run(["show", "nope", .. r]);
        Assert.Equal(1, unknown.Code);
        Assert.Contains("nope", unknown.Error);
        var badOption = await Run(["--bogus"]);
        Assert.Equal(2, badOption.Code);
        Assert.Single(badOption.Error.Trim().Split('\n'));
        Assert.DoesNotContain("   at ", badOption.Error);
        var badVersion = await Run(["alias", "clf", "x", "two", .. r]);
        Assert.Equal(1, badVersion.Code);
        Assert.Contains("'two' is not a version number", badVersion.Error);

        Assert.Equal(0, (await Run(["delete", "clf", "1", .. r])).Code);
        var verify = await Run(["verify", .. r]);
        Assert.Equal(0, verify.Code);
        Assert.Contains("1 of 1 version(s) verified", verify.Output);

        var help = await Run(["--help"]);
        Assert.Equal(0, help.Code);
        foreach (var verb in new[] { "register", "list", "show", "alias", "tag", "archive", "delete", "verify" })
            Assert.Contains(verb, help.Output);
    }

    [Fact]
    public async Task KeysCreate_PrintsTheKeyOnce_AndTheRegistryAcceptsIt()
    {
        string[] r = ["--registry", Path.Combine(directory, "registry")];
        var created = await Run(["keys", "create", "--name", "client", "--scopes", "infer:fashion-mlp,read", .. r]);
        Assert.Equal(0, created.Code);
        string key = created.Output.Split('\n', StringSplitOptions.TrimEntries).Single(l => l.StartsWith("nck_", StringComparison.Ordinal));
        using (var registry = ModelRegistry.OpenSqlite(Path.Combine(directory, "registry")))
        {
            var info = registry.FindApiKey(key);
            Assert.NotNull(info);
            Assert.Equal([new AccessScope(AccessVerb.Infer, "fashion-mlp"), new AccessScope(AccessVerb.Read, null)], info.Scopes);
        }
        var list = await Run(["keys", "list", .. r]);
        Assert.Contains("client  infer:fashion-mlp,read", list.Output);
        Assert.DoesNotContain(key, list.Output);

        var badScope = await Run(["keys", "create", "--name", "x", "--scopes", "write", .. r]);
        Assert.Equal(1, badScope.Code);
        Assert.Contains("'write' is not a scope", badScope.Error);
        var missing = await Run(["keys", "create", "--name", "x", .. r]);
        Assert.Equal(2, missing.Code);
        Assert.Contains("--scopes", missing.Error);

        Assert.Equal(0, (await Run(["keys", "revoke", "client", .. r])).Code);
        using (var registry = ModelRegistry.OpenSqlite(Path.Combine(directory, "registry")))
            Assert.Null(registry.FindApiKey(key));
    }
}

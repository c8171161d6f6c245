// ModelServer: serves a NeuralCore model registry over HTTP (Open Inference Protocol) and manages it from the
// command line. With no verb it serves; on an empty registry it first trains the Fashion-MNIST MLP and registers it
// as `fashion-mlp` with the alias `production`.
//
//   dotnet run --project samples/ModelServer -c Release -- [--urls URL[;URL]] [--registry DIR] [--database PG]
//   dotnet run --project samples/ModelServer -c Release -- list | show | register | alias | tag | archive | delete | verify ...
using System.CommandLine;
using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NeuralCore.Serving.Hosting;
using NeuralCore.Serving.Registry;
using NeuralCore.Training;
using NeuralCore.Vision;

namespace NeuralCore.Samples;

/// <summary>The ModelServer app; <c>Program.cs</c> calls <see cref="RunAsync"/>, and so do the tests.</summary>
public static class ModelServerApp
{
    /// <summary>The model registered on an empty registry.</summary>
    public const string SampleModelName = "fashion-mlp";

    /// <summary>The alias given to it.</summary>
    public const string SampleAlias = "production";

    /// <summary>
    /// The environment variable read when <c>--database</c> is not given (keeps the password off the command line,
    /// e.g. from a Kubernetes Secret).
    /// </summary>
    public const string DatabaseVariable = "NEURALCORE_REGISTRY_DATABASE";

    /// <summary>
    /// Parses <paramref name="args"/> and runs the command: serving (until <paramref name="cancellation"/> fires or
    /// the process is stopped) or one registry verb. Returns the exit code: 0 on success, 1 when the command failed
    /// (one line on <paramref name="error"/>), 2 for a bad command line (one line).
    /// </summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(args);
        var cli = new Cli(output, error);
        var parse = cli.Root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            error.WriteLine($"{parse.Errors[0].Message} (see --help)");
            return 2;
        }
        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false }, cancellation);
        }
        catch (Exception e) when (e is ArgumentException or KeyNotFoundException or InvalidOperationException or InvalidDataException
                                      or IOException or UnauthorizedAccessException or DbException or FormatException)
        {
            error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    sealed class Cli
    {
        readonly TextWriter output;
        readonly TextWriter error;

        readonly Option<string> registryDirectory = new("--registry")
        {
            Description = "registry folder (SQLite database and model files; with --database, the model files only)",
            DefaultValueFactory = _ => "registry",
            Recursive = true,
        };
        readonly Option<string?> database = new("--database")
        {
            Description = $"PostgreSQL connection string for the registry metadata (several hosts sharing one registry); default: the {DatabaseVariable} environment variable",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable(DatabaseVariable),
            Recursive = true,
        };

        // Recursive: the root command (serve) and `init` take them.
        readonly Option<int> epochs = new("--epochs") { Description = "training epochs when the registry is empty", DefaultValueFactory = _ => 5, Recursive = true };
        readonly Option<string> data = new("--data")
        {
            Description = "folder with the full Fashion-MNIST (else Debian's package, else the bundled subset)",
            DefaultValueFactory = _ => "data",
            Recursive = true,
        };

        public RootCommand Root { get; }

        public Cli(TextWriter output, TextWriter error)
        {
            this.output = output;
            this.error = error;
            Root = new RootCommand("Serves a NeuralCore model registry over HTTP (Open Inference Protocol) and manages it.");
            Root.Options.Add(registryDirectory);
            Root.Options.Add(database);
            AddServe();
            AddList();
            AddShow();
            AddRegister();
            AddAlias();
            AddTag();
            AddArchive();
            AddDelete();
            AddVerify();
            AddInit();
            AddKeys();
        }

        ModelRegistry OpenRegistry(ParseResult parse)
        {
            string directory = parse.GetValue(registryDirectory)!;
            string? connection = parse.GetValue(database);
            return string.IsNullOrEmpty(connection)
                ? ModelRegistry.OpenSqlite(directory)
                : ModelRegistry.OpenPostgres(connection, Path.Combine(directory, "blobs"));
        }

        static int ParseVersion(string text) =>
            int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0
                ? v : throw new ArgumentException($"'{text}' is not a version number (1, 2, 3...).");

        // ------------------------------------------------------------ serve (the root command)

        void AddServe()
        {
            var urls = new Option<string>("--urls")
            {
                Description = "where to listen, ';'-separated (port 0 picks a free port)",
                DefaultValueFactory = _ => "http://127.0.0.1:8080",
            };
            var noTrain = new Option<bool>("--no-train")
            {
                Description = "serve an empty registry as it is instead of training the sample model first (replicas of a cluster, seeded by `init`)",
            };
            Root.Options.Add(noTrain);
            var anonymous = new Option<bool>("--allow-anonymous-inference")
            {
                Description = "let callers without credentials run inference and read model metadata (management always needs a key)",
            };
            var jwtKeyFile = new Option<string?>("--jwt-key-file") { Description = "file holding the base64 HMAC-SHA256 key (32+ bytes) that signs accepted JWTs" };
            var jwtIssuer = new Option<string?>("--jwt-issuer") { Description = "the issuer JWTs must name" };
            var jwtAudience = new Option<string?>("--jwt-audience") { Description = "the audience JWTs must name" };
            var rateLimit = new Option<int>("--rate-limit") { Description = "requests per second per caller (0: no limit)", DefaultValueFactory = _ => 0 };
            Root.Options.Add(urls);
            Root.Options.Add(anonymous);
            Root.Options.Add(jwtKeyFile);
            Root.Options.Add(jwtIssuer);
            Root.Options.Add(jwtAudience);
            Root.Options.Add(rateLimit);
            var explainRateLimit = new Option<int>("--explain-rate-limit") { Description = "explain requests per second per caller, a limit of their own (0: no limit)", DefaultValueFactory = _ => 0 };
            Root.Options.Add(explainRateLimit);
            var batch = new Option<int>("--max-batch-size") { Description = "micro-batching: most rows per forward pass (0: no batching)", DefaultValueFactory = _ => 0 };
            var batchDelay = new Option<double>("--max-queue-delay-ms") { Description = "micro-batching: longest wait for a batch to fill (with --wait-full-delay)", DefaultValueFactory = _ => 1 };
            var fullDelay = new Option<bool>("--wait-full-delay") { Description = "micro-batching: every batch waits up to --max-queue-delay-ms instead of running when the queue is empty" };
            var concurrency = new Option<int?>("--max-concurrency") { Description = "most forward passes at once per model version without batching" };
            var timeout = new Option<double>("--request-timeout-s") { Description = "longest an inference may take before 503", DefaultValueFactory = _ => 30 };
            Root.Options.Add(batch);
            Root.Options.Add(batchDelay);
            Root.Options.Add(fullDelay);
            Root.Options.Add(concurrency);
            Root.Options.Add(timeout);
            var refresh = new Option<double>("--registry-refresh-ms")
            {
                Description = "longest a resolved alias is reused when the registry sends no change notifications (SQLite, or PostgreSQL reconnecting)",
                DefaultValueFactory = _ => ServingOptions.DefaultRegistryRefreshInterval.TotalMilliseconds,
            };
            Root.Options.Add(refresh);
            Root.Options.Add(epochs);
            Root.Options.Add(data);
            Root.SetAction(async (parse, cancellation) =>
            {
                int epochCount = Epochs(parse);
                int rate = parse.GetValue(rateLimit);
                if (rate < 0) throw new ArgumentException($"--rate-limit must be 0 (none) or positive, not {rate}.");
                int explainRate = parse.GetValue(explainRateLimit);
                if (explainRate < 0) throw new ArgumentException($"--explain-rate-limit must be 0 (none) or positive, not {explainRate}.");
                JwtOptions? jwt = null;
                if (parse.GetValue(jwtKeyFile) is string keyFile)
                {
                    byte[] key;
                    try
                    {
                        key = Convert.FromBase64String(File.ReadAllText(keyFile).Trim());
                    }
                    catch (FormatException)
                    {
                        throw new ArgumentException($"--jwt-key-file {keyFile}: the file does not hold a base64 key.");
                    }
                    jwt = new JwtOptions { SigningKey = key, Issuer = parse.GetValue(jwtIssuer), Audience = parse.GetValue(jwtAudience) };
                }
                using var registry = OpenRegistry(parse);
                if (registry.ListModels().Count == 0 && !parse.GetValue(noTrain))
                    TrainAndRegister(registry, parse.GetValue(data)!, epochCount);
                double refreshMs = parse.GetValue(refresh);
                if (!(refreshMs >= 0 && refreshMs <= 3_600_000))
                    throw new ArgumentException($"--registry-refresh-ms must be 0 to 3600000, not {refreshMs}.");
                if (parse.GetValue(batch) < 0) throw new ArgumentException($"--max-batch-size must be 0 (no batching) or positive, not {parse.GetValue(batch)}.");
                var options = new ServingOptions
                {
                    Urls = parse.GetValue(urls)!.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                    AllowAnonymousInference = parse.GetValue(anonymous),
                    Jwt = jwt,
                    RateLimit = rate > 0 ? new RateLimitOptions { RequestsPerSecond = rate } : null,
                    ExplainRateLimit = explainRate > 0 ? new RateLimitOptions { RequestsPerSecond = explainRate } : null,
                    Batching = parse.GetValue(batch) is int size and > 0
                        ? new BatchingOptions { MaxBatchSize = size, MaxQueueDelay = TimeSpan.FromMilliseconds(parse.GetValue(batchDelay)), DispatchWhenIdle = !parse.GetValue(fullDelay) }
                        : null,
                    MaxConcurrencyPerModel = parse.GetValue(concurrency),
                    RequestTimeout = TimeSpan.FromSeconds(parse.GetValue(timeout)),
                    RegistryRefreshInterval = TimeSpan.FromMilliseconds(refreshMs),
                };
                await using var app = ServingHost.Create(registry, options);
                await app.StartAsync(cancellation);
                foreach (var address in app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses)
                    output.WriteLine($"Listening on {address} (web console: {address.TrimEnd('/')}{WebConsole.BasePath}/)");
                output.WriteLine($"Registry: {registry.DatabaseKind}, {registry.ListModels().Count} model(s). Ctrl+C stops.");
                output.Flush();
                try
                {
                    await app.WaitForShutdownAsync(cancellation);
                }
                catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
                {
                }
                await app.StopAsync(CancellationToken.None);
                return 0;
            });
        }

        int Epochs(ParseResult parse) =>
            parse.GetValue(epochs) is int n and >= 1 ? n : throw new ArgumentException($"--epochs must be at least 1, not {parse.GetValue(epochs)}.");

        void AddInit()
        {
            var command = new Command("init", "Train the Fashion-MNIST MLP and register it as fashion-mlp (alias production) when the registry is empty; then exit.");
            command.SetAction(parse =>
            {
                int epochCount = Epochs(parse);
                using var registry = OpenRegistry(parse);
                if (registry.ListModels().Count > 0)
                    output.WriteLine($"The registry already holds {registry.ListModels().Count} model(s): nothing to do.");
                else
                    TrainAndRegister(registry, parse.GetValue(data)!, epochCount);
                return 0;
            });
            Root.Subcommands.Add(command);
        }

        void TrainAndRegister(ModelRegistry registry, string dataDirectory, int epochs)
        {
            output.WriteLine($"The registry is empty: training the Fashion-MNIST MLP ({epochs} epochs) to register it as '{SampleModelName}'.");
            Rng.ManualSeed(42);
            var (train, test, source) = FashionMnistSample.LoadData(dataDirectory, subset: false, download: false, output.WriteLine);
            output.WriteLine($"Data: {source}: {train.Count:N0} training and {test.Count:N0} test images.");
            var model = FashionMnistSample.Mlp();
            model.Compile(optimizer: "adam", loss: "categorical_crossentropy", metrics: ["accuracy"]);
            History history = model.Fit(train, epochs: epochs, batchSize: 64, verbose: 0);
            double accuracy = model.Evaluate(test)["accuracy"];
            var version = registry.Register(SampleModelName, model, history, new RegisterOptions
            {
                Description = "Fashion-MNIST MLP (Dense 64 relu, Dense 32 relu, Dense 10), the ModelServer sample",
                InputShape = [-1, 1, 28, 28],
                ClassNames = [.. FashionMnist.ClassNames],
                Dataset = source,
                Aliases = [SampleAlias],
                Metrics = new Dictionary<string, double> { ["test_accuracy"] = accuracy },
            });
            output.WriteLine($"Registered '{version.Name}' version {version.Version} (alias '{SampleAlias}'), test accuracy {accuracy:P2}.");
        }

        // ------------------------------------------------------------ registry verbs

        void AddList()
        {
            var name = new Argument<string?>("name") { Description = "a model: list its versions (else list the models)", Arity = ArgumentArity.ZeroOrOne };
            var command = new Command("list", "List the models, or one model's versions.") { name };
            command.SetAction(parse =>
            {
                using var registry = OpenRegistry(parse);
                if (parse.GetValue(name) is string model)
                {
                    foreach (var v in registry.ListVersions(model))
                        output.WriteLine($"{v.Name} v{v.Version}  {v.CreatedUtc:u}  {(v.Archived ? "archived  " : "")}aliases: {string.Join(",", v.Aliases)}  sha256 {v.Sha256[..12]}");
                }
                else
                {
                    foreach (var m in registry.ListModels())
                        output.WriteLine($"{m.Name}  versions: {m.VersionCount}  latest: {m.LatestVersion?.ToString(CultureInfo.InvariantCulture) ?? "-"}  {m.Description}");
                }
                return 0;
            });
            Root.Subcommands.Add(command);
        }

        void AddShow()
        {
            var name = new Argument<string>("name") { Description = "the model" };
            var reference = new Argument<string>("version") { Description = "a version number, an alias or latest", DefaultValueFactory = _ => "latest" };
            var command = new Command("show", "Show one version's record as JSON.") { name, reference };
            command.SetAction(parse =>
            {
                using var registry = OpenRegistry(parse);
                var v = registry.Resolve(parse.GetValue(name)!, parse.GetValue(reference)!);
                output.WriteLine(JsonSerializer.Serialize(v, ModelServerJson.Default.ModelVersionInfo));
                return 0;
            });
            Root.Subcommands.Add(command);
        }

        void AddRegister()
        {
            var name = new Argument<string>("name") { Description = "the model" };
            var file = new Argument<string>("file") { Description = "a model file written by Module.Save, or an ONNX model" };
            var aliases = new Option<string[]>("--alias") { Description = "an alias to point at the new version (repeatable)", AllowMultipleArgumentsPerToken = false };
            var description = new Option<string?>("--description") { Description = "the version's description" };
            var parent = new Option<int?>("--parent") { Description = "the version it was derived from" };
            var dataset = new Option<string?>("--dataset") { Description = "the data set it was trained on" };
            var command = new Command("register", "Register a saved model file as the model's next version.") { name, file, aliases, description, parent, dataset };
            command.SetAction(parse =>
            {
                using var registry = OpenRegistry(parse);
                var v = registry.RegisterFile(parse.GetValue(name)!, parse.GetValue(file)!, new RegisterOptions
                {
                    Description = parse.GetValue(description),
                    Aliases = parse.GetValue(aliases),
                    ParentVersion = parse.GetValue(parent),
                    Dataset = parse.GetValue(dataset),
                });
                output.WriteLine($"Registered '{v.Name}' version {v.Version} (sha256 {v.Sha256}).");
                return 0;
            });
            Root.Subcommands.Add(command);
        }

        void AddAlias()
        {
            var name = new Argument<string>("name") { Description = "the model" };
            var alias = new Argument<string>("alias") { Description = "the alias (production, staging, ...)" };
            var version = new Argument<string?>("version") { Description = "the version to point it at", Arity = ArgumentArity.ZeroOrOne };
            var remove = new Option<bool>("--remove") { Description = "remove the alias instead" };
            var command = new Command("alias", "Point an alias at a version (moving it), or remove it.") { name, alias, version, remove };
            command.SetAction(parse =>
            {
                using var registry = OpenRegistry(parse);
                string model = parse.GetValue(name)!, a = parse.GetValue(alias)!;
                if (parse.GetValue(remove))
                {
                    output.WriteLine(registry.RemoveAlias(model, a) ? $"Removed alias '{a}' of '{model}'." : $"'{model}' has no alias '{a}'.");
                    return 0;
                }
                string text = parse.GetValue(version) ?? throw new ArgumentException("alias needs a version (or --remove).");
                int v = ParseVersion(text);
                registry.SetAlias(model, a, v);
                output.WriteLine($"'{model}' alias '{a}' -> version {v}.");
                return 0;
            });
            Root.Subcommands.Add(command);
        }

        void AddTag()
        {
            var name = new Argument<string>("name") { Description = "the model" };
            var version = new Argument<string>("version") { Description = "the version number" };
            var key = new Argument<string>("key") { Description = "the tag's key" };
            var value = new Argument<string?>("value") { Description = "the tag's value", Arity = ArgumentArity.ZeroOrOne };
            var remove = new Option<bool>("--remove") { Description = "remove the tag instead" };
            var command = new Command("tag", "Set (or remove) a key/value tag on a version.") { name, version, key, value, remove };
            command.SetAction(parse =>
            {
                using var registry = OpenRegistry(parse);
                string model = parse.GetValue(name)!, k = parse.GetValue(key)!;
                int v = ParseVersion(parse.GetValue(version)!);
                if (parse.GetValue(remove))
                {
                    output.WriteLine(registry.RemoveTag(model, v, k) ? $"Removed tag '{k}' of '{model}' version {v}." : $"'{model}' version {v} has no tag '{k}'.");
                    return 0;
                }
                string text = parse.GetValue(value) ?? throw new ArgumentException("tag needs a value (or --remove).");
                registry.SetTag(model, v, k, text);
                output.WriteLine($"'{model}' version {v}: {k} = {text}");
                return 0;
            });
            Root.Subcommands.Add(command);
        }

        void AddArchive()
        {
            var name = new Argument<string>("name") { Description = "the model" };
            var version = new Argument<string>("version") { Description = "the version number" };
            var undo = new Option<bool>("--undo") { Description = "unarchive instead" };
            var command = new Command("archive", "Archive a version (latest skips it; it stays loadable by number).") { name, version, undo };
            command.SetAction(parse =>
            {
                using var registry = OpenRegistry(parse);
                string model = parse.GetValue(name)!;
                int v = ParseVersion(parse.GetValue(version)!);
                if (parse.GetValue(undo)) registry.Unarchive(model, v);
                else registry.Archive(model, v);
                output.WriteLine($"'{model}' version {v} {(parse.GetValue(undo) ? "unarchived" : "archived")}.");
                return 0;
            });
            Root.Subcommands.Add(command);
        }

        void AddDelete()
        {
            var name = new Argument<string>("name") { Description = "the model" };
            var version = new Argument<string>("version") { Description = "the version number" };
            var command = new Command("delete", "Delete a version (refused while an alias points at it).") { name, version };
            command.SetAction(parse =>
            {
                using var registry = OpenRegistry(parse);
                string model = parse.GetValue(name)!;
                int v = ParseVersion(parse.GetValue(version)!);
                registry.Delete(model, v);
                output.WriteLine($"Deleted '{model}' version {v}.");
                return 0;
            });
            Root.Subcommands.Add(command);
        }

        void AddVerify()
        {
            var name = new Argument<string?>("name") { Description = "a model (else every model)", Arity = ArgumentArity.ZeroOrOne };
            var command = new Command("verify", "Load every version as the server would and report each; exit code 1 when one fails.") { name };
            command.SetAction(parse =>
            {
                using var registry = OpenRegistry(parse);
                var results = registry.Verify(parse.GetValue(name));
                foreach (var r in results)
                    (r.Ok ? output : error).WriteLine(r.Ok ? $"{r.Name} v{r.Version}: ok" : $"{r.Name} v{r.Version}: FAILED: {r.Error}");
                output.WriteLine($"{results.Count(r => r.Ok)} of {results.Count} version(s) verified.");
                return results.All(r => r.Ok) ? 0 : 1;
            });
            Root.Subcommands.Add(command);
        }

        void AddKeys()
        {
            var keys = new Command("keys", "Create, list and revoke API keys (stored hashed in the registry database).");
            var name = new Option<string>("--name") { Description = "the key's name", Required = true };
            var scopes = new Option<string>("--scopes")
            {
                Description = "comma-separated scopes: infer, read or manage, each optionally :model-name (e.g. infer:fashion-mlp,read)",
                Required = true,
            };
            var days = new Option<int?>("--expires-days") { Description = "days until the key stops working (default: never)" };
            var create = new Command("create", "Create a key; it is printed once and cannot be shown again.") { name, scopes, days };
            create.SetAction(parse =>
            {
                var scopeList = AccessScope.ParseList(parse.GetValue(scopes)!);
                int? d = parse.GetValue(days);
                if (d is < 1) throw new ArgumentException($"--expires-days must be at least 1, not {d}.");
                using var registry = OpenRegistry(parse);
                var created = registry.CreateApiKey(parse.GetValue(name)!, scopeList, d is int n ? DateTimeOffset.UtcNow.AddDays(n) : null);
                output.WriteLine($"Created API key '{created.Info.Name}' with scopes {string.Join(",", created.Info.Scopes)}. It is shown this once:");
                output.WriteLine(created.Key);
                return 0;
            });
            var list = new Command("list", "List the keys (names, scopes, dates; never the keys).");
            list.SetAction(parse =>
            {
                using var registry = OpenRegistry(parse);
                foreach (var k in registry.ListApiKeys())
                    output.WriteLine($"{k.Name}  {string.Join(",", k.Scopes)}  created {k.CreatedUtc:u}  " +
                                     $"{(k.Revoked ? "revoked" : k.ExpiresUtc is { } e ? $"expires {e:u}" : "no expiry")}");
                return 0;
            });
            var revokeName = new Argument<string>("name") { Description = "the key's name" };
            var revoke = new Command("revoke", "Revoke a key (hosts stop accepting it within 10 seconds).") { revokeName };
            revoke.SetAction(parse =>
            {
                using var registry = OpenRegistry(parse);
                string n = parse.GetValue(revokeName)!;
                if (!registry.RevokeApiKey(n)) throw new ArgumentException($"There is no API key named '{n}'.");
                output.WriteLine($"Revoked API key '{n}'.");
                return 0;
            });
            keys.Subcommands.Add(create);
            keys.Subcommands.Add(list);
            keys.Subcommands.Add(revoke);
            Root.Subcommands.Add(keys);
        }
    }
}

/// <summary>JSON for <c>show</c> (source-generated, indented).</summary>
[System.Text.Json.Serialization.JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(ModelVersionInfo))]
internal sealed partial class ModelServerJson : System.Text.Json.Serialization.JsonSerializerContext;

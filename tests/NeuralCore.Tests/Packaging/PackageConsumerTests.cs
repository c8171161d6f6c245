using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Xml.Linq;

namespace NeuralCore.Tests.Packaging;

/// <summary>
/// End-to-end packaging test: packs NeuralCore and NeuralCore.Testing into a local feed, checks the
/// package contents, then restores, builds and runs a throwaway console app that consumes the
/// NeuralCore package (not a project reference) and checks its autograd output.
/// </summary>
/// <remarks>
/// Everything is written to a unique folder under <see cref="Path.GetTempPath"/>: the pack builds
/// into its own artifacts folder (so the repository's bin/obj folders are never touched while the
/// test run is using them) and the consumer restores into its own NUGET_PACKAGES folder (so a stale
/// cached NeuralCore can never be picked up).
/// </remarks>
public sealed class PackageConsumerTests
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(5);

    private static readonly float[] X = [1f, 2f, 3f];
    private static readonly float[] W = [0.5f, -0.25f, 0.1f];

    [Fact]
    [Trait("Category", "Packaging")]
    public void PackedNeuralCore_CanBeConsumedFromALocalFeed()
    {
        var repoRoot = FindRepoRoot();
        var version = "0.0.0-consumertest." + DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture);
        var tempRoot = Path.Combine(Path.GetTempPath(), "neuralcore-consumertest-" + Guid.NewGuid().ToString("N"));
        var feed = Path.Combine(tempRoot, "feed");
        var artifacts = Path.Combine(tempRoot, "artifacts");
        var consumerDir = Path.Combine(tempRoot, "consumer");
        var consumerPackages = Path.Combine(tempRoot, "nuget-packages");
        Directory.CreateDirectory(feed);
        Directory.CreateDirectory(artifacts);
        Directory.CreateDirectory(consumerDir);
        Directory.CreateDirectory(consumerPackages);

        try
        {
            // (b) Pack both packable projects into the local feed.
            foreach (var project in new[] { "src/NeuralCore/NeuralCore.csproj", "src/NeuralCore.Testing/NeuralCore.Testing.csproj" })
            {
                RunDotnet(
                    repoRoot,
                    [
                        "pack", Path.Combine(repoRoot, project),
                        "-c", "Release",
                        "-o", feed,
                        "--artifacts-path", artifacts,
                        "--disable-build-servers",
                        "-p:Version=" + version,
                        "-p:ContinuousIntegrationBuild=false",
                    ],
                    extraEnvironment: null);
            }

            // (c) Check the packages.
            var corePackage = Path.Combine(feed, $"NeuralCore.{version}.nupkg");
            var testingPackage = Path.Combine(feed, $"NeuralCore.Testing.{version}.nupkg");
            var feedListing = string.Join(", ", Directory.GetFiles(feed).Select(Path.GetFileName));
            Assert.True(File.Exists(corePackage), $"Missing {corePackage}. Feed contains: {feedListing}");
            Assert.True(File.Exists(testingPackage), $"Missing {testingPackage}. Feed contains: {feedListing}");

            AssertCorePackageContents(corePackage, version);
            AssertTestingPackageDependsOnCore(testingPackage, version);

            // (d) Throwaway consumer project that references the packed NeuralCore.
            WriteConsumerProject(consumerDir, feed, version);

            var output = RunDotnet(
                consumerDir,
                ["run", "-c", "Release", "--disable-build-servers"],
                extraEnvironment: new Dictionary<string, string> { ["NUGET_PACKAGES"] = consumerPackages });

            var lastLine = output.StdOut
                .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .LastOrDefault();
            Assert.False(string.IsNullOrEmpty(lastLine), "The consumer printed nothing.\n" + output.Describe());

            var parts = lastLine!.Split(',');
            Assert.True(parts.Length == X.Length, $"Expected {X.Length} gradient values, got '{lastLine}'.\n{output.Describe()}");
            for (var i = 0; i < X.Length; i++)
            {
                Assert.True(
                    double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out var actual),
                    $"Could not parse gradient '{parts[i]}' in '{lastLine}'.\n{output.Describe()}");
                var th = Math.Tanh((double)X[i] * W[i]);
                var expected = X[i] * (1 - (th * th));
                Assert.True(
                    Math.Abs(actual - expected) <= 1e-5,
                    $"Gradient {i}: expected {expected:F6}, got {actual:F6} (line '{lastLine}').\n{output.Describe()}");
            }
        }
        finally
        {
            TryDeleteDirectory(tempRoot);
        }
    }

    private static void AssertCorePackageContents(string packagePath, string version)
    {
        using var zip = ZipFile.OpenRead(packagePath);
        var names = zip.Entries.Select(e => e.FullName.Replace('\\', '/')).ToList();
        var listing = string.Join("\n  ", names);

        Assert.Contains("lib/net10.0/NeuralCore.dll", names);
        Assert.Contains("README.md", names);

        var nuspecEntry = zip.Entries.SingleOrDefault(e => !e.FullName.Contains('/') && e.FullName.EndsWith(".nuspec", StringComparison.OrdinalIgnoreCase));
        Assert.True(nuspecEntry is not null, "No .nuspec at the package root. Entries:\n  " + listing);

        var metadata = ReadNuspecMetadata(nuspecEntry!);
        var nuspecText = metadata.ToString();
        Assert.Equal("NeuralCore", Child(metadata, "id")?.Value);
        Assert.Equal(version, Child(metadata, "version")?.Value);
        Assert.False(string.IsNullOrWhiteSpace(Child(metadata, "description")?.Value), "Empty description in nuspec:\n" + nuspecText);

        var license = Child(metadata, "license");
        Assert.True(license is not null, "No <license> in nuspec:\n" + nuspecText);
        Assert.Equal("expression", license!.Attribute("type")?.Value);
        Assert.Equal("MIT", license.Value.Trim());

        Assert.Equal("README.md", Child(metadata, "readme")?.Value);
    }

    private static void AssertTestingPackageDependsOnCore(string packagePath, string version)
    {
        using var zip = ZipFile.OpenRead(packagePath);
        var nuspecEntry = zip.Entries.SingleOrDefault(e => !e.FullName.Contains('/') && e.FullName.EndsWith(".nuspec", StringComparison.OrdinalIgnoreCase));
        Assert.True(nuspecEntry is not null, "No .nuspec in " + packagePath);

        var metadata = ReadNuspecMetadata(nuspecEntry!);
        Assert.Equal("NeuralCore.Testing", Child(metadata, "id")?.Value);
        var dependsOnCore = metadata
            .Descendants()
            .Where(e => e.Name.LocalName == "dependency")
            .Any(e => e.Attribute("id")?.Value == "NeuralCore" && (e.Attribute("version")?.Value ?? string.Empty).Contains(version, StringComparison.Ordinal));
        Assert.True(dependsOnCore, "NeuralCore.Testing does not depend on NeuralCore " + version + ":\n" + metadata);
    }

    private static XElement ReadNuspecMetadata(ZipArchiveEntry nuspecEntry)
    {
        using var stream = nuspecEntry.Open();
        var doc = XDocument.Load(stream);
        var metadata = doc.Root?.Elements().FirstOrDefault(e => e.Name.LocalName == "metadata");
        Assert.True(metadata is not null, "No <metadata> in nuspec:\n" + doc);
        return metadata!;
    }

    private static XElement? Child(XElement parent, string localName) =>
        parent.Elements().FirstOrDefault(e => e.Name.LocalName == localName);

    private static void WriteConsumerProject(string consumerDir, string feed, string version)
    {
        // Empty MSBuild/central-package files so nothing from any parent folder is inherited.
        File.WriteAllText(Path.Combine(consumerDir, "Directory.Build.props"), "<Project />\n");
        File.WriteAllText(Path.Combine(consumerDir, "Directory.Build.targets"), "<Project />\n");
        File.WriteAllText(Path.Combine(consumerDir, "Directory.Packages.props"), "<Project />\n");

        File.WriteAllText(
            Path.Combine(consumerDir, "Consumer.csproj"),
            $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally>
                <NuGetAudit>false</NuGetAudit>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="NeuralCore" Version="[{version}]" />
              </ItemGroup>
            </Project>

            """);

        // Adds the local feed to the machine's sources (no <clear/>), so dependencies such as
        // System.Numerics.Tensors still restore. The machine's global packages folder, when it
        // exists, is added as a local source too, so those dependencies need no download.
        var sources = new StringBuilder();
        sources.AppendLine($"""    <add key="neuralcore-consumertest-feed" value="{SecurityElementEscape(feed)}" />""");
        var machinePackages = MachineGlobalPackagesFolder();
        if (machinePackages is not null)
        {
            sources.AppendLine($"""    <add key="neuralcore-consumertest-machine-cache" value="{SecurityElementEscape(machinePackages)}" />""");
        }

        File.WriteAllText(
            Path.Combine(consumerDir, "nuget.config"),
            $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
            {sources}  </packageSources>
            </configuration>

            """);

        File.WriteAllText(
            Path.Combine(consumerDir, "Program.cs"),
            """
            using NeuralCore;

            var x = Tensor.FromArray(new float[] { 1, 2, 3 }, 3);
            var w = Tensor.FromArray(new float[] { 0.5f, -0.25f, 0.1f }, 3).RequiresGrad_();
            var y = (x * w).Tanh().Sum();
            y.Backward();
            Console.WriteLine(string.Join(",", w.Grad!.ToArray<float>().Select(v => v.ToString("F5", System.Globalization.CultureInfo.InvariantCulture))));

            """);
    }

    private static string? MachineGlobalPackagesFolder()
    {
        var fromEnv = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        if (!string.IsNullOrEmpty(fromEnv) && Directory.Exists(fromEnv))
        {
            return Path.GetFullPath(fromEnv);
        }

        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (string.IsNullOrEmpty(home))
        {
            return null;
        }

        var folder = Path.Combine(home, ".nuget", "packages");
        return Directory.Exists(folder) ? folder : null;
    }

    private static string SecurityElementEscape(string value) =>
        value.Replace("&", "&amp;", StringComparison.Ordinal)
             .Replace("\"", "&quot;", StringComparison.Ordinal)
             .Replace("<", "&lt;", StringComparison.Ordinal)
             .Replace(">", "&gt;", StringComparison.Ordinal);

    // The test project records its source folder at build time (AssemblyMetadata "RepositoryRoot"), so the
    // root is found even when build outputs live outside the repository (dotnet --artifacts-path).
    private static string FindRepoRoot()
    {
        var recorded = typeof(PackageConsumerTests).Assembly
            .GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .OfType<System.Reflection.AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "RepositoryRoot")?.Value;
        if (recorded is not null && File.Exists(Path.Combine(recorded, "NeuralCore.sln")))
        {
            return Path.GetFullPath(recorded);
        }

        Assert.Fail("Could not find the repository root (a folder containing NeuralCore.sln); recorded: " + recorded);
        return string.Empty; // unreachable
    }

    private static string DotnetExecutable()
    {
        var hostPath = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(hostPath) && File.Exists(hostPath))
        {
            return hostPath;
        }

        var processPath = Environment.ProcessPath;
        if (!string.IsNullOrEmpty(processPath)
            && string.Equals(Path.GetFileNameWithoutExtension(processPath), "dotnet", StringComparison.OrdinalIgnoreCase))
        {
            return processPath;
        }

        return "dotnet";
    }

    private static CommandOutput RunDotnet(string workingDirectory, string[] arguments, IReadOnlyDictionary<string, string>? extraEnvironment)
    {
        var psi = new ProcessStartInfo(DotnetExecutable())
        {
            WorkingDirectory = workingDirectory,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in arguments)
        {
            psi.ArgumentList.Add(argument);
        }

        // The test host inherits MSBuild/VSTest variables from `dotnet test`; they must not leak
        // into a separate dotnet invocation.
        foreach (var name in psi.Environment.Keys.ToList())
        {
            if (name.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)
                || name.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)
                || name.StartsWith("TESTINGPLATFORM", StringComparison.OrdinalIgnoreCase))
            {
                psi.Environment.Remove(name);
            }
        }

        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        psi.Environment["DOTNET_CLI_UI_LANGUAGE"] = "en";
        psi.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        psi.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        psi.Environment["UseSharedCompilation"] = "false";
        if (extraEnvironment is not null)
        {
            foreach (var (key, value) in extraEnvironment)
            {
                psi.Environment[key] = value;
            }
        }

        var commandLine = "dotnet " + string.Join(" ", arguments.Select(a => a.Contains(' ', StringComparison.Ordinal) ? "\"" + a + "\"" : a));
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        using var stdoutClosed = new ManualResetEventSlim(false);
        using var stderrClosed = new ManualResetEventSlim(false);

        using var process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                stdoutClosed.Set();
                return;
            }

            lock (stdout)
            {
                stdout.AppendLine(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                stderrClosed.Set();
                return;
            }

            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
        };

        var stopwatch = Stopwatch.StartNew();
        if (!process.Start())
        {
            Assert.Fail("Could not start: " + commandLine);
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var exited = process.WaitForExit(CommandTimeout);
        if (!exited)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Already exited.
            }

            process.WaitForExit(TimeSpan.FromSeconds(30));
        }

        // Wait (bounded) for the output pipes to drain; a stray grandchild holding them open must not hang the test.
        stdoutClosed.Wait(TimeSpan.FromSeconds(30));
        stderrClosed.Wait(TimeSpan.FromSeconds(30));

        CommandOutput result;
        lock (stdout)
        {
            lock (stderr)
            {
                result = new CommandOutput(
                    commandLine,
                    workingDirectory,
                    exited ? process.ExitCode : null,
                    stopwatch.Elapsed,
                    stdout.ToString(),
                    stderr.ToString());
            }
        }

        if (!exited)
        {
            Assert.Fail($"Timed out after {CommandTimeout.TotalMinutes} minutes; the process tree was killed.\n{result.Describe()}");
        }

        Assert.True(result.ExitCode == 0, $"Command failed with exit code {result.ExitCode}.\n{result.Describe()}");
        return result;
    }

    private static void TryDeleteDirectory(string path)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                if (Directory.Exists(path))
                {
                    Directory.Delete(path, recursive: true);
                }

                return;
            }
            catch (IOException)
            {
                Thread.Sleep(500);
            }
            catch (UnauthorizedAccessException)
            {
                Thread.Sleep(500);
            }
        }
    }

    private sealed record CommandOutput(
        string CommandLine,
        string WorkingDirectory,
        int? ExitCode,
        TimeSpan Elapsed,
        string StdOut,
        string StdErr)
    {
        public string Describe() =>
            $"""
            Command: {CommandLine}
            Working directory: {WorkingDirectory}
            Exit code: {(ExitCode is { } code ? code.ToString(CultureInfo.InvariantCulture) : "(none: timed out)")}
            Elapsed: {Elapsed.TotalSeconds:F1}s
            --- stdout ---
            {StdOut}
            --- stderr ---
            {StdErr}
            """;
    }
}

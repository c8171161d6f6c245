using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using NeuralCore.Nn;
using NeuralCore.Serialization;
using Xunit.Abstractions;

namespace NeuralCore.Serving.Tests.Cluster;

/// <summary>
/// Runs <c>tools/cluster-load.sh short</c>: the local cluster (PostgreSQL registry, two ModelServer replicas, nginx)
/// on loopback, wrk through nginx, one replica killed with SIGKILL mid-run and restarted. Asserts zero failed client
/// requests during the failure, the restarted replica back in rotation, recovered throughput, and no process left
/// behind. Skipped, with the reason, where nginx, wrk, curl or PostgreSQL 15 are not installed (.ci/run installs them).
/// </summary>
public sealed class ClusterLoadTests(ITestOutputHelper log) : IDisposable
{
    readonly string work = Directory.CreateTempSubdirectory("neuralcore-cluster-test-").FullName;

    public void Dispose() => Directory.Delete(work, recursive: true);

    [ClusterToolsFact]
    public void ShortLoadAndFailureRun_LosesNoRequest_AndThroughputRecovers()
    {
        // A small untrained MLP as fashion-mlp: the run measures the serving path, not the model.
        Rng.ManualSeed(7);
        var model = new Sequential(new Flatten(), new Dense(64, activation: Activation.Relu), new Dense(10));
        string modelFile = Path.Combine(work, "fashion-mlp.safetensors");
        model.Save(modelFile, new ModelManifest { Name = "fashion-mlp", InputShape = [-1, 1, 28, 28] });

        int lb = FreePort(), pg = FreePort(), replicasBase = FreeConsecutivePorts(2);
        var start = new ProcessStartInfo("timeout")
        {
            WorkingDirectory = ClusterTools.RepositoryRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // timeout sends SIGTERM after 300 s; the script's trap then stops the cluster.
        foreach (var a in new[] { "-k", "30", "300", "bash", "tools/cluster-load.sh", "short", "--app", ClusterTools.ModelServer, "--model", modelFile,
                     "--port", $"{lb}", "--base-port", $"{replicasBase}", "--pg-port", $"{pg}" })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        log.WriteLine(output);
        log.WriteLine(stderr.Result);
        var lines = output.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

        Assert.True(process.ExitCode == 0, $"tools/cluster-load.sh exited with {process.ExitCode}: {lines.LastOrDefault()} {stderr.Result}");
        Assert.Equal("CLUSTER-LOAD PASS", lines[^1]);
        var baseline = Phase(lines, "baseline");
        var failure = Phase(lines, "failure");
        var recovery = Phase(lines, "recovery");
        Assert.Contains(lines, l => l.StartsWith("EVENT killed replica 1", StringComparison.Ordinal));
        Assert.True(failure.Requests > 0 && baseline.Requests > 0 && recovery.Requests > 0, "a phase sent no request");
        Assert.Equal(0, failure.NonSuccess);
        Assert.Equal(0, failure.SocketErrors);
        Assert.Equal(0, recovery.NonSuccess + recovery.SocketErrors + baseline.NonSuccess + baseline.SocketErrors);
        long served = long.Parse(lines.Single(l => l.StartsWith("RESTARTED-REPLICA-SERVED ", StringComparison.Ordinal)).Split(' ')[1], CultureInfo.InvariantCulture);
        Assert.True(served > 0, "the restarted replica answered no request after it came back");
        Assert.True(recovery.RequestsPerSecond * 2 >= baseline.RequestsPerSecond,
            $"recovery {recovery.RequestsPerSecond} requests/s is under half the baseline's {baseline.RequestsPerSecond}");

        // Nothing left running: no process names the cluster's state folder.
        string state = lines.Single(l => l.StartsWith("STATE ", StringComparison.Ordinal))[6..];
        Assert.False(Directory.Exists(state), $"the state folder {state} was not removed");
        var left = Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).Where(d => d!.All(char.IsAsciiDigit))
            .Where(pid => ReadCommandLine(pid!).Contains(state, StringComparison.Ordinal)).ToList();
        Assert.True(left.Count == 0, $"processes left running: {string.Join(", ", left)}");
    }

    sealed record PhaseFigures(double RequestsPerSecond, double P50, double P99, long NonSuccess, long SocketErrors, long Requests);

    /// <summary>Parses "PHASE name requests/s R  p50 A ms  p99 B ms  non-2xx S  socket-errors K  requests N".</summary>
    static PhaseFigures Phase(string[] lines, string name)
    {
        string line = lines.Single(l => l.StartsWith($"PHASE {name} ", StringComparison.Ordinal));
        var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        double Value(string key) => double.Parse(words[Array.IndexOf(words, key) + 1], CultureInfo.InvariantCulture);
        return new PhaseFigures(Value("requests/s"), Value("p50"), Value("p99"), (long)Value("non-2xx"), (long)Value("socket-errors"), (long)Value("requests"));
    }

    static string ReadCommandLine(string pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (IOException)
        {
            return "";
        }
        catch (UnauthorizedAccessException)
        {
            return "";
        }
    }

    static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }

    /// <summary>A port P such that P .. P+count-1 are free on loopback now.</summary>
    static int FreeConsecutivePorts(int count)
    {
        var random = new Random();
        for (int attempt = 0; attempt < 200; attempt++)
        {
            int first = random.Next(20000, 30000);
            var taken = new List<TcpListener>();
            try
            {
                for (int i = 0; i < count; i++)
                {
                    var listener = new TcpListener(IPAddress.Loopback, first + i);
                    listener.Start();
                    taken.Add(listener);
                }
                return first;
            }
            catch (SocketException)
            {
            }
            finally
            {
                foreach (var l in taken) l.Stop();
            }
        }
        throw new InvalidOperationException($"no {count} consecutive free loopback ports found in 20000-30000");
    }
}

/// <summary>Where the cluster scripts and the ModelServer build are, and whether the tools they need are installed.</summary>
internal static class ClusterTools
{
    /// <summary>The repository root (the folder holding NeuralCore.sln), found upwards from the test assembly.</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>The ModelServer executable built next to this configuration's test output.</summary>
    public static string ModelServer { get; } = Path.Combine(RepositoryRoot, "samples", "ModelServer", "bin",
        new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name, new DirectoryInfo(AppContext.BaseDirectory).Name, "ModelServer");

    static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "NeuralCore.sln"))) return d.FullName;
        throw new InvalidOperationException($"NeuralCore.sln not found above {AppContext.BaseDirectory}");
    }

    /// <summary>Why the cluster cannot run here, or null when it can.</summary>
    public static string? Missing()
    {
        var missing = new List<string>();
        foreach (var tool in new[] { "nginx", "wrk", "curl", "timeout" })
            if (!OnPath(tool)) missing.Add(tool);
        if (!File.Exists("/usr/lib/postgresql/15/bin/initdb")) missing.Add("PostgreSQL 15 (/usr/lib/postgresql/15/bin)");
        if (!OperatingSystem.IsLinux()) missing.Add("Linux");
        if (missing.Count > 0) return $"not installed: {string.Join(", ", missing)} (.ci/run installs nginx, wrk, curl and postgresql)";
        return File.Exists(ModelServer) ? null : $"samples/ModelServer is not built ({ModelServer} is missing)";
    }

    static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/sbin"]).Any(d => File.Exists(Path.Combine(d, tool)));
}

/// <summary>A fact skipped, with the reason, where the cluster's tools are missing.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ClusterToolsFactAttribute : FactAttribute
{
    public ClusterToolsFactAttribute()
    {
        if (ClusterTools.Missing() is string reason) Skip = reason;
    }
}

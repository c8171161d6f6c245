using System.Diagnostics;
using System.Globalization;

namespace NeuralCore.Distributed.Tests;

/// <summary>A test that needs Open MPI's mpirun; skipped, with the reason, where it is not installed.</summary>
public sealed class MpiFactAttribute : FactAttribute
{
    public MpiFactAttribute()
    {
        if (MpiRun.Path is null) Skip = "mpirun is not installed (Debian: apt-get install openmpi-bin libopenmpi-dev).";
    }
}

/// <summary>A theory that needs Open MPI's mpirun; skipped, with the reason, where it is not installed.</summary>
public sealed class MpiTheoryAttribute : TheoryAttribute
{
    public MpiTheoryAttribute()
    {
        if (MpiRun.Path is null) Skip = "mpirun is not installed (Debian: apt-get install openmpi-bin libopenmpi-dev).";
    }
}

/// <summary>Starts the test program under mpirun on loopback (or alone, as a world of one) and collects its output.</summary>
public static class MpiRun
{
    public static string? Path { get; } =
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => System.IO.Path.Combine(d, "mpirun")).FirstOrDefault(File.Exists);

    static string Program => System.IO.Path.Combine(AppContext.BaseDirectory, "NeuralCore.Distributed.TestProgram.dll");

    public static (int ExitCode, string Output, TimeSpan Elapsed) Run(int processes, params string[] args)
    {
        var dotnet = Environment.ProcessPath is { } p && System.IO.Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var start = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (processes == 0)
            start.FileName = dotnet; // no launcher: the program must run as a world of one without MPI
        else
        {
            start.FileName = Path!;
            foreach (var a in new[]
                     {
                         "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", processes.ToString(CultureInfo.InvariantCulture),
                         "--mca", "btl", "self,tcp", "--mca", "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include", "lo", dotnet,
                     })
                start.ArgumentList.Add(a);
        }
        start.ArgumentList.Add(Program);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment.Remove("OMPI_COMM_WORLD_SIZE");
        start.Environment["TERM"] = "dumb";
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"mpirun -np {processes} {string.Join(' ', args)} did not finish in 120 s.\n{stdout.Result}\n{stderr.Result}");
        }
        return (process.ExitCode, stdout.Result + stderr.Result, clock.Elapsed);
    }

    public static double[] Values(string output, string key)
    {
        // A line may start with terminal control codes that the runtime writes when it takes over the console.
        var line = output.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Contains(key + " ", StringComparison.Ordinal))
                   ?? throw new Xunit.Sdk.XunitException($"No \"{key}\" line in the output:\n{output}");
        return line[(line.IndexOf(key + " ", StringComparison.Ordinal) + key.Length + 1)..].Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
    }
}

public sealed class MpiProgramTests
{
    static void AssertClose(double[] expected, double[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance,
                $"{what} {i}: one process gives {expected[i]:R}, data-parallel {actual[i]:R} (difference {Math.Abs(expected[i] - actual[i]):E2} > {tolerance:E0}).");
    }

    static (int, string) Succeeded(int processes, params string[] args)
    {
        var (code, output, _) = MpiRun.Run(processes, args);
        Assert.True(code == 0, $"{(processes == 0 ? "the program alone" : $"mpirun -np {processes}")} {string.Join(' ', args)} exited with {code}:\n{output}");
        return (code, output);
    }

    [MpiTheory]
    [InlineData(2)]
    [InlineData(3)]
    public void DataParallelStepsMatchOneProcessOnTheWholeBatch(int processes)
    {
        var (_, single) = Succeeded(0, "ddp", "4");
        var (_, parallel) = Succeeded(processes, "ddp", "4");
        var expected = MpiRun.Values(single, "PARAMS");
        AssertClose(expected, MpiRun.Values(parallel, "PARAMS"), 1e-5, "parameter");
        // The steps changed the parameters (the comparison is not between two initial states).
        var (_, initial) = Succeeded(0, "ddp", "0");
        Assert.True(expected.Zip(MpiRun.Values(initial, "PARAMS")).Max(t => Math.Abs(t.First - t.Second)) > 1e-3);
    }

    [MpiTheory]
    [InlineData(2)]
    [InlineData(3)]
    public void FitWithTheDistributedSamplerMatchesOneProcess(int processes)
    {
        var (_, single) = Succeeded(0, "fit", "2");
        var (_, parallel) = Succeeded(processes, "fit", "2");
        AssertClose(MpiRun.Values(single, "PARAMS"), MpiRun.Values(parallel, "PARAMS"), 1e-5, "parameter");
        AssertClose(MpiRun.Values(single, "LOSS"), MpiRun.Values(parallel, "LOSS"), 1e-5, "epoch loss");
    }

    [MpiFact]
    public void AMissingRankEndsTheJobWithAClearError()
    {
        var (code, output, elapsed) = MpiRun.Run(2, "hang");
        Assert.NotEqual(0, code);
        Assert.Contains("rank 0 of 2: MPI_Iallreduce did not complete within 3 s", output);
        Assert.DoesNotContain("rank 0 passed the collective", output);
        Assert.True(elapsed < TimeSpan.FromSeconds(50), $"The job took {elapsed.TotalSeconds:0.0} s to end.");
    }
}

using System.Diagnostics;
using System.Security.Cryptography;

namespace NeuralCore.Fuzz;

/// <summary>
/// Ends the run when one case takes longer than a limit or the process's memory grows past one: such a case could
/// not be stopped from inside (a thread cannot be aborted), so its input, saved before it started, is kept as a
/// crasher and the process exits with code 3.
/// </summary>
public sealed class Watchdog : IDisposable
{
    readonly string inFlight;
    readonly string crashers;
    readonly TimeSpan limit;
    readonly long memoryLimit;
    readonly Timer timer;
    long started = Stopwatch.GetTimestamp();

    /// <summary>Starts watching; <paramref name="inFlight"/> is where each case's input is saved before it runs.</summary>
    public Watchdog(string inFlight, string crashers, TimeSpan limit, long memoryLimit)
    {
        this.inFlight = inFlight;
        this.crashers = crashers;
        this.limit = limit;
        this.memoryLimit = memoryLimit;
        timer = new Timer(_ => Check(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    /// <summary>Marks the start of a case.</summary>
    public void CaseStarted() => Interlocked.Exchange(ref started, Stopwatch.GetTimestamp());

    void Check()
    {
        var elapsed = Stopwatch.GetElapsedTime(Interlocked.Read(ref started));
        long memory = Environment.WorkingSet;
        string? why = elapsed > limit ? $"one case ran for {elapsed.TotalSeconds:F0} s"
            : memory > memoryLimit ? $"the process grew to {memory >> 20} MiB during one case"
            : null;
        if (why is null || !File.Exists(inFlight)) return;
        var input = File.ReadAllBytes(inFlight);
        string path = Path.Combine(crashers, $"watchdog-{Convert.ToHexStringLower(SHA256.HashData(input))[..12]}.bin");
        File.WriteAllBytes(path, input);
        File.WriteAllText(Path.ChangeExtension(path, ".txt"), $"watchdog: {why}\n");
        Console.Error.WriteLine($"watchdog: {why}; its input is {path}. Ending the run.");
        Environment.Exit(3);
    }

    /// <inheritdoc/>
    public void Dispose() => timer.Dispose();
}

using System.Diagnostics;
using System.Security.Cryptography;

namespace NeuralCore.Fuzz;

/// <summary>How one case ended.</summary>
public enum OutcomeKind
{
    /// <summary>The reader accepted the input.</summary>
    Loaded,

    /// <summary>The reader refused the input with a documented exception.</summary>
    Refused,

    /// <summary>Anything else: another exception, or a case over its allocation or time bound.</summary>
    Failure,
}

/// <summary>The result of one case.</summary>
/// <param name="Kind">Loaded, refused or failure.</param>
/// <param name="Signature">For failures, what identifies the bug (exception type and throwing method, or the bound exceeded).</param>
/// <param name="Detail">For failures, the exception or measurement in full.</param>
/// <param name="Exception">The exception thrown, if any.</param>
public sealed record Outcome(OutcomeKind Kind, string? Signature = null, string? Detail = null, Exception? Exception = null);

/// <summary>A failing input found by a run, minimized.</summary>
/// <param name="Target">The target's name.</param>
/// <param name="Outcome">The failure the input reproduces.</param>
/// <param name="Input">The minimized input, in stored (wrapped) form.</param>
public sealed record Crasher(string Target, Outcome Outcome, byte[] Input)
{
    /// <summary>A file name from the signature and the input's hash.</summary>
    public string FileName
    {
        get
        {
            var safe = new string(Outcome.Signature!.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' ? c : '_').ToArray());
            if (safe.Length > 80) safe = safe[..80];
            return $"{safe}-{Convert.ToHexStringLower(SHA256.HashData(Input))[..12]}.bin";
        }
    }
}

/// <summary>The counts of a run of one target.</summary>
public sealed class FuzzStats(string target)
{
    /// <summary>The target's name.</summary>
    public string Target { get; } = target;

    /// <summary>Cases run.</summary>
    public int Cases { get; set; }

    /// <summary>Cases loaded.</summary>
    public int Loaded { get; set; }

    /// <summary>Cases refused cleanly.</summary>
    public int Refused { get; set; }

    /// <summary>Cases that ended any other way.</summary>
    public int Failures { get; set; }

    /// <summary>The failing inputs, one per signature, minimized.</summary>
    public List<Crasher> Crashers { get; } = [];

    /// <summary>Wall time of the run.</summary>
    public TimeSpan Elapsed { get; set; }
}

/// <summary>Options of one run.</summary>
public sealed record FuzzOptions
{
    /// <summary>The seed; the same seed, cases and corpus give the same inputs.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>The number of mutated cases to run (seeds and corpus files are run first, in addition).</summary>
    public int Cases { get; init; } = 1000;

    /// <summary>Stop after this long, whatever <see cref="Cases"/> says; null for no limit.</summary>
    public TimeSpan? Time { get; init; }

    /// <summary>Extra starting inputs (for example a corpus folder's files).</summary>
    public IReadOnlyList<byte[]> ExtraCorpus { get; init; } = [];

    /// <summary>Called with each input before it runs (the runner saves it, so a case that kills the process is kept).</summary>
    public Action<byte[]>? BeforeCase { get; init; }

    /// <summary>Shrink each new failure's input before reporting it.</summary>
    public bool Minimize { get; init; } = true;
}

/// <summary>Runs targets: mutates inputs, classifies every case, collects and minimizes failures.</summary>
public static class FuzzEngine
{
    /// <summary>Runs one input and classifies the result.</summary>
    public static Outcome RunCase(FuzzTarget target, byte[] input, string scratch)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        Exception? error = null;
        try
        {
            target.Execute(input, scratch);
        }
        catch (Exception e)
        {
            error = e;
        }
        clock.Stop();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        if (error is not null && !target.IsRefusal(error))
        {
            var inner = error is TargetStepException step ? step.InnerException! : error;
            string prefix = error is TargetStepException s ? s.Step + ": " : "";
            return new Outcome(OutcomeKind.Failure, prefix + inner.GetType().Name + " at " + ThrowingMethod(inner), error.ToString(), error);
        }
        if (allocated > target.AllocationBound)
            return new Outcome(OutcomeKind.Failure, "allocation over bound",
                $"allocated {allocated} bytes, more than the bound of {target.AllocationBound}", error);
        if (clock.Elapsed > target.TimeBound)
            return new Outcome(OutcomeKind.Failure, "time over bound",
                $"took {clock.Elapsed.TotalMilliseconds:F0} ms, more than the bound of {target.TimeBound.TotalMilliseconds:F0} ms", error);
        return error is null ? new Outcome(OutcomeKind.Loaded) : new Outcome(OutcomeKind.Refused, Exception: error);
    }

    /// <summary>The size mutants are cut to (or twice the largest starting input, if that is more).</summary>
    public const int MaxInputBytes = 1 << 20;

    /// <summary>Runs the seeds, the extra corpus, then mutated cases, and returns the counts and failures.</summary>
    public static FuzzStats Run(FuzzTarget target, FuzzOptions options)
    {
        var stats = new FuzzStats(target.Name);
        var clock = Stopwatch.StartNew();
        string scratch = Path.Combine(Path.GetTempPath(), $"neuralcore-fuzz-{target.Name}-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(scratch);
        try
        {
            var rng = new Random(unchecked(options.Seed * 1_000_003 ^ StableHash(target.Name)));
            var mutator = new Mutator(rng);
            var starts = target.Seeds().Concat(options.ExtraCorpus).Select(target.Unwrap).ToList();
            // Loaded mutants join the pool (bounded), so later cases build on inputs that get past the first checks.
            var pool = new List<byte[]>(starts);
            var seen = new HashSet<string>();

            void Record(byte[] raw)
            {
                var input = target.Wrap(raw);
                options.BeforeCase?.Invoke(input);
                var outcome = RunCase(target, input, scratch);
                stats.Cases++;
                switch (outcome.Kind)
                {
                    case OutcomeKind.Loaded:
                        stats.Loaded++;
                        if (pool.Count < starts.Count + 256) pool.Add(raw);
                        else if (rng.Next(8) == 0) pool[starts.Count + rng.Next(256)] = raw;
                        break;
                    case OutcomeKind.Refused:
                        stats.Refused++;
                        break;
                    default:
                        stats.Failures++;
                        if (seen.Add(outcome.Signature!))
                        {
                            var kept = options.Minimize ? Minimize(target, raw, outcome.Signature!, scratch) : raw;
                            stats.Crashers.Add(new Crasher(target.Name, RunCase(target, target.Wrap(kept), scratch), target.Wrap(kept)));
                        }
                        break;
                }
            }

            // Chunk insertions and splices can double an input again and again over a long run, until mutating and
            // saving it takes longer than the watchdog allows; mutants are cut to a bound well above every seed.
            int maxInput = Math.Max(MaxInputBytes, 2 * starts.Max(s => s.Length));
            foreach (var start in starts) Record(start);
            for (int i = 0; i < options.Cases; i++)
            {
                if (options.Time is { } limit && clock.Elapsed > limit) break;
                var parent = pool[rng.Next(pool.Count)];
                byte[] raw = rng.NextDouble() < target.StructuredShare
                    ? target.MutateStructured(mutator, parent) ?? mutator.Mutate(parent, pool)
                    : mutator.Mutate(parent, pool);
                if (raw.Length > maxInput) raw = raw[..maxInput];
                Record(raw);
            }
        }
        finally
        {
            TryDelete(scratch);
        }
        stats.Elapsed = clock.Elapsed;
        return stats;
    }

    /// <summary>
    /// Shrinks <paramref name="raw"/> (unwrapped form) by deleting chunks, halving their size down to one byte,
    /// while the failure with <paramref name="signature"/> still reproduces. Returns the unwrapped minimum.
    /// </summary>
    public static byte[] Minimize(FuzzTarget target, byte[] raw, string signature, string scratch, int maxTries = 3000)
    {
        var best = raw;
        int tries = 0;
        var clock = Stopwatch.StartNew();
        // Cases over the time bound are slow by definition: stop shrinking after a while and keep what there is.
        var budget = TimeSpan.FromSeconds(30) + 20 * target.TimeBound;
        bool Go() => tries < maxTries && clock.Elapsed < budget;
        for (int chunk = Math.Max(1, best.Length / 2); chunk >= 1 && Go(); chunk /= 2)
        {
            bool shrunk = true;
            while (shrunk && Go())
            {
                shrunk = false;
                for (int at = 0; at < best.Length && Go(); at += chunk)
                {
                    byte[] candidate = [.. best.AsSpan(0, at), .. best.AsSpan(Math.Min(best.Length, at + chunk))];
                    tries++;
                    var outcome = RunCase(target, target.Wrap(candidate), scratch);
                    if (outcome.Kind == OutcomeKind.Failure && outcome.Signature == signature)
                    {
                        best = candidate;
                        shrunk = true;
                        at -= chunk;
                    }
                }
            }
            if (chunk == 1) break;
        }
        return best;
    }

    static string ThrowingMethod(Exception e)
    {
        var frames = new StackTrace(e, fNeedFileInfo: false).GetFrames();
        var frame = frames.FirstOrDefault(f => f.GetMethod()?.DeclaringType?.Namespace?.StartsWith("NeuralCore", StringComparison.Ordinal) == true
                                              && f.GetMethod()?.DeclaringType?.Namespace?.StartsWith("NeuralCore.Fuzz", StringComparison.Ordinal) != true)
                    ?? frames.FirstOrDefault();
        var method = frame?.GetMethod();
        return method is null ? "?" : $"{method.DeclaringType?.Name}.{method.Name}";
    }

    static int StableHash(string s)
    {
        int h = 17;
        foreach (char c in s) h = h * 31 + c;
        return h;
    }

    static void TryDelete(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
            // A leftover scratch folder in the temp directory is harmless.
        }
    }
}

/// <summary>Wraps an exception from a later step of a target (such as running a loaded model), naming the step.</summary>
public sealed class TargetStepException(string step, Exception inner) : Exception($"{step}: {inner.Message}", inner)
{
    /// <summary>The step that threw.</summary>
    public string Step { get; } = step;
}

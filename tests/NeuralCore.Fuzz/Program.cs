using System.CommandLine;
using NeuralCore.Fuzz;

// Runs the fuzz targets and prints, per target, how many cases loaded, were refused cleanly, or failed in any other
// way; every failing input is minimized and written to the crashers folder with a .txt file describing the failure.
var target = new Option<string>("--target") { Description = $"a target ({string.Join(", ", FuzzTargets.Names)}) or all", DefaultValueFactory = _ => "all" };
var cases = new Option<int>("--cases") { Description = "mutated cases per target", DefaultValueFactory = _ => 10_000 };
var seed = new Option<int>("--seed") { Description = "random seed; the same seed and corpus give the same cases", DefaultValueFactory = _ => 1 };
var time = new Option<double?>("--time") { Description = "seconds per target at most (the run stops at --cases or --time, whichever comes first)" };
var corpus = new Option<DirectoryInfo?>("--corpus") { Description = "folder with <target>/ subfolders of extra starting inputs" };
var crashers = new Option<DirectoryInfo>("--crashers") { Description = "where failing inputs are written", DefaultValueFactory = _ => new DirectoryInfo("fuzz-crashers") };

var root = new RootCommand("Fuzzes NeuralCore's file readers with seeded mutations of valid files.") { target, cases, seed, time, corpus, crashers };
root.SetAction(parse =>
{
    string chosen = parse.GetValue(target)!;
    var names = chosen == "all" ? FuzzTargets.Names : [chosen];
    if (names.Any(n => !FuzzTargets.Names.Contains(n)))
    {
        Console.Error.WriteLine($"unknown target '{chosen}'; the targets are {string.Join(", ", FuzzTargets.Names)} or all");
        return 2;
    }
    var crasherDir = parse.GetValue(crashers)!.FullName;
    var rows = new List<FuzzStats>();
    foreach (var name in names)
    {
        var fuzzTarget = FuzzTargets.Create(name);
        string targetCrashers = Path.Combine(crasherDir, name);
        Directory.CreateDirectory(targetCrashers);
        // The input in flight stays on disk, so a case that ends the process is not lost; the watchdog keeps a case
        // that hangs or exhausts memory as a crasher and ends the run.
        string inFlight = Path.Combine(targetCrashers, "in-flight.input");
        using var watchdog = new Watchdog(inFlight, targetCrashers, TimeSpan.FromSeconds(30), 4L << 30);
        var extra = parse.GetValue(corpus) is { } dir ? FuzzTargets.CorpusFiles(dir.FullName, name).Select(File.ReadAllBytes).ToList() : [];
        var stats = FuzzEngine.Run(fuzzTarget, new FuzzOptions
        {
            Seed = parse.GetValue(seed),
            Cases = parse.GetValue(cases),
            Time = parse.GetValue(time) is double seconds ? TimeSpan.FromSeconds(seconds) : null,
            ExtraCorpus = extra,
            BeforeCase = input =>
            {
                File.WriteAllBytes(inFlight, input);
                watchdog.CaseStarted();
            },
        });
        File.Delete(inFlight);
        foreach (var c in stats.Crashers)
        {
            string path = Path.Combine(targetCrashers, c.FileName);
            File.WriteAllBytes(path, c.Input);
            File.WriteAllText(Path.ChangeExtension(path, ".txt"), $"{c.Outcome.Signature}\n\n{c.Outcome.Detail}\n");
        }
        rows.Add(stats);
        Console.WriteLine(Row(stats));
    }
    Console.WriteLine();
    Console.WriteLine($"{"target",-12} {"cases",9} {"loaded",9} {"refused",9} {"other",7} {"seconds",8}");
    foreach (var s in rows)
        Console.WriteLine($"{s.Target,-12} {s.Cases,9} {s.Loaded,9} {s.Refused,9} {s.Failures,7} {s.Elapsed.TotalSeconds,8:F1}");
    foreach (var c in rows.SelectMany(s => s.Crashers))
        Console.WriteLine($"  {c.Target}: {c.Outcome.Signature} -> {Path.Combine(crasherDir, c.Target, c.FileName)} ({c.Input.Length} bytes)");
    return rows.Any(s => s.Failures > 0) ? 1 : 0;
});
// Coverage-guided mode: afl-fuzz starts this process (tools/fuzz.sh afl) over an instrumented NeuralCore.dll and feeds
// it inputs in the form the target mutates (for tar.gz: the uncompressed tar). Refusals are normal outcomes; any other
// exception, and any input that kills or hangs the process, is a crash for afl-fuzz.
var aflTarget = new Argument<string>("target") { Description = $"one of {string.Join(", ", FuzzTargets.Names)}" };
var afl = new Command("afl", "Runs one target under afl-fuzz (started by tools/fuzz.sh afl, not by hand).") { aflTarget };
afl.SetAction(parse =>
{
    if (TargetOrNull(parse.GetValue(aflTarget)!) is not { } fuzzTarget) return 2;
    string scratch = Directory.CreateTempSubdirectory("neuralcore-afl-").FullName;
    SharpFuzz.Fuzzer.OutOfProcess.Run(stream =>
    {
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        try
        {
            fuzzTarget.Execute(fuzzTarget.Wrap(buffer.ToArray()), scratch);
        }
        catch (Exception e) when (fuzzTarget.IsRefusal(e))
        {
        }
    });
    return 0;
});
root.Subcommands.Add(afl);

var seedsTarget = new Argument<string>("target") { Description = "the target whose seeds to write" };
var seedsDir = new Argument<DirectoryInfo>("directory") { Description = "where to write them" };
var seeds = new Command("seeds", "Writes a target's seed inputs (valid files the library makes), in the form afl-fuzz mutates.") { seedsTarget, seedsDir };
seeds.SetAction(parse =>
{
    if (TargetOrNull(parse.GetValue(seedsTarget)!) is not { } fuzzTarget) return 2;
    var dir = parse.GetValue(seedsDir)!;
    dir.Create();
    var all = fuzzTarget.Seeds();
    for (int i = 0; i < all.Count; i++)
        File.WriteAllBytes(Path.Combine(dir.FullName, $"seed-{i:D3}"), fuzzTarget.Unwrap(all[i]));
    Console.WriteLine($"{all.Count} seeds written to {dir.FullName}");
    return 0;
});
root.Subcommands.Add(seeds);

return root.Parse(args).Invoke();

static FuzzTarget? TargetOrNull(string name)
{
    if (FuzzTargets.Names.Contains(name)) return FuzzTargets.Create(name);
    Console.Error.WriteLine($"unknown target '{name}'; the targets are {string.Join(", ", FuzzTargets.Names)}");
    return null;
}

static string Row(FuzzStats s) =>
    $"{s.Target}: {s.Cases} cases, {s.Loaded} loaded, {s.Refused} refused, {s.Failures} other ({s.Crashers.Count} distinct), " +
    $"in {s.Elapsed.TotalSeconds:F1} s";

using System.Reflection;
using NeuralCore.Fuzz;
using NeuralCore.Fuzz.Targets;
using NeuralCore.Nn;
using Xunit.Abstractions;

namespace NeuralCore.Tests.Fuzz;

/// <summary>
/// A short deterministic fuzz pass over every file reader (fixed seed and case count), and the replay of the
/// checked-in corpus of minimized inputs that once failed. Every case must load or be refused with the reader's
/// documented exception, within the target's allocation and time bounds. Longer runs: tools/fuzz.sh.
/// </summary>
public class FuzzTests(ITestOutputHelper output)
{
    const int Seed = 20240607;

    public static TheoryData<string> Targets => new(FuzzTargets.Names);

    static int CasesFor(string target) => target switch
    {
        "targz" => 2000,
        "sequential" => 2500,
        _ => 3000,
    };

    [Theory]
    [MemberData(nameof(Targets))]
    public void ShortDeterministicRun_LoadsOrRefusesEveryCase(string name)
    {
        var target = Create(name);
        var stats = FuzzEngine.Run(target, new FuzzOptions { Seed = Seed, Cases = CasesFor(name) });
        output.WriteLine($"{name}: {stats.Cases} cases, {stats.Loaded} loaded, {stats.Refused} refused, {stats.Failures} other, " +
                         $"{stats.Elapsed.TotalSeconds:F1} s");
        foreach (var c in stats.Crashers)
            output.WriteLine($"{c.Outcome.Signature} ({c.Input.Length} bytes, base64 {Convert.ToBase64String(c.Input)}):\n{c.Outcome.Detail}");
        Assert.True(stats.Failures == 0, $"{name}: {stats.Failures} cases failed: {string.Join("; ", stats.Crashers.Select(c => c.Outcome.Signature))}");
        // Both outcomes occur, so the mutations neither miss the checks nor never get past them.
        Assert.True(stats.Loaded >= stats.Cases / 50, $"{name}: only {stats.Loaded} of {stats.Cases} cases loaded");
        Assert.True(stats.Refused >= stats.Cases / 10, $"{name}: only {stats.Refused} of {stats.Cases} cases refused");
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void CheckedInCorpus_LoadsOrIsRefusedCleanly(string name)
    {
        var target = Create(name);
        string scratch = Path.Combine(Path.GetTempPath(), "neuralcore-fuzz-replay-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(scratch);
        try
        {
            var files = FuzzTargets.CorpusFiles(CorpusDirectory, name);
            foreach (var file in files)
            {
                var outcome = FuzzEngine.RunCase(target, File.ReadAllBytes(file), scratch);
                output.WriteLine($"{Path.GetFileName(file)}: {outcome.Kind}{(outcome.Exception is { } e ? " (" + e.GetType().Name + ")" : "")}");
                Assert.True(outcome.Kind != OutcomeKind.Failure, $"{file}: {outcome.Detail}");
            }
            // The seeds are valid files the library wrote: every one loads.
            foreach (var (seed, i) in target.Seeds().Select((s, i) => (s, i)))
            {
                var outcome = FuzzEngine.RunCase(target, seed, scratch);
                Assert.True(outcome.Kind == OutcomeKind.Loaded, $"seed {i}: {outcome.Kind} {outcome.Exception}");
            }
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    [Fact]
    public void Minimize_ShrinksAFailingInputWhileTheFailureReproduces()
    {
        var target = new ThrowsOnMarker();
        var input = new byte[300];
        input[123] = 0xAB;
        var outcome = FuzzEngine.RunCase(target, input, Path.GetTempPath());
        Assert.Equal(OutcomeKind.Failure, outcome.Kind);
        var minimized = FuzzEngine.Minimize(target, input, outcome.Signature!, Path.GetTempPath());
        Assert.Equal(new byte[] { 0xAB }, minimized);
    }

    [Fact]
    public void Mutations_AreDeterministicForASeed()
    {
        var seeds = new SafeTensorsTarget().Seeds();
        byte[][] Run(int seed)
        {
            var m = new Mutator(new System.Random(seed));
            return Enumerable.Range(0, 200).Select(i => m.Mutate(seeds[i % seeds.Count], seeds)).ToArray();
        }
        Assert.Equal(Run(5), Run(5));
        Assert.NotEqual(Run(5), Run(6));
    }

    sealed class ThrowsOnMarker : FuzzTarget
    {
        public override string Name => "marker";

        public override IReadOnlyList<byte[]> Seeds() => [[0]];

        public override void Execute(byte[] input, string scratch)
        {
            if (input.Contains((byte)0xAB)) throw new IndexOutOfRangeException();
        }
    }

    static FuzzTarget Create(string name) => FuzzTargets.Create(name);

    static string CorpusDirectory
    {
        get
        {
            string root = typeof(FuzzTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .First(a => a.Key == "RepositoryRoot").Value!;
            return Path.Combine(root, "tests", "NeuralCore.Tests", "Fuzz", "Corpus");
        }
    }
}

using NeuralCore.Backends.Cpu;
using System.Runtime.CompilerServices;
using NeuralCore.Tests.Tensors;

namespace NeuralCore.Tests.Backends.Cpu;

/// <summary>
/// The worker pool's hand-off: every index (or range) runs exactly once however late the workers join,
/// including with more threads than cores (workers routinely wake after the caller has finished), back-to-back
/// dispatches, several threads dispatching at once, and a body that throws. Runs in the non-parallel "Memory"
/// collection because it changes the thread count.
/// </summary>
[Collection("Memory")]
public class CpuParallelTests
{
    static void WithThreads(int threads, Action body)
    {
        int saved = CpuParallel.MaxDegreeOfParallelism;
        try
        {
            CpuParallel.MaxDegreeOfParallelism = threads;
            body();
        }
        finally
        {
            CpuParallel.MaxDegreeOfParallelism = saved;
        }
    }

    readonly struct CountJob(int[] hits)
    {
        public void Hit(int i) => Interlocked.Increment(ref hits[i]);

        public void HitRange(int start, int end)
        {
            for (int i = start; i < end; i++) Interlocked.Increment(ref hits[i]);
        }
    }

    static void AssertEachOnce(int[] hits, string what)
    {
        for (int i = 0; i < hits.Length; i++)
            if (hits[i] != 1) Assert.Fail($"{what}: index {i} of {hits.Length} ran {hits[i]} times");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(8)]
    public void BackToBackDispatches_RunEveryIndexExactlyOnce(int threads)
    {
        WithThreads(threads, () =>
        {
            // Tiny bodies make the caller finish before most workers are awake; large counts keep workers busy.
            foreach (int count in new[] { 2, 3, 17, 1000 })
                for (int round = 0; round < 300; round++)
                {
                    var hits = new int[count];
                    CpuParallel.For(count, 1 << 20, new CountJob(hits), static (i, j) => j.Hit(i));
                    AssertEachOnce(hits, $"For({count}), round {round}");

                    var rangeHits = new int[count];
                    CpuParallel.ForRange(count, 1 << 20, (new CountJob(rangeHits), new StrongBox<int>(0)), static (s, e, j) =>
                    {
                        Interlocked.Increment(ref j.Item2.Value);
                        j.Item1.HitRange(s, e);
                    });
                    AssertEachOnce(rangeHits, $"ForRange({count}), round {round}");
                }
        });
    }

    [Fact]
    public void ForRange_CallsTheBodyOncePerThreadRange()
    {
        WithThreads(3, () =>
        {
            for (int round = 0; round < 200; round++)
            {
                var calls = new StrongBox<int>(0);
                var hits = new int[10];
                CpuParallel.ForRange(10, 1 << 20, (new CountJob(hits), calls), static (s, e, j) =>
                {
                    Interlocked.Increment(ref j.Item2.Value);
                    j.Item1.HitRange(s, e);
                });
                AssertEachOnce(hits, $"round {round}");
                Assert.Equal(3, calls.Value);
            }
        });
    }

    [Fact]
    public void ConcurrentCallers_EachGetEveryIndexOnce()
    {
        WithThreads(4, () =>
        {
            // One caller owns the pool at a time; the others run inline. Either way each index runs once.
            var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
            var callers = Enumerable.Range(0, 4).Select(c => new Thread(() =>
            {
                for (int round = 0; round < 200; round++)
                {
                    var hits = new int[257];
                    CpuParallel.For(hits.Length, 1 << 20, new CountJob(hits), static (i, j) => j.Hit(i));
                    if (hits.Any(h => h != 1)) failures.Add($"caller {c}, round {round}");
                }
            })).ToList();
            callers.ForEach(t => t.Start());
            callers.ForEach(t => t.Join());
            Assert.Empty(failures);
        });
    }

    [Fact]
    public void ThrowingBody_Propagates_AndThePoolStaysUsable()
    {
        WithThreads(3, () =>
        {
            for (int round = 0; round < 50; round++)
            {
                var error = Assert.Throws<InvalidOperationException>(() =>
                    CpuParallel.For(64, 1 << 20, round, static (i, r) =>
                    {
                        if (i == 5) throw new InvalidOperationException($"index {i}");
                    }));
                Assert.Equal("index 5", error.Message);

                var hits = new int[64];
                CpuParallel.For(64, 1 << 20, new CountJob(hits), static (i, j) => j.Hit(i));
                AssertEachOnce(hits, $"after a throw, round {round}");
            }
        });
    }

    [Fact]
    public void ElementwiseAdd_BitIdenticalForOneToFourThreads()
    {
        var x = Tensor.Randn([3_000_001], DType.Float32, new Generator(5));
        var y = Tensor.Randn([3_000_001], DType.Float32, new Generator(6));
        float[]? reference = null;
        foreach (int threads in new[] { 1, 2, 3, 4 })
            WithThreads(threads, () =>
            {
                for (int round = 0; round < 3; round++)
                {
                    var sum = (x + y).F();
                    reference ??= sum;
                    Assert.True(reference.AsSpan().SequenceEqual(sum), $"{threads} threads, round {round}");
                }
            });
    }
}

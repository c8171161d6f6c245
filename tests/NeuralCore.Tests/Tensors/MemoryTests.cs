using System.Runtime.CompilerServices;

namespace NeuralCore.Tests.Tensors;

/// <summary>
/// The memory-model promise: no leaks without Dispose, scopes release temporaries, Dispose returns memory now.
/// <see cref="MemoryStats"/> is process-wide, so these tests run alone in the "Memory" collection.
/// </summary>
[Collection("Memory")]
public class MemoryTests
{
    const int OneMiB = 1 << 20;

    static DeviceMemoryStats Sample()
    {
        MemoryStats.Collect();
        return MemoryStats.Cpu;
    }

    // One training step of a tiny model, in its own frame so that none of its temporaries stays reachable
    // from the caller's stack once it returns.
    [MethodImpl(MethodImplOptions.NoInlining)]
    static float TrainStep(Tensor x, Tensor w)
    {
        var loss = x.MatMul(w).Tanh().Mean();
        loss.Backward();
        using (Tensor.NoGrad()) w.Sub_(w.Grad! * 0.01);
        w.Grad = null;
        return loss.Item<float>();
    }

    [Fact]
    public void TrainingWithoutDispose_KeepsLiveTensorsAndUsedBytesFlat()
    {
        var baseline = Sample();
        var gen = new Generator(99);
        var x = Tensor.Randn([64, 32], DType.Float32, gen);
        var w = (Tensor.Randn([32, 16], DType.Float32, gen) * 0.1).RequiresGrad_();
        const int Steps = 500, WarmUp = 100;
        var samples = new List<(int Step, DeviceMemoryStats Stats)>();
        float first = 0, last = 0;
        for (int step = 1; step <= Steps; step++)
        {
            last = TrainStep(x, w);
            if (step == 1) first = last;
            if (step % WarmUp == 0) samples.Add((step, Sample()));
        }

        // Training really ran: the loss moved (gradient descent on mean(tanh(xw)) decreases it).
        Assert.True(last < first, $"loss went from {first} to {last}");

        // Every step allocates about 20 buffers (matmul output, tanh, mean, scalars, gradients); a leak of even
        // one of them per step would add 400 live buffers and at least 400 × 64 B between step 100 and step 500.
        // The bounds below allow 2 buffers and 16 KiB of noise, far below that, so any per-step leak fails.
        var atWarmUp = samples[0].Stats;
        foreach (var (step, stats) in samples)
        {
            Assert.True(stats.LiveTensors <= atWarmUp.LiveTensors + 2,
                $"live tensors grew from {atWarmUp.LiveTensors} (step {WarmUp}) to {stats.LiveTensors} (step {step})");
            Assert.True(stats.UsedBytes <= atWarmUp.UsedBytes + 16 * 1024,
                $"used bytes grew from {atWarmUp.UsedBytes} (step {WarmUp}) to {stats.UsedBytes} (step {step})");
        }

        // And in absolute terms: after a full collection only x and w are alive (each one buffer,
        // 8 KiB and 2 KiB), plus at most a couple of buffers of slack.
        var end = samples[^1].Stats;
        Assert.InRange(end.LiveTensors - baseline.LiveTensors, 2, 4);
        Assert.True(end.UsedBytes - baseline.UsedBytes <= 8192 + 2048 + 2 * 4096,
            $"used bytes {end.UsedBytes} vs baseline {baseline.UsedBytes}");
        GC.KeepAlive(x);
        GC.KeepAlive(w);
    }

    [Fact]
    public void Scope_DisposesTemporaries_KeepsKeptTensorsLeavesAndGradients()
    {
        var outside = Tensor.Ones(4);
        Tensor a, b, sum, kept, leaf, loss, view;
        using (var scope = Tensor.Scope())
        {
            Assert.Equal(0, scope.Count);
            a = Tensor.Zeros(3);
            b = Tensor.Ones(3);
            Assert.Equal(2, scope.Count);
            sum = a.Add(b);   // same dtype and shape: exactly one new tensor
            Assert.Equal(3, scope.Count);
            kept = scope.Keep(sum.Add(b));
            Assert.Equal(3, scope.Count);
            view = outside[1..3];
            leaf = Tensor.Ones(3).RequiresGrad_();
            loss = (leaf * b).Sum();
            loss.Backward();
            Assert.False(a.IsDisposed);
        }

        Assert.True(a.IsDisposed);
        Assert.True(b.IsDisposed);
        Assert.True(sum.IsDisposed);
        Assert.True(loss.IsDisposed);
        Assert.True(view.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => a.ToArray<float>());

        Assert.False(kept.IsDisposed);
        Assert.Equal(new[] { 2f, 2f, 2f }, kept.ToArray<float>());
        Assert.False(leaf.IsDisposed);
        Assert.False(leaf.Grad!.IsDisposed);
        Assert.Equal(new[] { 1f, 1f, 1f }, leaf.Grad.ToArray<float>());
        // A view created in a scope is disposed with it, but the base it views is not.
        Assert.False(outside.IsDisposed);
        Assert.Equal(new[] { 1f, 1f, 1f, 1f }, outside.ToArray<float>());
    }

    [Fact]
    public void NestedScopes_KeepMovesATensorToTheEnclosingScope()
    {
        Tensor inner, kept, detached;
        using (var outer = Tensor.Scope())
        {
            using (var scope = Tensor.Scope())
            {
                inner = Tensor.Ones(2);
                kept = scope.Keep(Tensor.Ones(2));
                detached = Tensor.Ones(2).DetachFromScope();
            }
            Assert.True(inner.IsDisposed);
            Assert.False(kept.IsDisposed);
            Assert.Equal(1, outer.Count);
        }
        Assert.True(kept.IsDisposed);
        Assert.False(detached.IsDisposed);
    }

    [Fact]
    public void KeptView_OfAScopedTemporary_StaysReadable()
    {
        Tensor baseTensor, view;
        using (var scope = Tensor.Scope())
        {
            baseTensor = Tensor.Arange(6).Reshape(2, 3);
            view = scope.Keep(baseTensor.Transpose(0, 1)[1]);
        }
        Assert.True(baseTensor.IsDisposed);
        Assert.False(view.storage.IsReleased);
        Assert.Equal(new long[] { 1, 4 }, view.ToArray<long>());
    }

    [Fact]
    public void ScopeEnd_ReturnsMemoryWithoutAGarbageCollection()
    {
        var before = Sample();
        using (Tensor.Scope())
        {
            var big = Tensor.Zeros(OneMiB / 4); // exactly 1 MiB
            var bigger = big + 1;
            Assert.True(MemoryStats.Cpu.UsedBytes - before.UsedBytes >= 2 * OneMiB);
        }
        Assert.True(MemoryStats.Cpu.UsedBytes - before.UsedBytes < OneMiB,
            $"used bytes still {MemoryStats.Cpu.UsedBytes - before.UsedBytes} above the start");
    }

    [Fact]
    public void Dispose_ReturnsMemory_AndViewsKeepStorageAliveUntilDisposed()
    {
        var start = Sample();
        var big = Tensor.Zeros(OneMiB / 4);
        var used = MemoryStats.Cpu.UsedBytes;
        Assert.True(used - start.UsedBytes >= OneMiB);

        var view = big[..10];
        big.Dispose();
        Assert.False(big.storage.IsReleased);
        Assert.True(MemoryStats.Cpu.UsedBytes > used - OneMiB, "the storage went back although a view uses it");
        Assert.Equal(new float[10], view.ToArray<float>());
        Assert.Throws<ObjectDisposedException>(() => big.Sum());

        var beforeLastDispose = MemoryStats.Cpu.UsedBytes;
        view.Dispose();
        Assert.True(view.storage.IsReleased);
        Assert.True(beforeLastDispose - MemoryStats.Cpu.UsedBytes >= OneMiB, "disposing the last user did not return the memory");
        Assert.Throws<ObjectDisposedException>(() => view.ToArray<float>());
    }

    [Fact]
    public void Dispose_OfAPooledBuffer_LetsTheNextAllocationReuseIt()
    {
        var t = Tensor.Zeros(OneMiB / 4);
        t.Dispose();
        var allocated = MemoryStats.Cpu.AllocatedBytes;
        var again = Tensor.Zeros(OneMiB / 4);
        Assert.Equal(allocated, MemoryStats.Cpu.AllocatedBytes);
        again.Dispose();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static void StoreViewOfADroppedBase(Tensor?[] holder) => holder[0] = Tensor.Zeros(OneMiB / 4)[..10];

    // Reads the held view in its own frame, so the test method's frame never holds a reference to it
    // (unoptimized code may keep such temporaries reachable until the method returns).
    [MethodImpl(MethodImplOptions.NoInlining)]
    static (bool Released, float[] Values) Inspect(Tensor?[] holder) => (holder[0]!.storage.IsReleased, holder[0]!.ToArray<float>());

    [Fact]
    public void UndisposedViews_KeepStorageAliveUntilCollected()
    {
        var start = Sample();
        var holder = new Tensor?[1];
        StoreViewOfADroppedBase(holder);
        var afterCollect = Sample(); // the base is garbage, but its view still uses the storage
        Assert.True(afterCollect.UsedBytes - start.UsedBytes >= OneMiB);
        var (released, values) = Inspect(holder);
        Assert.False(released);
        Assert.Equal(new float[10], values);

        holder[0] = null;
        var end = Sample();
        Assert.True(afterCollect.UsedBytes - end.UsedBytes >= OneMiB, "the storage was not returned once its last view was collected");
    }
}

using NeuralCore.Data;
using NeuralCore.Vision;

namespace NeuralCore.Tests.Data;

public class DataLoaderTests
{
    /// <summary>Inputs row i = [i, 10 i], targets i, for N items.</summary>
    static TensorDataset Numbered(int n)
    {
        var x = new float[n * 2];
        for (int i = 0; i < n; i++) { x[2 * i] = i; x[2 * i + 1] = 10 * i; }
        return new TensorDataset(Tensor.FromArray(x, n, 2), Tensor.Arange(n));
    }

    static List<long[]> Targets(DataLoader loader) => loader.Select(b => b.Targets.ToArray<long>()).ToList();

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    public void Batches_HaveExpectedSizesAndContents_WithPartialLastBatch(int workers)
    {
        var loader = new DataLoader(Numbered(10), batchSize: 3, workers: workers);
        Assert.Equal(4, loader.Count);
        var batches = loader.ToList();
        Assert.Equal(4, batches.Count);
        Assert.Equal(new long[] { 3, 2 }, batches[0].Inputs.Shape.ToArray());
        Assert.Equal(new long[] { 1, 2 }, batches[3].Inputs.Shape.ToArray());
        Assert.Equal(new float[] { 9, 90 }, batches[3].Inputs.ToArray<float>());
        Assert.Equal(new long[] { 3, 4, 5 }, batches[1].Targets.ToArray<long>());
        Assert.Equal(new float[] { 3, 30, 4, 40, 5, 50 }, batches[1].Inputs.ToArray<float>());
        Assert.Equal(DType.Int64, batches[0].Targets.DType);
    }

    [Fact]
    public void DropLast_SkipsIncompleteBatch()
    {
        var loader = new DataLoader(Numbered(10), batchSize: 3, dropLast: true);
        Assert.Equal(3, loader.Count);
        var batches = Targets(loader);
        Assert.Equal(3, batches.Count);
        Assert.All(batches, b => Assert.Equal(3, b.Length));
        Assert.Equal(2, new DataLoader(Numbered(10), batchSize: 5, dropLast: true).Count);
        Assert.Equal(0, new DataLoader(Numbered(2), batchSize: 5, dropLast: true).Count);
        Assert.Empty(new DataLoader(Numbered(2), batchSize: 5, dropLast: true));
    }

    [Fact]
    public void Shuffle_SameSeedRepeats_EpochsDiffer_EverySampleOncePerEpoch()
    {
        var a = new DataLoader(Numbered(50), batchSize: 8, shuffle: true, generator: new Generator(123));
        var b = new DataLoader(Numbered(50), batchSize: 8, shuffle: true, generator: new Generator(123));
        var a1 = Targets(a).SelectMany(t => t).ToArray();
        var a2 = Targets(a).SelectMany(t => t).ToArray();
        var b1 = Targets(b).SelectMany(t => t).ToArray();
        var b2 = Targets(b).SelectMany(t => t).ToArray();
        Assert.Equal(a1, b1);
        Assert.Equal(a2, b2);
        Assert.NotEqual(a1, a2);
        Assert.NotEqual(Enumerable.Range(0, 50).Select(i => (long)i).ToArray(), a1);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (long)i), a1.Order());
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (long)i), a2.Order());
        var c1 = Targets(new DataLoader(Numbered(50), batchSize: 8, shuffle: true, generator: new Generator(124))).SelectMany(t => t);
        Assert.NotEqual(a1, c1.ToArray());
    }

    [Fact]
    public void NoShuffle_KeepsDatasetOrder()
    {
        var all = Targets(new DataLoader(Numbered(7), batchSize: 2, generator: new Generator(1))).SelectMany(t => t);
        Assert.Equal(new long[] { 0, 1, 2, 3, 4, 5, 6 }, all);
    }

    /// <summary>UInt8 images with a random augmentation pipeline: the batches must not depend on threading.</summary>
    static TensorDataset Augmented(int n)
    {
        var pixels = new byte[n * 3 * 8 * 8];
        new System.Random(5).NextBytes(pixels);
        var transform = Transforms.Compose(
            Transforms.RandomCrop(6, padding: 2, paddingMode: "reflect"),
            Transforms.RandomHorizontalFlip(),
            Transforms.ToTensor(),
            Transforms.RandomErasing(p: 0.7, value: -1));
        return new TensorDataset(Tensor.FromArray(pixels, n, 3, 8, 8), Tensor.Arange(n), transform);
    }

    static List<float[]> Inputs(DataLoader loader) => loader.Select(b => b.Inputs.ToArray<float>()).ToList();

    [Fact]
    public void RandomTransforms_IdenticalAcrossWorkerCountsAndPrefetch_ForSameSeed()
    {
        var data = Augmented(40);
        var reference = Inputs(new DataLoader(data, batchSize: 6, shuffle: true, generator: new Generator(11), workers: 0));
        foreach (var (workers, prefetch) in new[] { (1, 1), (2, 2), (4, 3), (8, 6) })
        {
            var other = Inputs(new DataLoader(data, batchSize: 6, shuffle: true, generator: new Generator(11), workers: workers, prefetch: prefetch));
            Assert.Equal(reference.Count, other.Count);
            for (int i = 0; i < reference.Count; i++) Assert.Equal(reference[i], other[i]);
        }
        var differentSeed = Inputs(new DataLoader(data, batchSize: 6, shuffle: true, generator: new Generator(12), workers: 2));
        Assert.NotEqual(reference[0], differentSeed[0]);
        // The augmentation really is random: two epochs of one loader differ even in the same order.
        var loader = new DataLoader(data, batchSize: 40, generator: new Generator(3), workers: 2);
        Assert.NotEqual(Inputs(loader)[0], Inputs(loader)[0]);
    }

    [Fact]
    public void ItemwiseBatches_MatchDirectTransformUnderTheDocumentedItemGenerator()
    {
        // The per-item generator of a dataset with a transform is observable: re-deriving it reproduces item 0.
        var data = Augmented(4);
        var loader = new DataLoader(data, batchSize: 4, generator: new Generator(21), workers: 3);
        var batch = loader.First().Inputs;
        var probe = new Generator(21);
        long epochSeed = unchecked((long)probe.NextUInt64());
        using (TransformContext.Use(new Generator(TransformContext.DeriveSeed(epochSeed, 0, 2))))
            Assert.Equal(data[2].Input.ToArray<float>(), batch[2].ToArray<float>());
    }

    sealed class SlowDataset(int n, int failAt = -1) : Dataset
    {
        int fetched;

        public int Fetched => Volatile.Read(ref fetched);

        public override int Count => n;

        public override bool HasItemTransform => true;

        public override (Tensor Input, Tensor Target) this[int index]
        {
            get
            {
                if (index == failAt) throw new InvalidOperationException($"item {index} is broken");
                Thread.Sleep(2);
                Interlocked.Increment(ref fetched);
                return (Tensor.Full([2], index), Tensor.Scalar(index, DType.Int64));
            }
        }
    }

    [Fact]
    public async Task Break_StopsBackgroundWork_AndDoesNotHang()
    {
        var data = new SlowDataset(10_000);
        var loader = new DataLoader(data, batchSize: 10, workers: 2, prefetch: 3);
        var run = Task.Run(() =>
        {
            int seen = 0;
            foreach (var (x, y) in loader)
            {
                Assert.Equal(new long[] { 10, 2 }, x.Shape.ToArray());
                if (++seen == 2) break;
            }
            return seen;
        });
        Assert.Same(run, await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(60))));   // did not hang
        Assert.Equal(2, await run);
        int afterDispose = data.Fetched;
        Thread.Sleep(100);
        Assert.Equal(afterDispose, data.Fetched);            // nothing keeps running after Dispose
        Assert.True(afterDispose <= 10 * (2 + 3), $"fetched {afterDispose} items for 2 consumed batches");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4)]
    public void WorkerException_SurfacesInConsumer(int workers)
    {
        var loader = new DataLoader(new SlowDataset(40, failAt: 23), batchSize: 5, workers: workers);
        int batches = 0;
        var e = Assert.Throws<InvalidOperationException>(() =>
        {
            foreach (var _ in loader) batches++;
        });
        Assert.Contains("item 23 is broken", e.Message);
        Assert.Equal(4, batches);
    }

    sealed class PlainDataset : Dataset
    {
        public override int Count => 5;

        public override (Tensor Input, Tensor Target) this[int index] =>
            (Tensor.FromArray(new float[] { index, -index }), Tensor.Scalar(index * 2, DType.Int64));
    }

    [Fact]
    public void DatasetWithoutGetBatchOverride_IsStackedItemByItem()
    {
        var batches = new DataLoader(new PlainDataset(), batchSize: 2).ToList();
        Assert.Equal(3, batches.Count);
        Assert.Equal(new float[] { 2, -2, 3, -3 }, batches[1].Inputs.ToArray<float>());
        Assert.Equal(new long[] { 4, 6 }, batches[1].Targets.ToArray<long>());
        Assert.Equal(new long[] { 1 }, batches[2].Targets.Shape.ToArray());
    }

    [Fact]
    public void Constructor_RejectsBadArguments()
    {
        var data = Numbered(3);
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(data, batchSize: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(data, prefetch: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(data, workers: -2));
        Assert.Throws<ArgumentNullException>(() => new DataLoader(null!));
        Assert.True(new DataLoader(data).Workers >= 1);
    }

    [Fact]
    public void EnumeratorAfterDispose_Throws_AndResetIsUnsupported()
    {
        var e = new DataLoader(Numbered(4), batchSize: 2).GetEnumerator();
        Assert.True(e.MoveNext());
        Assert.Throws<NotSupportedException>(() => e.Reset());
        e.Dispose();
        e.Dispose();
        Assert.Throws<ObjectDisposedException>(() => e.MoveNext());
    }
}

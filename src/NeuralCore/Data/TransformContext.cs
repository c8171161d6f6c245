namespace NeuralCore.Data;

/// <summary>
/// The generator random transforms draw from on the current thread.
/// </summary>
/// <remarks>
/// <para>
/// A <see cref="DataLoader"/> assembles items on several threads at once, so transforms cannot share one
/// stream without their results depending on thread timing. Instead the loader installs, around each item,
/// a fresh <see cref="NeuralCore.Generator"/> whose seed is derived from (the epoch seed drawn from the
/// loader's generator, the item's position in the epoch). An item's augmentation therefore depends only on
/// the loader's seed, the epoch and the item's position, never on which thread produced it.
/// </para>
/// <para>
/// Outside a loader (no generator installed) transforms draw from <see cref="Rng.Default"/>. Install one
/// explicitly with <c>using (TransformContext.Use(new Generator(7))) transform.Apply(x);</c>.
/// </para>
/// </remarks>
public static class TransformContext
{
    [ThreadStatic] static Generator? current;

    /// <summary>The generator installed on this thread, or <see cref="Rng.Default"/> when none is.</summary>
    public static Generator Generator => current ?? Rng.Default;

    /// <summary>The generator installed on this thread by <see cref="Use"/>, or null.</summary>
    public static Generator? Current => current;

    /// <summary>
    /// Installs <paramref name="generator"/> on this thread until the returned handle is disposed, which restores
    /// the previous one. Handles must be disposed in reverse order of creation (use <c>using</c>).
    /// </summary>
    /// <param name="generator">The generator random transforms should draw from.</param>
    /// <returns>A handle that restores the previous generator when disposed.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="generator"/> is null.</exception>
    public static IDisposable Use(Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        var previous = current;
        current = generator;
        return new Restore(previous);
    }

    /// <summary>
    /// The seed of the generator for stream <paramref name="stream"/>, element <paramref name="counter"/>
    /// under <paramref name="epochSeed"/>: SplitMix64 finalizers decorrelate neighbouring inputs, so items
    /// 0, 1, 2, ... of one epoch and the same items of the next epoch get unrelated Philox keys.
    /// </summary>
    internal static long DeriveSeed(long epochSeed, long stream, long counter)
    {
        ulong x = Mix(unchecked((ulong)epochSeed + 0x9E3779B97F4A7C15UL * (ulong)(stream + 1)));
        return unchecked((long)Mix(x + 0xBF58476D1CE4E5B9UL * (ulong)counter));
    }

    static ulong Mix(ulong z)
    {
        unchecked
        {
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    sealed class Restore(Generator? previous) : IDisposable
    {
        bool disposed;

        public void Dispose()
        {
            if (disposed) return;
            disposed = true;
            current = previous;
        }
    }
}

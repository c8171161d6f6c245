namespace NeuralCore;

/// <summary>
/// The process-wide default random generator, used wherever no explicit <see cref="Generator"/> is passed.
/// </summary>
/// <remarks>
/// As in PyTorch, the default seed is a fixed constant rather than the clock, so a program that never
/// seeds is still reproducible from run to run; call <see cref="ManualSeed"/> to choose another stream.
/// </remarks>
public static class Rng
{
    /// <summary>
    /// The seed <see cref="Default"/> starts with: 0x5EED_1234_ABCD (104,345,454,882,765 decimal).
    /// </summary>
    public const long DefaultSeed = 0x5EED_1234_ABCD;

    /// <summary>
    /// The default generator. Always the same instance: <see cref="ManualSeed"/> reseeds it in place,
    /// so references held elsewhere observe the new seed.
    /// </summary>
    public static Generator Default { get; } = new(DefaultSeed);

    /// <summary>The seed <see cref="Default"/> was last seeded with (<see cref="DefaultSeed"/> until reseeded).</summary>
    public static long InitialSeed => Default.Seed;

    /// <summary>Reseeds <see cref="Default"/> and resets its offset to 0.</summary>
    /// <param name="seed">The new seed.</param>
    public static void ManualSeed(long seed) => Default.ManualSeed(seed);
}

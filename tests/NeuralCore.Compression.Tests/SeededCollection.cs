namespace NeuralCore.Compression.Tests;

/// <summary>Tests that reseed the default generator run one at a time, so their draws are reproducible.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SeededCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Seeded";
}

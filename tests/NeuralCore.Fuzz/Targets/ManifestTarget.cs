using System.Text;
using NeuralCore.Serialization;

namespace NeuralCore.Fuzz.Targets;

/// <summary>
/// The model manifest: <see cref="ModelManifest.Parse"/> on the JSON, then, as loading a model does, building the
/// architecture through the <see cref="ModuleConfigs"/> registry (with a small parameter budget), and writing the
/// manifest back out.
/// </summary>
public sealed class ManifestTarget : FuzzTarget
{
    /// <summary>The parameter elements an architecture may reserve here; larger ones are refused before allocating.</summary>
    public const long ParameterBudget = 1_000_000;

    /// <inheritdoc/>
    public override string Name => "manifest";

    /// <inheritdoc/>
    public override double StructuredShare => 0.8;

    /// <inheritdoc/>
    public override IReadOnlyList<byte[]> Seeds() =>
        [.. ModelSeeds.Manifests(), Encoding.UTF8.GetBytes(new ModelManifest { Name = "weights only", CreatedUtc = DateTimeOffset.UnixEpoch }.ToJson(indented: true))];

    /// <inheritdoc/>
    public override void Execute(byte[] input, string scratch)
    {
        var manifest = ModelManifest.Parse(Encoding.UTF8.GetString(input));
        if (manifest.Architecture is { } architecture) _ = ModuleConfigs.Create(architecture, ParameterBudget);
        _ = manifest.ToJson();
    }

    /// <inheritdoc/>
    public override byte[]? MutateStructured(Mutator mutator, byte[] input) => JsonMutator.Mutate(mutator.Random, input);
}

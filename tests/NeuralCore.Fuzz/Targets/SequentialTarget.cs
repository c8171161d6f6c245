using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using NeuralCore.Nn;
using NeuralCore.Serialization;

namespace NeuralCore.Fuzz.Targets;

/// <summary>
/// A whole model file: <see cref="Sequential.Load"/> (safetensors, manifest, architecture, weights, hash), then one
/// <see cref="Module.Forward"/> on a small input, since a hostile architecture can load and fail only when run.
/// </summary>
/// <remarks>
/// Forward may refuse an input that does not fit the model with <see cref="ArgumentException"/> (its documented
/// refusal); any other exception from it is a failure.
/// </remarks>
public sealed class SequentialTarget : FuzzTarget
{
    /// <inheritdoc/>
    public override string Name => "sequential";

    /// <inheritdoc/>
    public override double StructuredShare => 0.75;

    /// <inheritdoc/>
    public override long AllocationBound => 256L << 20;

    /// <inheritdoc/>
    public override TimeSpan TimeBound => TimeSpan.FromSeconds(5);

    /// <inheritdoc/>
    public override IReadOnlyList<byte[]> Seeds() => ModelSeeds.Files();

    /// <inheritdoc/>
    public override bool IsRefusal(Exception e) =>
        e.GetType() == typeof(InvalidDataException) || e is TargetStepException { InnerException: ArgumentException };

    /// <inheritdoc/>
    public override void Execute(byte[] input, string scratch)
    {
        string path = Path.Combine(scratch, "model.safetensors");
        File.WriteAllBytes(path, input);
        var model = Sequential.Load(path);
        long[] shape = InputShape(model);
        try
        {
            using var noGrad = Tensor.NoGrad();
            model.Eval();
            _ = model.Forward(Tensor.Ones(shape)).NumElements;
        }
        catch (Exception e)
        {
            throw new TargetStepException("Forward", e);
        }
    }

    // A batch of 2 sized for the first layer that fixes the input's shape; 4 features when none does.
    static long[] InputShape(Sequential model)
    {
        foreach (var layer in model)
        {
            switch (layer)
            {
                case Linear l: return [2, Math.Clamp(l.InFeatures, 1, 4096)];
                case Dense { InFeatures: int f }: return [2, Math.Clamp(f, 1, 4096)];
                case Conv2d c: return [2, Math.Clamp(c.InChannels, 1, 64), 9, 9];
                case BatchNorm2d b: return [2, Math.Clamp(b.NumFeatures, 1, 64), 5, 5];
                case BatchNorm1d b: return [2, Math.Clamp(b.NumFeatures, 1, 4096)];
                case LayerNorm n when n.NormalizedShape.Count <= 4 && n.NormalizedShape.NumElements is > 0 and <= 4096:
                    return [2, .. n.NormalizedShape.ToArray()];
                case MaxPool2d or AvgPool2d or AdaptiveAvgPool2d: return [2, 3, 9, 9];
            }
        }
        return [2, 4];
    }

    /// <inheritdoc/>
    public override byte[]? MutateStructured(Mutator mutator, byte[] input)
    {
        var rng = mutator.Random;
        if (!SafeTensorsLayout.TrySplit(input, out var header, out var data)) return null;
        JsonObject? root;
        try
        {
            root = JsonNode.Parse(header) as JsonObject;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
        if (root?["__metadata__"]?[ModelManifest.MetadataKey] is not JsonValue stored || !stored.TryGetValue(out string? manifest))
            return null;
        switch (rng.Next(4))
        {
            case 0:
            {
                // Change the weights and re-sign them, so the change gets past the hash to the layers.
                if (data.Length > 0) data[rng.Next(data.Length)] = (byte)rng.Next(256);
                manifest = Resign(manifest, data);
                break;
            }
            case 1:
            {
                // Edit a tensor entry (dtype, shape, offsets) and leave the manifest as it is.
                var outer = JsonMutator.Mutate(rng, header);
                return SafeTensorsLayout.Join(outer, data);
            }
            default:
                manifest = JsonMutator.Mutate(rng, manifest);
                break;
        }
        root["__metadata__"]![ModelManifest.MetadataKey] = manifest;
        try
        {
            return SafeTensorsLayout.Join(root.ToJsonString(), data);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return null; // a mutated manifest the JSON writer cannot encode (a lone surrogate in raw form)
        }
    }

    static string Resign(string manifest, byte[] data)
    {
        string hash = Convert.ToHexStringLower(SHA256.HashData(data));
        return System.Text.RegularExpressions.Regex.Replace(manifest, "\"weightsSha256\"\\s*:\\s*\"[0-9a-fA-F]*\"", $"\"weightsSha256\":\"{hash}\"");
    }
}

using NeuralCore.Nn;

namespace NeuralCore.Federated;

/// <summary>
/// A module's trainable state as one flat float vector: every float32 entry of <see cref="Module.StateDict"/>
/// (parameters and float buffers), in ordinal order of their names, row-major. This is what the coordinator and the
/// clients exchange and average; both sides build the same architecture, so the order agrees.
/// </summary>
public static class ModelVector
{
    /// <summary>The number of floats in <paramref name="model"/>'s vector.</summary>
    /// <param name="model">A module whose shapes are known (lazy layers already built).</param>
    /// <returns>The vector length.</returns>
    /// <exception cref="NotSupportedException">A state entry is not float32.</exception>
    public static long Count(Module model) => Entries(model).Sum(e => e.Tensor.NumElements);

    /// <summary>Copies <paramref name="model"/>'s state into a new vector.</summary>
    /// <param name="model">The module.</param>
    /// <returns>The flat vector.</returns>
    /// <exception cref="NotSupportedException">A state entry is not float32, or the state exceeds 2^31 - 1 floats.</exception>
    public static float[] Flatten(Module model)
    {
        var entries = Entries(model);
        long total = entries.Sum(e => e.Tensor.NumElements);
        if (total > Array.MaxLength)
            throw new NotSupportedException($"ModelVector.Flatten: the model has {total} floats, more than one array holds ({Array.MaxLength}).");
        var result = new float[total];
        long at = 0;
        foreach (var (_, tensor) in entries)
        {
            tensor.Contiguous().ToArray<float>().CopyTo(result, at);
            at += tensor.NumElements;
        }
        return result;
    }

    /// <summary>Overwrites <paramref name="model"/>'s state with <paramref name="vector"/>.</summary>
    /// <param name="model">The module to load into.</param>
    /// <param name="vector">A vector of <see cref="Count"/> floats, as <see cref="Flatten"/> lays it out.</param>
    /// <exception cref="ArgumentException">The vector's length differs from the model's.</exception>
    /// <exception cref="NotSupportedException">A state entry is not float32.</exception>
    public static void Load(Module model, ReadOnlySpan<float> vector)
    {
        var entries = Entries(model);
        long total = entries.Sum(e => e.Tensor.NumElements);
        if (vector.Length != total)
            throw new ArgumentException($"ModelVector.Load: the vector has {vector.Length} floats but the model's state has {total}.", nameof(vector));
        using var noGrad = Tensor.NoGrad();
        int at = 0;
        foreach (var (_, tensor) in entries)
        {
            int n = checked((int)tensor.NumElements);
            var values = Tensor.FromArray(vector.Slice(at, n).ToArray(), [.. tensor.Shape]);
            tensor.Copy_(values);
            at += n;
        }
    }

    static List<(string Name, Tensor Tensor)> Entries(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var entries = new List<(string, Tensor)>();
        foreach (var (name, tensor) in model.StateDict().OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, kv.Value)))
        {
            if (tensor.DType != DType.Float32)
                throw new NotSupportedException($"ModelVector: state entry '{name}' is {tensor.DType}; federated averaging exchanges float32 state only.");
            entries.Add((name, tensor));
        }
        return entries;
    }
}

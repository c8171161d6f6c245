namespace NeuralCore.Nn;

/// <summary>
/// The keys and values one attention layer has seen, kept so that generating a new token computes only that
/// token's position: the layer appends the new keys and values and attends over everything cached. Storage is
/// allocated once, on the first append, for <see cref="Capacity"/> positions ([B, H, capacity, headDim] each).
/// </summary>
public sealed class AttentionCache
{
    Tensor? keys, values;

    /// <summary>Creates an empty cache for up to <paramref name="capacity"/> positions.</summary>
    /// <exception cref="ArgumentOutOfRangeException">capacity is not positive.</exception>
    public AttentionCache(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        Capacity = capacity;
    }

    /// <summary>The most positions it holds.</summary>
    public int Capacity { get; }

    /// <summary>The number of positions cached so far.</summary>
    public int Length { get; private set; }

    /// <summary>Forgets every position (the storage is kept for reuse).</summary>
    public void Reset() => Length = 0;

    /// <summary>
    /// Appends keys and values [B, H, n, D] and returns views of all cached ones [B, H, Length, D]. Runs without
    /// recording gradients: the cache serves inference.
    /// </summary>
    /// <exception cref="InvalidOperationException">The cache would exceed its capacity.</exception>
    /// <exception cref="ArgumentException">The shapes differ from those cached before.</exception>
    public (Tensor Keys, Tensor Values) Append(Tensor newKeys, Tensor newValues)
    {
        ArgumentNullException.ThrowIfNull(newKeys);
        ArgumentNullException.ThrowIfNull(newValues);
        if (newKeys.Dim != 4 || newValues.Dim != 4)
            throw new ArgumentException($"AttentionCache: keys and values must be [B, H, n, D], got {newKeys.Shape} and {newValues.Shape}.");
        int n = (int)newKeys.Shape[2];
        if (Length + n > Capacity)
            throw new InvalidOperationException($"AttentionCache: {Length} cached plus {n} new positions exceed the capacity of {Capacity}.");
        using (Tensor.NoGrad())
        {
            keys = Storage(keys, newKeys);
            values = Storage(values, newValues);
            keys.Narrow(2, Length, n).Copy_(newKeys);
            values.Narrow(2, Length, n).Copy_(newValues);
        }
        Length += n;
        return (keys.Narrow(2, 0, Length), values.Narrow(2, 0, Length));
    }

    Tensor Storage(Tensor? current, Tensor incoming)
    {
        var s = incoming.Shape;
        if (current is not null && current.Shape[0] == s[0] && current.Shape[1] == s[1] && current.Shape[3] == s[3]
            && current.DType == incoming.DType && current.Device == incoming.Device)
            return current;
        if (Length > 0)
            throw new ArgumentException($"AttentionCache: new entries {s} do not match the cached [{current?.Shape[0]}, {current?.Shape[1]}, *, {current?.Shape[3]}].");
        return Tensor.Zeros([s[0], s[1], Capacity, s[3]], incoming.DType, incoming.Device);
    }
}

/// <summary>One <see cref="AttentionCache"/> per layer of a transformer stack.</summary>
public sealed class KeyValueCache
{
    readonly AttentionCache[] layers;

    /// <summary>Creates empty caches for <paramref name="numLayers"/> layers of up to <paramref name="capacity"/> positions.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public KeyValueCache(int numLayers, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numLayers);
        layers = new AttentionCache[numLayers];
        for (int i = 0; i < numLayers; i++) layers[i] = new AttentionCache(capacity);
    }

    /// <summary>The cache of layer <paramref name="layer"/>.</summary>
    public AttentionCache this[int layer] => layers[layer];

    /// <summary>The number of layers.</summary>
    public int Count => layers.Length;

    /// <summary>The number of positions cached (that of the first layer; all advance together).</summary>
    public int Length => layers[0].Length;

    /// <summary>The most positions each layer holds.</summary>
    public int Capacity => layers[0].Capacity;

    /// <summary>Forgets every position of every layer.</summary>
    public void Reset()
    {
        foreach (var l in layers) l.Reset();
    }
}

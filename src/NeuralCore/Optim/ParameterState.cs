using System.Diagnostics.CodeAnalysis;

namespace NeuralCore.Optim;

/// <summary>
/// An optimizer's state for one parameter: named tensors (<c>exp_avg</c>, <c>momentum_buffer</c>, ...) and a
/// step count, as PyTorch's <c>optimizer.state[p]</c>. Tensors stored here outlive any <see cref="Tensor.Scope"/>.
/// </summary>
public sealed class ParameterState
{
    readonly Dictionary<string, Tensor> tensors = [];

    internal ParameterState() { }

    /// <summary>Number of updates applied to this parameter by optimizers that count them (Adam, RMSprop).</summary>
    public long Step { get; set; }

    /// <summary>The named state tensors.</summary>
    public IReadOnlyDictionary<string, Tensor> Tensors => tensors;

    /// <summary>The state tensor named <paramref name="name"/>, when present.</summary>
    public bool TryGet(string name, [MaybeNullWhen(false)] out Tensor tensor) => tensors.TryGetValue(name, out tensor);

    /// <summary>Stores <paramref name="tensor"/> as <paramref name="name"/>, detaching it from the current scope.</summary>
    public void Set(string name, Tensor tensor)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(tensor);
        tensors[name] = tensor.DetachFromScope();
    }

    /// <summary>The state tensor named <paramref name="name"/>, created as zeros shaped like <paramref name="like"/> when absent.</summary>
    public Tensor GetOrZeros(string name, Tensor like)
    {
        if (tensors.TryGetValue(name, out var t)) return t;
        t = Tensor.ZerosLike(like);
        Set(name, t);
        return t;
    }
}

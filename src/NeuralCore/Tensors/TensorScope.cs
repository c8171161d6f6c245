namespace NeuralCore;

/// <summary>
/// A region (typically one training step) whose temporary tensors are released when it ends.
/// Created by <see cref="Tensor.Scope"/>; dispose it with <c>using</c>.
/// </summary>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] static TensorScope? current;
    readonly TensorScope? parent;
    readonly List<Tensor> tensors = [];
    bool ended;

    TensorScope(TensorScope? parent) => this.parent = parent;

    internal static TensorScope Begin() => current = new TensorScope(current);

    internal static void Track(Tensor t)
    {
        var s = current;
        if (s is null) return;
        t.scope = s;
        s.tensors.Add(t);
    }

    /// <summary>Number of tensors this scope will dispose if it ended now.</summary>
    public int Count
    {
        get
        {
            int n = 0;
            foreach (var t in tensors) if (t.scope == this && !t.IsDisposed) n++;
            return n;
        }
    }

    /// <summary>Keeps <paramref name="tensor"/> alive past this scope: it moves to the enclosing scope, if any.</summary>
    public Tensor Keep(Tensor tensor)
    {
        if (tensor.scope != this) return tensor;
        tensor.scope = parent;
        parent?.tensors.Add(tensor);
        return tensor;
    }

    /// <summary>Disposes every tensor created in the scope that was not kept.</summary>
    public void Dispose()
    {
        if (ended) return;
        ended = true;
        if (current == this) current = parent;
        foreach (var t in tensors)
            if (t.scope == this) t.Dispose();
        tensors.Clear();
    }
}

namespace NeuralCore.Nn;

public abstract partial class Module
{
    List<Func<Module, Tensor, Tensor, Tensor?>>? forwardHooks;

    /// <summary>
    /// Registers a forward hook, as PyTorch's <c>register_forward_hook</c>: after this module computes an output
    /// through <see cref="Call"/>, <paramref name="hook"/> receives (module, input, output) and may return a
    /// replacement output (null keeps it). Hooks run in registration order, each seeing the previous one's result.
    /// <see cref="Sequential"/> runs its children through <see cref="Call"/>, so hooks on any layer of a
    /// Sequential fire; a custom module's own <c>Forward</c> fires its children's hooks when it calls them through
    /// <see cref="Call"/> rather than <see cref="Forward"/>. Dispose the returned handle to remove the hook.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="hook"/> is null.</exception>
    public IDisposable RegisterForwardHook(Func<Module, Tensor, Tensor, Tensor?> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        (forwardHooks ??= []).Add(hook);
        return new ForwardHookHandle(this, hook);
    }

    /// <summary>
    /// Runs <see cref="Forward"/> and then this module's forward hooks (see <see cref="RegisterForwardHook"/>);
    /// the same as <see cref="Forward"/> when no hook is registered.
    /// </summary>
    public Tensor Call(Tensor x)
    {
        var y = Forward(x);
        if (forwardHooks is not { Count: > 0 } hooks) return y;
        foreach (var hook in hooks.ToArray()) y = hook(this, x, y) ?? y;
        return y;
    }

    sealed class ForwardHookHandle(Module owner, Func<Module, Tensor, Tensor, Tensor?> hook) : IDisposable
    {
        public void Dispose() => owner.forwardHooks?.Remove(hook);
    }
}

using NeuralCore.Autograd;

namespace NeuralCore;

// Extension points of the autograd engine: gradient hooks on leaves, callbacks at the end of a backward pass and
// user-defined differentiable functions.
public sealed partial class Tensor
{
    List<Action<Tensor>>? postAccumulateGradHooks;

    internal List<Action<Tensor>>? PostAccumulateGradHooks => postAccumulateGradHooks;

    /// <summary>
    /// Registers <paramref name="hook"/> to run, with this tensor, each time a <see cref="Backward"/> pass has
    /// finished accumulating this leaf's gradient into <see cref="Grad"/>: once per pass, after every contribution
    /// of that pass arrived, and only in passes that reach this leaf (as PyTorch's
    /// <c>register_post_accumulate_grad_hook</c>). Data-parallel training uses it to start averaging a gradient
    /// while the rest of the backward pass still runs. Hooks run on the thread that called <see cref="Backward"/>,
    /// in registration order, with grad mode off.
    /// </summary>
    /// <param name="hook">Called with this tensor; it may read and replace <see cref="Grad"/>.</param>
    /// <returns>A handle whose <c>Dispose</c> removes the hook.</returns>
    /// <exception cref="InvalidOperationException">The tensor is not a leaf that requires grad.</exception>
    public IDisposable RegisterPostAccumulateGradHook(Action<Tensor> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        if (!IsLeaf || !RequiresGrad)
            throw new InvalidOperationException(
                $"RegisterPostAccumulateGradHook: only leaf tensors that require grad accumulate gradients; this one is {(IsLeaf ? "a leaf without RequiresGrad" : "produced by " + GradFnName)}.");
        (postAccumulateGradHooks ??= []).Add(hook);
        return new HookHandle(this, hook);
    }

    sealed class HookHandle(Tensor owner, Action<Tensor> hook) : IDisposable
    {
        public void Dispose() => owner.postAccumulateGradHooks?.Remove(hook);
    }

    /// <summary>
    /// Queues <paramref name="callback"/> to run once the <see cref="Backward"/> pass now running on this thread has
    /// finished (after every gradient was accumulated and every post-accumulate hook ran), as PyTorch's
    /// <c>queue_callback</c>. Callbacks run in the order queued; they do not run when the pass fails.
    /// </summary>
    /// <param name="callback">The action to run at the end of the pass.</param>
    /// <exception cref="InvalidOperationException">No backward pass is running on this thread (call it from a gradient hook).</exception>
    public static void QueueBackwardCallback(Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        Engine.QueueCallback(callback);
    }

    /// <summary>
    /// Makes <paramref name="output"/> the result of a user-defined differentiable function of
    /// <paramref name="inputs"/>, as PyTorch's <c>autograd.Function</c>: compute <paramref name="output"/> without
    /// recording (under <see cref="NoGrad"/>), then call this; a later <see cref="Backward"/> calls
    /// <paramref name="backward"/> with the gradient of the loss with respect to <paramref name="output"/>, and it
    /// returns one gradient per input, each shaped like that input (null where an input needs none). When grad mode
    /// is off or no input requires grad, <paramref name="output"/> is returned unrecorded.
    /// </summary>
    /// <param name="name">Names the function in errors and <see cref="GradFnName"/> (<c>name + "Backward"</c>).</param>
    /// <param name="output">The function's result, computed without recording.</param>
    /// <param name="inputs">The tensors the result depends on.</param>
    /// <param name="backward">Maps the output's gradient to the inputs' gradients; runs with grad mode off.</param>
    /// <returns><paramref name="output"/>, now part of the graph.</returns>
    /// <exception cref="ArgumentException"><paramref name="output"/> is already recorded by another op, or the name is empty.</exception>
    public static Tensor RecordFunction(string name, Tensor output, Tensor[] inputs, Func<Tensor, Tensor?[]> backward)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(backward);
        foreach (var t in inputs) ArgumentNullException.ThrowIfNull(t, nameof(inputs));
        if (!output.IsLeaf)
            throw new ArgumentException($"RecordFunction({name}): the output is already recorded by {output.GradFnName}; compute it under Tensor.NoGrad().", nameof(output));
        if (output.RequiresGrad)
            throw new ArgumentException($"RecordFunction({name}): the output is a leaf that requires grad; pass a fresh result computed under Tensor.NoGrad().", nameof(output));
        return Engine.Record(output, new BackwardRule(name, (_, grad) => backward(grad)), inputs.ToArray());
    }
}

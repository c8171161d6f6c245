using NeuralCore.Profiling;
namespace NeuralCore.Autograd;

/// <summary>Graph recording and the reverse-mode sweep.</summary>
internal static class Engine
{
    /// <summary>
    /// Records <paramref name="output"/> as produced by <paramref name="rule"/> from <paramref name="inputs"/>
    /// when grad mode is on and some input requires grad. Returns the output for chaining.
    /// </summary>
    public static Tensor Record(Tensor output, BackwardRule rule, Tensor[] inputs, int[]? ints = null,
        double a = 0, double b = 0, Tensor? saved = null, bool saveOutput = false)
    {
        if (!GradMode.Enabled) return output;
        bool any = false;
        foreach (var t in inputs) any |= t.RequiresGrad;
        if (!any) return output;
        return Attach(output, new Node(rule, inputs) { Ints = ints ?? [], A = a, B = b, Saved = saved }, saveOutput);
    }

    /// <summary><see cref="Record"/> for a unary op; allocates nothing when no graph is recorded.</summary>
    public static Tensor RecordUnary(Tensor output, BackwardRule rule, Tensor x, double a, double b, bool saveOutput)
    {
        if (!x.RequiresGrad || !GradMode.Enabled) return output;
        return Attach(output, new Node(rule, [x]) { A = a, B = b }, saveOutput);
    }

    /// <summary><see cref="Record"/> for a binary op; allocates nothing when no graph is recorded.</summary>
    public static Tensor RecordBinary(Tensor output, BackwardRule rule, Tensor x, Tensor y, bool saveOutput)
    {
        if (!(x.RequiresGrad || y.RequiresGrad) || !GradMode.Enabled) return output;
        return Attach(output, new Node(rule, [x, y]), saveOutput);
    }

    static Tensor Attach(Tensor output, Node node, bool saveOutput)
    {
        if (saveOutput) node.Output = output.Detach();
        output.GradFn = node;
        output.MarkRequiresGrad();
        return output;
    }

    public static void Backward(Tensor root, Tensor? gradient, bool retainGraph)
    {
        if (!root.RequiresGrad)
            throw new InvalidOperationException("Backward: the tensor does not require grad and has no grad function (no input of its graph has RequiresGrad set).");
        if (gradient is null)
        {
            if (root.NumElements != 1)
                throw new InvalidOperationException($"Backward: a gradient argument is needed for a non-scalar output of shape {root.Shape}.");
            gradient = Tensor.OnesLike(root);
        }
        else if (gradient.Shape != root.Shape)
            throw new ArgumentException($"Backward: gradient shape {gradient.Shape} does not match output shape {root.Shape}.");

        using var _ = GradMode.Disable();
        var outer = callbacks;
        var queued = new List<Action>();
        callbacks = queued;
        try
        {
            Sweep(root, gradient, retainGraph);
            // Callbacks may queue more callbacks; those run in this pass too.
            for (int i = 0; i < queued.Count; i++) queued[i]();
        }
        finally
        {
            callbacks = outer;
        }
    }

    // Callbacks queued during the backward pass running on this thread (null when none runs).
    [ThreadStatic] static List<Action>? callbacks;

    public static void QueueCallback(Action callback)
    {
        if (callbacks is null)
            throw new InvalidOperationException("QueueBackwardCallback: no backward pass is running on this thread; call it from a gradient hook.");
        callbacks.Add(callback);
    }

    // A leaf's gradient is accumulated once per pass, when its last use in the graph has been handled, so its
    // post-accumulate hooks see the pass's whole contribution.
    static void Sweep(Tensor root, Tensor gradient, bool retainGraph)
    {
        if (root.GradFn is null)
        {
            Accumulate(root, gradient);
            return;
        }

        using var phase = FlopCounter.EnterPhase(FlopPhase.Backward);
        var order = TopologicalOrder(root.GradFn);
        var uses = new Dictionary<Tensor, int>(ReferenceEqualityComparer.Instance);
        foreach (var node in order)
            foreach (var input in node.Inputs)
                if (input.RequiresGrad && input.GradFn is null)
                    uses[input] = uses.GetValueOrDefault(input) + 1;
        var leafGrads = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance);
        var pending = new Dictionary<Node, Tensor> { [root.GradFn] = gradient };
        foreach (var node in order)
        {
            var inputs = node.Inputs;
            bool reached = pending.Remove(node, out var grad);
            Tensor?[] grads = reached ? node.Rule.Fn(node, grad!) : [];
            for (int i = 0; i < inputs.Length; i++)
            {
                var input = inputs[i];
                if (!input.RequiresGrad) continue;
                var g = i < grads.Length ? grads[i] : null;
                if (g is not null && g.Shape != input.Shape)
                    throw new InvalidOperationException($"{node.Rule.Name}Backward returned a gradient of shape {g.Shape} for input {i} of shape {input.Shape}.");
                if (input.GradFn is { } producer)
                {
                    if (g is not null) pending[producer] = pending.TryGetValue(producer, out var acc) ? acc + g : g;
                    continue;
                }
                if (g is not null) leafGrads[input] = leafGrads.TryGetValue(input, out var sum) ? sum + g : g;
                if (--uses[input] == 0 && leafGrads.Remove(input, out var total)) Accumulate(input, total);
            }
            if (reached && !retainGraph) node.Release();
        }
    }

    // Leaves get their own dense copy of the gradient: a rule may hand the same tensor (or a broadcast view of
    // one) to several inputs, and optimizers and clipping update .Grad in place.
    static void Accumulate(Tensor leaf, Tensor g)
    {
        if (g.DType != leaf.DType) g = g.To(leaf.DType);
        var grad = leaf.Grad is null ? g.Clone() : leaf.Grad + g;
        grad.DetachFromScope();
        leaf.Grad = grad;
        if (leaf.PostAccumulateGradHooks is { Count: > 0 } hooks)
            foreach (var hook in hooks.ToArray()) hook(leaf);
    }

    // Reverse topological order (outputs before inputs) by an iterative depth-first search, so deep graphs
    // (long recurrent chains) cannot overflow the stack.
    static List<Node> TopologicalOrder(Node root)
    {
        var postOrder = new List<Node>();
        var visited = new HashSet<Node> { root };
        var stack = new Stack<(Node Node, int Next)>();
        stack.Push((root, 0));
        while (stack.Count > 0)
        {
            var (node, next) = stack.Pop();
            var inputs = node.Inputs;
            if (next < inputs.Length)
            {
                stack.Push((node, next + 1));
                if (inputs[next].GradFn is { } child && visited.Add(child)) stack.Push((child, 0));
                continue;
            }
            postOrder.Add(node);
        }
        postOrder.Reverse();
        return postOrder;
    }
}

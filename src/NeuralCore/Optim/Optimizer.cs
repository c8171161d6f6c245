using NeuralCore.Backends;
using NeuralCore.Profiling;

namespace NeuralCore.Optim;

/// <summary>
/// Base class of the optimizers: parameter groups, per-parameter state, the L1/L2 penalties and the update loop.
/// A derived optimizer supplies only <see cref="Update"/> (one parameter's in-place update) and
/// <see cref="StateNames"/> (the state tensors it keeps).
/// </summary>
/// <remarks>
/// <para>Each <see cref="Step"/> runs under <see cref="Tensor.NoGrad"/> and, for every parameter with a gradient,
/// forms the effective gradient</para>
/// <para><c>g = ∇loss (negated when maximizing) + λ1·sign(w) + 2·λ2·w</c></para>
/// <para>with the group's <see cref="ParamGroup.L1"/> = λ1 and <see cref="ParamGroup.L2"/> = λ2: the exact gradient
/// of <c>loss + λ1·Σ|w| + λ2·Σw²</c>. The optimizer's own <c>weightDecay</c> argument keeps PyTorch's meaning on top of
/// that: SGD, Adam and RMSprop add wd·w to g (coupled, the gradient of (wd/2)·Σw²); AdamW shrinks w ← w·(1 − lr·wd)
/// (decoupled). <see cref="Tensor.Grad"/> itself is never modified.</para>
/// <para>An optimizer built without parameters (<c>new Adam(lr: 1e-3)</c>, or the name <c>"adam"</c>) is unbound
/// until <see cref="Bind"/> gives it parameters; Keras-style <c>Fit</c> does that.</para>
/// </remarks>
public abstract partial class Optimizer
{
    readonly List<ParamGroup> groups = [];
    readonly Dictionary<Tensor, ParameterState> state = new(ReferenceEqualityComparer.Instance);
    readonly List<(double Coefficient, Tensor Sum)> penaltyTerms = [];
    Tensor? penaltyTotal;
    double? lastPenalty = 0;
    double lr;

    /// <summary>Creates an unbound optimizer with default learning rate <paramref name="lr"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="lr"/> is negative or NaN.</exception>
    protected Optimizer(double lr) => Lr = lr;

    /// <summary>Creates an optimizer over <paramref name="parameters"/> (one group).</summary>
    /// <exception cref="ArgumentException">The list is empty or invalid (see <see cref="ParamGroup"/>).</exception>
    protected Optimizer(IEnumerable<Tensor> parameters, double lr) : this(lr)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var group = new ParamGroup(parameters);
        if (group.Parameters.Count == 0)
            throw new ArgumentException($"{GetType().Name}: got an empty parameter list.", nameof(parameters));
        AddParamGroup(group);
    }

    /// <summary>Creates an optimizer over <paramref name="paramGroups"/>.</summary>
    /// <exception cref="ArgumentException">There are no groups, or a parameter appears in two groups.</exception>
    protected Optimizer(IEnumerable<ParamGroup> paramGroups, double lr) : this(lr)
    {
        ArgumentNullException.ThrowIfNull(paramGroups);
        foreach (var g in paramGroups) AddParamGroup(g);
        if (groups.Count == 0)
            throw new ArgumentException($"{GetType().Name}: got an empty list of parameter groups.", nameof(paramGroups));
    }

    /// <summary>
    /// The default learning rate: the rate of every group whose <see cref="ParamGroup.Lr"/> is null. Setting it
    /// leaves groups with their own rate unchanged. Schedulers set it (and each own group rate) every step.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative or NaN.</exception>
    public double Lr
    {
        get => lr;
        set => lr = ParamGroup.CheckNonNegative(value, nameof(Lr));
    }

    /// <summary>The learning rate <paramref name="group"/> trains with: its own, or <see cref="Lr"/>.</summary>
    public double EffectiveLr(ParamGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        return group.Lr ?? Lr;
    }

    /// <summary>The parameter groups, in order (empty while unbound).</summary>
    public IReadOnlyList<ParamGroup> ParamGroups => groups;

    /// <summary>True once the optimizer has parameters.</summary>
    public bool IsBound => groups.Count > 0;

    /// <summary>
    /// The penalty Σ over groups of λ1·Σ|w| + λ2·Σw², evaluated in the last <see cref="Step"/> on the weights the
    /// gradients were taken at (before the update); 0 before the first step or when no group has a penalty.
    /// Add it to the data loss to get the regularized objective.
    /// </summary>
    public double LastPenalty
    {
        get
        {
            if (lastPenalty is double v) return v;
            double sum = LastPenaltyTensor()!.Item<double>();
            DisposePenaltyTerms();
            lastPenalty = sum;
            return sum;
        }
    }

    /// <summary>
    /// <see cref="LastPenalty"/> as a 0-d Float64 tensor on the parameters' device, computed there without reading
    /// anything back (null when it is a plain 0: before the first step, without penalties, or once read). The terms
    /// are summed in Float64 in the same order as the host sum, so reading it gives the same bits.
    /// </summary>
    internal Tensor? LastPenaltyTensor()
    {
        if (penaltyTotal is not null || penaltyTerms.Count == 0) return penaltyTotal;
        using (Tensor.NoGrad())
        using (var scope = Tensor.Scope())
        {
            Tensor? total = null;
            foreach (var (c, t) in penaltyTerms)
            {
                var term = t.To(DType.Float64).Mul(c);
                total = total is null ? term : total + (term.Device.Equals(total.Device) ? term : term.To(total.Device));
            }
            penaltyTotal = total!.DetachFromScope();
        }
        return penaltyTotal;
    }

    /// <summary>True when the optimizer ascends the objective (negates the loss gradient before the penalties).</summary>
    protected virtual bool Maximize => false;

    /// <summary>
    /// Gives an unbound optimizer its parameters (one group). Binding again to the same parameters, in the same
    /// order, does nothing (so repeated <c>Fit</c> calls keep the state).
    /// </summary>
    /// <exception cref="InvalidOperationException">The optimizer is already bound to other parameters.</exception>
    /// <exception cref="ArgumentException">The list is empty or invalid.</exception>
    public void Bind(IEnumerable<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var list = parameters.ToList();
        if (IsBound)
        {
            if (AllParameters().SequenceEqual(list, ReferenceEqualityComparer.Instance)) return;
            throw new InvalidOperationException($"{GetType().Name}.Bind: the optimizer is already bound to other parameters; create a new optimizer for another model.");
        }
        var group = new ParamGroup(list);
        if (group.Parameters.Count == 0)
            throw new ArgumentException($"{GetType().Name}.Bind: got an empty parameter list.", nameof(parameters));
        AddParamGroup(group);
    }

    /// <summary>Adds a parameter group (PyTorch's <c>add_param_group</c>), e.g. when unfreezing layers.</summary>
    /// <exception cref="ArgumentException">A parameter of <paramref name="group"/> is already optimized here.</exception>
    public void AddParamGroup(ParamGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        if (groups.Contains(group))
            throw new ArgumentException($"{GetType().Name}: this parameter group was already added.", nameof(group));
        var existing = new HashSet<Tensor>(AllParameters(), ReferenceEqualityComparer.Instance);
        for (int i = 0; i < group.Parameters.Count; i++)
            if (existing.Contains(group.Parameters[i]))
                throw new ArgumentException($"{GetType().Name}: parameter {i} of the new group (shape {group.Parameters[i].Shape}) already belongs to another group.", nameof(group));
        groups.Add(group);
    }

    /// <summary>Every parameter of every group, in order; the index is the one used by <see cref="StateDict"/>.</summary>
    public IEnumerable<Tensor> AllParameters() => groups.SelectMany(g => g.Parameters);

    /// <summary>Clears the gradients of every parameter (sets <see cref="Tensor.Grad"/> to null, as PyTorch's default).</summary>
    public void ZeroGrad()
    {
        foreach (var group in groups)
        {
            var ps = group.Parameters;
            for (int i = 0; i < ps.Count; i++) ps[i].Grad = null;
        }
    }

    /// <summary>
    /// Like <see cref="ZeroGrad"/>, but also disposes the dropped gradient tensors, so their memory returns to the
    /// pool at once instead of when the garbage collector finds them. Only for loops that own every reference to
    /// the gradients (the Keras-style <c>Fit</c> loop): a gradient tensor read before this call is unusable after it.
    /// </summary>
    internal void ReleaseGrads()
    {
        foreach (var group in groups)
            foreach (var p in group.Parameters)
            {
                p.Grad?.Dispose();
                p.Grad = null;
            }
    }

    List<Action<Optimizer>>? stepPreHooks;

    /// <summary>
    /// Registers <paramref name="hook"/> to run at the start of every <see cref="Step"/>, in the caller's grad mode, before any
    /// parameter is updated; it may replace the parameters' <see cref="Tensor.Grad"/> (as PyTorch's
    /// <c>register_step_pre_hook</c>). Differentially private training clips and noises the gradients there.
    /// </summary>
    /// <returns>A handle whose <c>Dispose</c> removes the hook.</returns>
    public IDisposable RegisterStepPreHook(Action<Optimizer> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        (stepPreHooks ??= []).Add(hook);
        return new StepHookHandle(this, hook);
    }

    sealed class StepHookHandle(Optimizer owner, Action<Optimizer> hook) : IDisposable
    {
        public void Dispose() => owner.stepPreHooks?.Remove(hook);
    }

    /// <summary>
    /// Applies one update to every parameter that has a gradient (parameters without one are skipped, as in PyTorch)
    /// and records <see cref="LastPenalty"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The optimizer has no parameters yet.</exception>
    public void Step()
    {
        if (!IsBound)
            throw new InvalidOperationException(
                $"{GetType().Name}.Step: the optimizer has no parameters. It was created without any (e.g. new {GetType().Name}(lr: ...) or a Keras name such as \"adam\"); " +
                "pass it to Sequential.Compile so Fit binds it, or call Bind(model.Parameters()) first.");
        if (stepPreHooks is { Count: > 0 } hooks)
            foreach (var hook in hooks.ToArray()) hook(this);
        DisposePenaltyTerms();
        lastPenalty = null;
        using var phase = FlopCounter.EnterPhase(FlopPhase.Optimizer);
        using (Tensor.NoGrad())
            foreach (var group in groups)
            {
                double groupLr = EffectiveLr(group);
                var ps = group.Parameters;
                for (int i = 0; i < ps.Count; i++)
                {
                    var p = ps[i];
                    if (group.L1 != 0) penaltyTerms.Add((group.L1, p.Abs().Sum().DetachFromScope()));
                    if (group.L2 != 0) penaltyTerms.Add((group.L2, p.Square().Sum().DetachFromScope()));
                    if (p.Grad is not { } grad) continue;
                    if (UseFusedKernels && TryFusedUpdate(group, p, grad, groupLr,
                            new FusedGradientTerms(Maximize ? -1 : 1, group.L1, 2 * group.L2, 0)))
                        continue;
                    var g = Maximize ? grad.Neg() : grad;
                    if (group.L1 != 0) g = g.Add(p.Sign(), group.L1);
                    if (group.L2 != 0) g = g.Add(p, 2 * group.L2);
                    Update(group, p, g, groupLr);
                }
            }
        if (penaltyTerms.Count == 0) lastPenalty = 0;
    }

    /// <summary>
    /// Whether <see cref="Step"/> may use the one-pass update of a backend that implements
    /// <see cref="IFusedOptimizerKernels"/> (default true). Off, every update runs the composed tensor ops, as on
    /// backends without the capability; tests compare the two.
    /// </summary>
    internal bool UseFusedKernels { get; set; } = true;

    /// <summary>
    /// Updates <paramref name="parameter"/> and its state in one pass through the backend's
    /// <see cref="IFusedOptimizerKernels"/>, from the raw gradient and the effective-gradient
    /// <paramref name="terms"/> (sign for maximize, L1/L2 penalties); the optimizer adds its own coupled decay.
    /// Returns false, having changed nothing, when the optimizer has no fused form or an operand does not
    /// qualify (see <see cref="FusedKernels"/>); <see cref="Update"/> then runs.
    /// </summary>
    private protected virtual bool TryFusedUpdate(ParamGroup group, Tensor parameter, Tensor gradient, double lr,
        FusedGradientTerms terms) => false;

    /// <summary>
    /// The fused kernels of <paramref name="parameter"/>'s backend when it has them and the parameter and
    /// gradient are dense Float32/Float64 tensors of one shape, dtype and backend; otherwise null.
    /// </summary>
    private protected static IFusedOptimizerKernels? FusedKernels(Tensor parameter, Tensor gradient) =>
        parameter.Backend is IFusedOptimizerKernels k
        && parameter.DType is DType.Float32 or DType.Float64
        && parameter.IsContiguous
        && FusedCompatible(parameter, gradient)
            ? k : null;

    /// <summary>True when <paramref name="other"/> (a gradient or state tensor) can join <paramref name="parameter"/> in a fused update.</summary>
    private protected static bool FusedCompatible(Tensor parameter, Tensor other) =>
        !other.IsDisposed && ReferenceEquals(other.Backend, parameter.Backend) && other.DType == parameter.DType
        && other.IsContiguous && other.Shape == parameter.Shape;

    void DisposePenaltyTerms()
    {
        foreach (var (_, t) in penaltyTerms) t.Dispose();
        penaltyTerms.Clear();
        penaltyTotal?.Dispose();
        penaltyTotal = null;
    }

    /// <summary>
    /// Updates <paramref name="parameter"/> in place from the effective gradient <paramref name="gradient"/> (loss
    /// gradient plus L1/L2 penalty terms). The gradient may be the parameter's own <see cref="Tensor.Grad"/>, so it
    /// must not be modified in place. Runs under <see cref="Tensor.NoGrad"/>.
    /// </summary>
    /// <param name="group">The parameter's group, for per-group overrides.</param>
    /// <param name="parameter">The parameter to update in place.</param>
    /// <param name="gradient">The effective gradient; read-only.</param>
    /// <param name="lr">The group's effective learning rate.</param>
    protected abstract void Update(ParamGroup group, Tensor parameter, Tensor gradient, double lr);

    /// <summary>
    /// The state tensors this optimizer keeps for each parameter of <paramref name="group"/> once it has been
    /// updated (with its current settings); <see cref="LoadStateDict"/> requires exactly these.
    /// </summary>
    protected abstract IReadOnlyCollection<string> StateNames(ParamGroup group);

    /// <summary>The state of <paramref name="parameter"/>, created empty on first use.</summary>
    protected ParameterState State(Tensor parameter)
    {
        if (!state.TryGetValue(parameter, out var s)) state[parameter] = s = new ParameterState();
        return s;
    }

    /// <summary>The state of <paramref name="parameter"/> if it has any (read-only inspection).</summary>
    public ParameterState? GetState(Tensor parameter) => state.GetValueOrDefault(parameter);

    /// <summary>
    /// Creates an unbound optimizer from its Keras name with Keras defaults: "adam" (lr 1e-3, eps 1e-7),
    /// "adamw" (lr 1e-3, weight decay 0.004, eps 1e-7), "sgd" (lr 0.01), "rmsprop" (lr 1e-3, alpha 0.9, eps 1e-7).
    /// Case-insensitive.
    /// </summary>
    /// <exception cref="ArgumentException">The name is unknown; the message lists the known names.</exception>
    public static Optimizer FromName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToLowerInvariant() switch
        {
            "adam" => new Adam(lr: 1e-3, eps: 1e-7),
            "adamw" => new AdamW(lr: 1e-3, eps: 1e-7, weightDecay: 0.004),
            "sgd" => new Sgd(lr: 0.01),
            "rmsprop" => new RMSprop(lr: 1e-3, alpha: 0.9, eps: 1e-7),
            _ => throw new ArgumentException($"Unknown optimizer name \"{name}\"; known names: adam, adamw, sgd, rmsprop.", nameof(name)),
        };
    }

    /// <summary>Converts a Keras optimizer name to an unbound optimizer (see <see cref="FromName"/>).</summary>
    public static implicit operator Optimizer(string name) => FromName(name);

    /// <summary>Validation helper for derived constructors: <paramref name="value"/> must be ≥ 0.</summary>
    private protected static double NonNegative(double value, string name) => ParamGroup.CheckNonNegative(value, name);
}

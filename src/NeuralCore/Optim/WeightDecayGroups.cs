using NeuralCore.Nn;

namespace NeuralCore.Optim;

/// <summary>
/// Builds the two parameter groups of the usual transformer recipe: weight decay on the weight matrices and kernels,
/// none on biases and normalization parameters, e.g. <c>new AdamW(WeightDecayGroups.Split(model, 0.1), lr: 3e-4)</c>.
/// </summary>
public static class WeightDecayGroups
{
    /// <summary>
    /// Splits <paramref name="module"/>'s parameters into a group that decays and one that does not. A parameter does not
    /// decay when it has fewer than 2 dimensions (biases, the scales and shifts of LayerNorm, RMSNorm and similar
    /// layers), when its name starts with "bias" (<c>bias</c>, <c>bias_ih_l0</c>), or when it belongs to a batch-, layer-
    /// or RMS-normalization module; every other parameter (Linear and convolution weights, recurrent weights,
    /// embeddings) decays. Empty groups are left out.
    /// </summary>
    /// <param name="module">The model.</param>
    /// <param name="weightDecay">The decaying group's <see cref="ParamGroup.WeightDecay"/>; null leaves it to the optimizer's value.</param>
    /// <returns>The decaying group (if any parameter decays), then the group with <see cref="ParamGroup.WeightDecay"/> = 0.</returns>
    /// <exception cref="ArgumentException">The module has no parameters.</exception>
    public static ParamGroup[] Split(Module module, double? weightDecay = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        var decay = new List<Tensor>();
        var noDecay = new List<Tensor>();
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var (_, owner) in module.NamedModules())
        {
            bool normalization = owner is BatchNormBase or LayerNorm or RMSNorm;
            foreach (var (name, p) in owner.NamedParameters(recurse: false))
            {
                // A parameter shared by two modules (tied weights) belongs to one group only.
                if (!seen.Add(p)) continue;
                bool exempt = normalization || p.Dim < 2 || name.StartsWith("bias", StringComparison.Ordinal);
                (exempt ? noDecay : decay).Add(p);
            }
        }
        if (decay.Count == 0 && noDecay.Count == 0)
            throw new ArgumentException($"WeightDecayGroups: {module.GetType().Name} has no parameters (a Dense layer creates its weights on its first call; run one forward pass first).", nameof(module));
        var groups = new List<ParamGroup>(2);
        if (decay.Count > 0) groups.Add(new ParamGroup(decay) { WeightDecay = weightDecay });
        if (noDecay.Count > 0) groups.Add(new ParamGroup(noDecay) { WeightDecay = 0 });
        return [.. groups];
    }
}

namespace NeuralCore;

public sealed partial class Tensor
{
    /// <summary>
    /// Einstein summation, as PyTorch's <c>torch.einsum</c>: <c>Einsum("ij,jk->ik", a, b)</c>,
    /// <c>"bhqd,bhkd->bhqk"</c>, <c>"ii->i"</c> (diagonal), <c>"i,i->"</c>, <c>"ij->ji"</c>. Each operand is
    /// labelled with one letter per dimension; a label repeated within an operand takes its diagonal; labels missing
    /// from the output are summed. Without "->" the output holds the labels that appear exactly once, in
    /// alphabetical order. Operands are combined left to right, each pair as one batched MatMul after
    /// permuting and reshaping, so the result is differentiable in every operand. Ellipsis ("...") and
    /// broadcasting of size-1 dimensions are not supported.
    /// </summary>
    /// <exception cref="ArgumentException">The equation is malformed, does not match the operands' ranks, or a label has two different sizes.</exception>
    public static Tensor Einsum(string equation, params Tensor[] operands)
    {
        ArgumentNullException.ThrowIfNull(equation);
        ArgumentNullException.ThrowIfNull(operands);
        var (inputs, output) = ParseEinsum(equation, operands);
        var sizes = new Dictionary<char, int>();
        var terms = new List<(Tensor Tensor, List<char> Labels)>();
        for (int i = 0; i < operands.Length; i++)
        {
            ArgumentNullException.ThrowIfNull(operands[i], nameof(operands));
            if (i > 0) CheckSameDevice(operands[0], operands[i], nameof(Einsum));
            for (int d = 0; d < inputs[i].Length; d++)
            {
                int size = operands[i].shape[d];
                if (sizes.TryGetValue(inputs[i][d], out var seen) && seen != size)
                    throw new ArgumentException($"Einsum: label '{inputs[i][d]}' has size {seen} and size {size} in \"{equation}\" (operand {i} has shape {operands[i].Shape}).");
                sizes[inputs[i][d]] = size;
            }
            terms.Add(TakeDiagonals(operands[i], inputs[i]));
        }

        // Labels still needed after step i: the output's and those of later operands.
        bool NeededAfter(char label, int i)
        {
            if (output.Contains(label)) return true;
            for (int j = i + 1; j < terms.Count; j++) if (terms[j].Labels.Contains(label)) return true;
            return false;
        }

        var (acc, accLabels) = SumUnneeded(terms[0].Tensor, terms[0].Labels, l => NeededAfter(l, 0));
        for (int i = 1; i < terms.Count; i++)
        {
            var (b, bLabels) = terms[i];
            var pairLabels = bLabels;
            (acc, accLabels) = SumUnneeded(acc, accLabels, l => pairLabels.Contains(l) || NeededAfter(l, i));
            (b, bLabels) = SumUnneeded(b, bLabels, l => accLabels.Contains(l) || NeededAfter(l, i));
            (acc, accLabels) = Contract(acc, accLabels, b, bLabels, l => NeededAfter(l, i), sizes);
        }
        (acc, accLabels) = SumUnneeded(acc, accLabels, output.Contains);
        var order = output.Select(l => accLabels.IndexOf(l)).ToArray();
        return order.Length <= 1 || IsIdentityOrder(order) ? acc : acc.Permute(order);
    }

    static bool IsIdentityOrder(int[] order)
    {
        for (int i = 0; i < order.Length; i++) if (order[i] != i) return false;
        return true;
    }

    static (string[] Inputs, string Output) ParseEinsum(string equation, Tensor[] operands)
    {
        var eq = string.Concat(equation.Where(c => !char.IsWhiteSpace(c)));
        if (eq.Contains('.'))
            throw new ArgumentException($"Einsum: ellipsis (\"...\") is not supported, in \"{equation}\"; write every dimension's label.");
        int arrow = eq.IndexOf("->", StringComparison.Ordinal);
        var lhs = arrow < 0 ? eq : eq[..arrow];
        var inputs = lhs.Split(',');
        if (inputs.Length != operands.Length)
            throw new ArgumentException($"Einsum: \"{equation}\" names {inputs.Length} operand(s) but {operands.Length} were given.");
        for (int i = 0; i < inputs.Length; i++)
        {
            foreach (var c in inputs[i])
                if (!char.IsAsciiLetter(c))
                    throw new ArgumentException($"Einsum: '{c}' in \"{equation}\" is not a label (labels are the letters a-z and A-Z).");
            if (operands[i] is { } t && inputs[i].Length != t.Dim)
                throw new ArgumentException($"Einsum: operand {i} is labelled \"{inputs[i]}\" ({inputs[i].Length} dimensions) in \"{equation}\" but has shape {t.Shape}.");
        }
        string output;
        if (arrow >= 0)
        {
            output = eq[(arrow + 2)..];
            foreach (var c in output)
            {
                if (!char.IsAsciiLetter(c))
                    throw new ArgumentException($"Einsum: '{c}' in the output of \"{equation}\" is not a label.");
                if (!lhs.Contains(c))
                    throw new ArgumentException($"Einsum: output label '{c}' of \"{equation}\" appears in no operand.");
                if (output.IndexOf(c) != output.LastIndexOf(c))
                    throw new ArgumentException($"Einsum: output label '{c}' appears more than once in \"{equation}\".");
            }
        }
        else
        {
            output = string.Concat(lhs.Where(c => c != ',' && lhs.Count(o => o == c) == 1).OrderBy(c => c));
        }
        return (inputs, output);
    }

    // A label repeated within one operand keeps only the diagonal: multiply by the identity over the two
    // dimensions and sum one of them away, which keeps the gradient a composition of differentiable ops.
    static (Tensor, List<char>) TakeDiagonals(Tensor t, string labels)
    {
        var ls = labels.ToList();
        for (int q = 1; q < ls.Count; q++)
        {
            int p = ls.IndexOf(ls[q]);
            if (p == q) continue;
            int n = t.shape[p];
            var eyeShape = new long[ls.Count];
            Array.Fill(eyeShape, 1);
            eyeShape[p] = n;
            eyeShape[q] = n;
            var eye = Eye(n, t.DType).To(t.Device).Reshape(eyeShape);
            t = t.Mul(eye).Sum(q);
            ls.RemoveAt(q);
            q--;
        }
        return (t, ls);
    }

    static (Tensor, List<char>) SumUnneeded(Tensor t, List<char> labels, Func<char, bool> keep)
    {
        var drop = Enumerable.Range(0, labels.Count).Where(d => !keep(labels[d])).ToArray();
        if (drop.Length == 0) return (t, labels);
        return (t.Sum(drop), labels.Where(l => keep(l)).ToList());
    }

    // One pair as a batched MatMul: a → [batch, aOnly, contracted], b → [batch, contracted, bOnly].
    static (Tensor, List<char>) Contract(Tensor a, List<char> aLabels, Tensor b, List<char> bLabels, Func<char, bool> neededLater, Dictionary<char, int> sizes)
    {
        var shared = aLabels.Where(bLabels.Contains).ToList();
        var batch = shared.Where(neededLater).ToList();
        var contracted = shared.Where(l => !neededLater(l)).ToList();
        var aOnly = aLabels.Where(l => !bLabels.Contains(l)).ToList();
        var bOnly = bLabels.Where(l => !aLabels.Contains(l)).ToList();
        long Size(List<char> ls) => ls.Aggregate(1L, (p, l) => p * sizes[l]);
        var am = Arrange(a, aLabels, [.. batch, .. aOnly, .. contracted]).Reshape(Size(batch), Size(aOnly), Size(contracted));
        var bm = Arrange(b, bLabels, [.. batch, .. contracted, .. bOnly]).Reshape(Size(batch), Size(contracted), Size(bOnly));
        List<char> resultLabels = [.. batch, .. aOnly, .. bOnly];
        var product = am.MatMul(bm).Reshape(resultLabels.Select(l => (long)sizes[l]).ToArray());
        return (product, resultLabels);
    }

    static Tensor Arrange(Tensor t, List<char> labels, List<char> order)
    {
        var perm = order.Select(l => labels.IndexOf(l)).ToArray();
        return perm.Length <= 1 || IsIdentityOrder(perm) ? t : t.Permute(perm);
    }
}

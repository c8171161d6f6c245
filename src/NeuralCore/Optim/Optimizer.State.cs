using System.Globalization;
using System.Text;

namespace NeuralCore.Optim;

public abstract partial class Optimizer
{
    /// <summary>
    /// A snapshot of the optimizer's state as named tensors, so it can be saved next to the model (safetensors):
    /// <list type="bullet">
    /// <item><c>defaults.lr</c>: <see cref="Lr"/>;</item>
    /// <item><c>group.{g}.params</c>: the number of parameters in group g; <c>group.{g}.lr</c>: its own rate, if set;</item>
    /// <item><c>state.{i}.step</c> and <c>state.{i}.{name}</c> (<c>exp_avg</c>, <c>momentum_buffer</c>, ...) for
    /// parameter i in <see cref="AllParameters"/> order, for every parameter that has state.</item>
    /// </list>
    /// Scalars are 0-d Float64 tensors. Every tensor is a copy, so later steps do not change the snapshot.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> StateDict()
    {
        var d = new Dictionary<string, Tensor>();
        using (Tensor.NoGrad())
        {
            d["defaults.lr"] = ScalarState(Lr);
            for (int g = 0; g < groups.Count; g++)
            {
                d[$"group.{g}.params"] = ScalarState(groups[g].Parameters.Count);
                if (groups[g].Lr is double own) d[$"group.{g}.lr"] = ScalarState(own);
            }
            int i = 0;
            foreach (var p in AllParameters())
            {
                if (state.TryGetValue(p, out var s))
                {
                    d[$"state.{i}.step"] = ScalarState(s.Step);
                    foreach (var (name, t) in s.Tensors) d[$"state.{i}.{name}"] = t.Clone().DetachFromScope();
                }
                i++;
            }
        }
        return d;
    }

    static Tensor ScalarState(double value) => Tensor.Scalar(value, DType.Float64).DetachFromScope();

    /// <summary>
    /// Restores a <see cref="StateDict"/> snapshot into this optimizer, which must have the same groups with the same
    /// number of parameters and shapes. The current state is replaced (copied, converted to each parameter's dtype
    /// and device), so training resumes exactly where the snapshot was taken.
    /// </summary>
    /// <exception cref="ArgumentException">Names the missing, unexpected, malformed and mis-shaped entries (the first ten of each kind, then how many more); nothing is changed.</exception>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var parameters = AllParameters().ToArray();
        var groupOf = groups.SelectMany(g => g.Parameters.Select(_ => g)).ToArray();
        var errors = new List<string>();
        var unexpected = new List<string>();
        var perParam = new Dictionary<int, Dictionary<string, Tensor>>();
        var groupLrs = new Dictionary<int, double>();
        var groupSizes = new HashSet<int>();
        double? defaultLr = null;

        foreach (var (key, value) in stateDict)
        {
            var parts = key.Split('.');
            if (key == "defaults.lr")
            {
                if (TryScalar(value, key, errors, out var dl) && CheckRate(dl, key, errors)) defaultLr = dl;
            }
            else if (parts.Length == 3 && parts[0] == "group" && TryIndex(parts[1], groups.Count, out int g))
            {
                if (parts[2] == "params")
                {
                    groupSizes.Add(g);
                    if (TryScalar(value, key, errors, out var n) && n != groups[g].Parameters.Count)
                        errors.Add($"{key}: the saved group has {n} parameters, this optimizer's has {groups[g].Parameters.Count}");
                }
                else if (parts[2] == "lr" && TryScalar(value, key, errors, out var glr) && CheckRate(glr, key, errors)) groupLrs[g] = glr;
                else if (parts[2] != "lr") unexpected.Add(key);
            }
            else if (parts.Length >= 3 && parts[0] == "state" && TryIndex(parts[1], parameters.Length, out int i))
            {
                string name = string.Join('.', parts[2..]);
                if (!perParam.TryGetValue(i, out var entries)) perParam[i] = entries = [];
                entries[name] = value;
            }
            else unexpected.Add(key);
        }

        if (defaultLr is null && !stateDict.ContainsKey("defaults.lr")) errors.Add("missing key defaults.lr");
        for (int g = 0; g < groups.Count; g++)
            if (!groupSizes.Contains(g)) errors.Add($"missing key group.{g}.params (the snapshot has fewer parameter groups than this optimizer's {groups.Count})");
        foreach (var (i, entries) in perParam)
        {
            var p = parameters[i];
            var names = StateNames(groupOf[i]);
            if (!entries.TryGetValue("step", out var stepTensor)) errors.Add($"missing key state.{i}.step");
            else if (TryScalar(stepTensor, $"state.{i}.step", errors, out var st) && (st < 0 || st != Math.Floor(st)))
                errors.Add($"state.{i}.step: expected a non-negative integer, got {st.ToString(CultureInfo.InvariantCulture)}");
            foreach (var n in names)
                if (!entries.ContainsKey(n)) errors.Add($"missing key state.{i}.{n}");
            foreach (var (n, t) in entries)
            {
                if (n == "step") continue;
                if (!names.Contains(n)) unexpected.Add($"state.{i}.{n}");
                else if (t.Shape != p.Shape) errors.Add($"state.{i}.{n}: expected shape {p.Shape} (parameter {i}), got {t.Shape}");
            }
        }
        if (errors.Count > 0 || unexpected.Count > 0)
        {
            var sb = new StringBuilder($"Error(s) loading the state dict of {GetType().Name}:");
            if (errors.Count > 0) sb.Append(' ').Append(MessageText.List(errors, "; ")).Append('.');
            if (unexpected.Count > 0) sb.Append(" unexpected keys: ").Append(MessageText.List(unexpected)).Append('.');
            throw new ArgumentException(sb.ToString(), nameof(stateDict));
        }

        Lr = defaultLr!.Value;
        for (int g = 0; g < groups.Count; g++) groups[g].Lr = groupLrs.TryGetValue(g, out var v) ? v : null;
        state.Clear();
        using (Tensor.NoGrad())
            foreach (var (i, entries) in perParam)
            {
                var p = parameters[i];
                var s = State(p);
                s.Step = (long)entries["step"].Item<double>();
                foreach (var (n, t) in entries)
                    if (n != "step") s.Set(n, Tensor.ZerosLike(p).Copy_(t.Device.Equals(p.Device) ? t : t.To(p.Device)));
            }
    }

    static bool TryIndex(string text, int count, out int index) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out index) && index < count;

    static bool CheckRate(double lr, string key, List<string> errors)
    {
        if (lr >= 0) return true;
        errors.Add($"{key}: a learning rate must be non-negative, got {lr.ToString(CultureInfo.InvariantCulture)}");
        return false;
    }

    static bool TryScalar(Tensor t, string key, List<string> errors, out double value)
    {
        value = 0;
        if (t.NumElements != 1)
        {
            errors.Add($"{key}: expected a scalar, got shape {t.Shape}");
            return false;
        }
        value = t.Item<double>();
        return true;
    }
}

using System.Globalization;
using System.Text.Json.Nodes;

namespace NeuralCore.Nn;

/// <summary>
/// A penalty on a tensor added to the training loss (Keras' regularizers): <c>l1·Σ|w| + l2·Σw²</c>. Use it as a layer's
/// kernel, bias or activity regularizer (<see cref="Dense"/>, <see cref="Conv2d"/>); <c>Fit</c> adds the penalties to
/// the loss it minimises and logs. For penalties on parameter groups applied by the optimizer instead, see the
/// optimizers' L1/L2 settings.
/// </summary>
public sealed class Regularizer
{
    internal Regularizer(double l1, double l2)
    {
        if (!(l1 >= 0 && double.IsFinite(l1))) throw new ArgumentOutOfRangeException(nameof(l1), l1, "Regularizer: l1 must be finite and non-negative.");
        if (!(l2 >= 0 && double.IsFinite(l2))) throw new ArgumentOutOfRangeException(nameof(l2), l2, "Regularizer: l2 must be finite and non-negative.");
        L1 = l1;
        L2 = l2;
    }

    /// <summary>The L1 factor.</summary>
    public double L1 { get; }

    /// <summary>The L2 factor (no ½: Keras' convention).</summary>
    public double L2 { get; }

    /// <summary>The penalty of <paramref name="x"/>, a scalar tensor that gradients flow through.</summary>
    public Tensor Penalty(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        Tensor? total = null;
        if (L1 != 0) total = x.Abs().Sum() * L1;
        if (L2 != 0)
        {
            var l2 = (x * x).Sum() * L2;
            total = total is null ? l2 : total + l2;
        }
        return total ?? Tensor.Zeros([], x.DType, x.Device);
    }

    internal JsonObject ToJson() => new() { ["l1"] = L1, ["l2"] = L2 };

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"Regularizer(l1: {L1}, l2: {L2})");
}

/// <summary>Factories for <see cref="Regularizer"/> under Keras' names.</summary>
public static class Regularizers
{
    /// <summary>l1·Σ|w|.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative or non-finite factor.</exception>
    public static Regularizer L1(double l1 = 0.01) => new(l1, 0);

    /// <summary>l2·Σw².</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative or non-finite factor.</exception>
    public static Regularizer L2(double l2 = 0.01) => new(0, l2);

    /// <summary>l1·Σ|w| + l2·Σw².</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative or non-finite factor.</exception>
    public static Regularizer L1L2(double l1 = 0.01, double l2 = 0.01) => new(l1, l2);
}

/// <summary>
/// Collects activity penalties (a layer's <c>ActivityRegularizer</c> applied to its output, divided by the batch size
/// as Keras does) from the forward passes run while it is open, on this thread. <c>Fit</c> and <c>Evaluate</c> open
/// one around each batch; a hand-written loop can do the same:
/// <code>
/// using var activity = ActivityRegularization.Collect();
/// var output = model.Forward(x);
/// var loss = criterion(output, y) + model.RegularizationLoss() + activity.Loss(output);
/// </code>
/// </summary>
public sealed class ActivityRegularization : IDisposable
{
    [ThreadStatic] static ActivityRegularization? current;
    readonly ActivityRegularization? outer;
    readonly List<Tensor> penalties = [];

    ActivityRegularization(ActivityRegularization? outer) => this.outer = outer;

    /// <summary>Starts collecting on this thread (nested collections each see the penalties recorded while they are innermost).</summary>
    public static ActivityRegularization Collect() => current = new ActivityRegularization(current);

    /// <summary>The number of penalties recorded.</summary>
    public int Count => penalties.Count;

    /// <summary>The sum of the recorded penalties, or a zero like <paramref name="like"/> when there are none.</summary>
    /// <param name="like">A tensor giving the dtype and device of the zero (for example the model's output).</param>
    public Tensor Loss(Tensor like)
    {
        ArgumentNullException.ThrowIfNull(like);
        if (penalties.Count == 0) return Tensor.Zeros([], like.DType, like.Device);
        var total = penalties[0];
        for (int i = 1; i < penalties.Count; i++) total = total + penalties[i];
        return total;
    }

    /// <summary>Records <paramref name="regularizer"/>'s penalty of a layer output [batch, ...] when a collection is open.</summary>
    internal static void Record(Regularizer? regularizer, Tensor output)
    {
        if (regularizer is null || current is null) return;
        long batch = output.Dim == 0 ? 1 : Math.Max(output.Shape[0], 1);
        current.penalties.Add(regularizer.Penalty(output) * (1.0 / batch));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (current == this) current = outer;
    }
}

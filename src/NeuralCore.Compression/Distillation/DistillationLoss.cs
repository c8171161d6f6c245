using NeuralCore.Training;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Compression.Distillation;

/// <summary>
/// Knowledge distillation (Hinton, Vinyals and Dean, 2015): the student learns from the teacher's
/// temperature-softened class distribution and from the hard labels,
/// <code>loss = α·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1 − α)·CE(s, y)</code>
/// with s and t the student's and teacher's logits [N, C], the KL divergence summed over classes and averaged over
/// the batch, and CE the mean cross-entropy with the labels y (class indices [N] or probability rows [N, C]). The
/// T² keeps the soft term's gradient on the scale of the hard term's as T changes.
/// <para>
/// With <c>Fit</c>, train a <see cref="TeacherStudent"/> inside a Sequential: its output holds the student's and
/// the teacher's logits side by side [N, 2C], which <see cref="Compute(Tensor, Tensor)"/> splits; metrics see the
/// student's probabilities (<see cref="Activate"/>). In a hand-written loop call
/// <see cref="Compute(Tensor, Tensor, Tensor)"/> with the teacher's logits computed under <see cref="Tensor.NoGrad"/>.
/// </para>
/// </summary>
public sealed class DistillationLoss : Loss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="temperature">T &gt; 0; larger values soften both distributions (2 to 8 are common).</param>
    /// <param name="alpha">α in [0, 1], the weight of the soft (teacher) term; 1 − α weighs the hard-label term.</param>
    /// <exception cref="ArgumentOutOfRangeException">T is not positive and finite, or α is outside [0, 1].</exception>
    public DistillationLoss(double temperature = 4, double alpha = 0.7) : base("distillation")
    {
        if (!(temperature > 0 && double.IsFinite(temperature)))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "DistillationLoss: the temperature must be positive and finite.");
        if (!(alpha >= 0 && alpha <= 1))
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "DistillationLoss: alpha must lie in [0, 1].");
        Temperature = temperature;
        Alpha = alpha;
    }

    /// <summary>T.</summary>
    public double Temperature { get; }

    /// <summary>α, the soft term's weight.</summary>
    public double Alpha { get; }

    /// <summary>The loss of the student logits <paramref name="student"/> against the teacher logits and the labels.</summary>
    /// <param name="student">Student logits [N, C].</param>
    /// <param name="teacher">Teacher logits [N, C] (no gradient flows into them).</param>
    /// <param name="target">Class indices [N] or probability rows [N, C].</param>
    /// <returns>The 0-d batch loss.</returns>
    /// <exception cref="ArgumentException">The logits are not both [N, C] of the same shape.</exception>
    public Tensor Compute(Tensor student, Tensor teacher, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(target);
        if (student.Dim != 2 || student.Shape != teacher.Shape)
            throw new ArgumentException($"DistillationLoss: student and teacher logits must both be [N, C]; got {student.Shape} and {teacher.Shape}.", nameof(teacher));
        var teacherLogits = teacher.Detach();
        double t = Temperature;
        var soft = F.KlDiv(F.LogSoftmax(student.Div(t), 1), F.LogSoftmax(teacherLogits.Div(t), 1), Nn.Reduction.Sum, logTarget: true)
            .Mul(t * t / student.Shape[0]);
        if (Alpha == 1) return soft;
        var hard = F.CrossEntropy(student, target);
        return Alpha == 0 ? hard : soft.Mul(Alpha).Add(hard.Mul(1 - Alpha));
    }

    /// <summary>
    /// The loss of a <see cref="TeacherStudent"/> output: the student's logits in the first half of the columns,
    /// the teacher's in the second.
    /// </summary>
    /// <param name="prediction">[N, 2C]: student logits, then teacher logits.</param>
    /// <param name="target">Class indices [N] or probability rows [N, C].</param>
    /// <exception cref="ArgumentException">The prediction is not [N, 2C].</exception>
    public override Tensor Compute(Tensor prediction, Tensor target)
    {
        var (student, teacher) = Split(prediction);
        return Compute(student, teacher, target);
    }

    /// <summary>The student's class probabilities (softmax of the first half of the columns).</summary>
    public override Tensor Activate(Tensor output) => F.Softmax(Split(output).Student, 1);

    static (Tensor Student, Tensor Teacher) Split(Tensor output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (output.Dim != 2 || output.Shape[1] % 2 != 0)
            throw new ArgumentException(
                $"DistillationLoss: expected the [N, 2C] output of a TeacherStudent (student logits, then teacher logits), got {output.Shape}.", nameof(output));
        long c = output.Shape[1] / 2;
        return (output.Narrow(1, 0, c), output.Narrow(1, c, c));
    }
}

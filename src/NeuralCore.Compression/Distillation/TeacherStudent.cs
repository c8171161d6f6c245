using NeuralCore.Nn;

namespace NeuralCore.Compression.Distillation;

/// <summary>
/// A student and a frozen teacher side by side, for training the student with <see cref="DistillationLoss"/> in
/// <c>Fit</c>: <see cref="Forward"/> returns [N, 2C], the student's logits followed by the teacher's. Only the
/// student is a child module, so the optimizer, <c>Train</c>/<c>Eval</c> and the state dict see only its
/// parameters; the teacher always runs in evaluation mode without gradients. Train it as
/// <c>new Sequential(new TeacherStudent(student, teacher))</c> and keep using <see cref="Student"/> afterwards.
/// Shape: input as the models take it; output [N, 2C].
/// </summary>
public sealed class TeacherStudent : Module
{
    /// <summary>Pairs <paramref name="student"/> with <paramref name="teacher"/> (which is put in evaluation mode).</summary>
    /// <param name="student">The model being trained; it must output logits [N, C].</param>
    /// <param name="teacher">The trained model whose logits [N, C] the student learns from.</param>
    /// <exception cref="ArgumentException">Student and teacher are the same module.</exception>
    public TeacherStudent(Module student, Module teacher)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        if (ReferenceEquals(student, teacher))
            throw new ArgumentException("TeacherStudent: the student and the teacher must be different modules.", nameof(teacher));
        Student = student;
        Teacher = teacher;
        teacher.Eval();
        RegisterModule("student", student);
    }

    /// <summary>The student.</summary>
    public Module Student { get; }

    /// <summary>The teacher (not a child module).</summary>
    public Module Teacher { get; }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">Student and teacher outputs are not both [N, C] of the same shape.</exception>
    public override Tensor Forward(Tensor x)
    {
        var student = Student.Forward(x);
        Tensor teacher;
        using (Tensor.NoGrad())
        {
            if (Teacher.IsTraining) Teacher.Eval();
            teacher = Teacher.Forward(x);
        }
        if (student.Dim != 2 || student.Shape != teacher.Shape)
            throw new InvalidOperationException($"TeacherStudent: student and teacher must both output logits [N, C]; got {student.Shape} and {teacher.Shape}.");
        return Tensor.Cat([student, teacher], 1);
    }
}

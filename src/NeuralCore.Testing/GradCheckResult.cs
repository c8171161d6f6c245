namespace NeuralCore.Testing;

/// <summary>The outcome of <see cref="GradCheck.Check"/>.</summary>
/// <param name="Passed">True when every analytic derivative matched its finite-difference estimate.</param>
/// <param name="Message">A summary; on failure it names the worst mismatch: input, input element, output element, analytic and numeric values.</param>
public sealed record GradCheckResult(bool Passed, string Message);

namespace NeuralCore.Testing;

/// <summary>Thrown by <see cref="GradCheck.Assert"/> when an analytic gradient disagrees with finite differences.</summary>
public sealed class GradCheckException : Exception
{
    /// <summary>Creates the exception with a message describing the mismatch.</summary>
    public GradCheckException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public GradCheckException()
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public GradCheckException(string message, Exception innerException) : base(message, innerException)
    {
    }
}

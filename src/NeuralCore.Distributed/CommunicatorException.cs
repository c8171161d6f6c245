namespace NeuralCore.Distributed;

/// <summary>A collective failed: the MPI library reported an error, the ranks called different collectives, or the communicator is unusable after an earlier failure.</summary>
public class CommunicatorException : Exception
{
    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What failed.</param>
    public CommunicatorException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="inner">The cause.</param>
    public CommunicatorException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// A collective did not complete within the communicator's timeout: another rank failed, hangs, or called a
/// different collective. The MPI communicator does not throw it: it prints the message and aborts the whole job,
/// so that no rank is left waiting.
/// </summary>
public sealed class CollectiveTimeoutException : TimeoutException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Which collective on which rank timed out, and after how long.</param>
    public CollectiveTimeoutException(string message) : base(message) { }
}

namespace NeuralCore.Serving.Registry;

/// <summary>A model, version or alias named in a call does not exist in the registry (HTTP 404 in the host).</summary>
public sealed class ModelNotFoundException : KeyNotFoundException
{
    /// <summary>Creates the exception with a message naming what is missing.</summary>
    public ModelNotFoundException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public ModelNotFoundException(string message, Exception inner) : base(message, inner) { }

    /// <summary>Creates the exception with a default message.</summary>
    public ModelNotFoundException() : base("The model was not found in the registry.") { }
}

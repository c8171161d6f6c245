namespace NeuralCore.Onnx;

/// <summary>
/// An export met operations or layers that have no ONNX mapping. <see cref="Unsupported"/> lists every one of
/// them with where it was used (module path and type, or traced op inside a custom module), so one attempt
/// shows everything that needs changing.
/// </summary>
public sealed class OnnxUnsupportedException : NotSupportedException
{
    /// <summary>Creates the exception from the list of unsupported uses.</summary>
    public OnnxUnsupportedException(IReadOnlyList<string> unsupported)
        : base($"ONNX export: {unsupported.Count} unsupported operation(s): " + string.Join("; ", unsupported) + ".")
    {
        Unsupported = unsupported;
    }

    /// <summary>Each unsupported use: "what (where): why".</summary>
    public IReadOnlyList<string> Unsupported { get; }
}

/// <summary>An ONNX model is malformed or uses something the importer does not support; the message names it.</summary>
public sealed class OnnxFormatException : FormatException
{
    /// <summary>Creates the exception.</summary>
    public OnnxFormatException(string message) : base(message) { }

    /// <summary>Creates the exception with the problems found (one per line in the message).</summary>
    public OnnxFormatException(IReadOnlyList<string> problems)
        : base($"ONNX model check failed with {problems.Count} problem(s):\n  " + string.Join("\n  ", problems))
    {
        Problems = problems;
    }

    /// <summary>The individual problems (a single entry when created from one message).</summary>
    public IReadOnlyList<string> Problems { get; } = [];
}

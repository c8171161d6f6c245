namespace NeuralCore.Onnx;

/// <summary>The ONNX versions NeuralCore writes and reads.</summary>
public static class OnnxOpset
{
    /// <summary>The default-domain operator set exported models declare (ONNX 1.12's opset 17).</summary>
    public const int Version = 17;

    /// <summary>The IR version written (8, the IR of ONNX 1.12, which introduced opset 17).</summary>
    public const long IrVersion = 8;

    /// <summary>The oldest default-domain opset the importer accepts.</summary>
    public const int MinImportVersion = 13;

    /// <summary>The newest default-domain opset the importer accepts.</summary>
    public const int MaxImportVersion = 17;
}

namespace NeuralCore.Onnx;

/// <summary>Settings of <see cref="OnnxExporter"/>.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>Name of the graph input (default "input").</summary>
    public string InputName { get; init; } = "input";

    /// <summary>Name of the graph output (default "output").</summary>
    public string OutputName { get; init; } = "output";

    /// <summary>Name of the graph (default "neuralcore").</summary>
    public string GraphName { get; init; } = "neuralcore";

    /// <summary>
    /// Class names in output order, written to the model metadata under <see cref="OnnxExporter.ClassLabelsKey"/>
    /// as a JSON array of strings; null writes none.
    /// </summary>
    public IReadOnlyList<string>? ClassLabels { get; init; }

    /// <summary>
    /// Folds an evaluation-mode batch norm that directly follows a Conv2d or Linear (without activation) inside a
    /// <see cref="Nn.Sequential"/> into that layer's weight and bias instead of writing a BatchNormalization node.
    /// </summary>
    public bool FoldBatchNorm { get; init; }

    /// <summary>
    /// Whether dimension 0 of the input and output is written as the symbolic dimension "batch" (default true);
    /// false writes the sample's sizes.
    /// </summary>
    public bool DynamicBatch { get; init; } = true;

    /// <summary>Extra metadata entries written to the model.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}

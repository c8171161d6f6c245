namespace NeuralCore.Onnx;

/// <summary>
/// The extra graph inputs and settings of <see cref="OnnxExporter.ExportSequence"/>: padding masks, the encoder output
/// of a decoder, causal attention and the length of the rotary-position tables.
/// </summary>
public sealed record OnnxSequenceInputs
{
    /// <summary>
    /// A Bool [batch, sequence] sample of the key padding mask, true at padded positions (the module convention of
    /// <see cref="Nn.MultiheadAttention"/>). When set, the graph gets a second input named
    /// <see cref="OnnxExporter.KeyPaddingMaskName"/>; for a decoder it is the target's padding mask.
    /// </summary>
    public Tensor? KeyPaddingMask { get; init; }

    /// <summary>The encoder output sample of a decoder layer or stack (required for them); graph input <see cref="OnnxExporter.MemoryName"/>.</summary>
    public Tensor? Memory { get; init; }

    /// <summary>A Bool [batch, memory sequence] padding mask of <see cref="Memory"/>; graph input <see cref="OnnxExporter.MemoryKeyPaddingMaskName"/>.</summary>
    public Tensor? MemoryKeyPaddingMask { get; init; }

    /// <summary>
    /// The initial hidden state sample [layers·directions, batch, hidden] of a top-level LSTM, GRU or RNN. When set, the
    /// graph takes it as input <see cref="OnnxExporter.InitialHiddenName"/> and returns the final hidden state as a
    /// second output <see cref="OnnxExporter.FinalHiddenName"/> (and, for LSTM, the cell state as a third,
    /// <see cref="OnnxExporter.FinalCellName"/>).
    /// </summary>
    public Tensor? InitialHidden { get; init; }

    /// <summary>The initial cell state sample of a top-level LSTM (same shape as <see cref="InitialHidden"/>, which it needs); graph input <see cref="OnnxExporter.InitialCellName"/>.</summary>
    public Tensor? InitialCell { get; init; }

    /// <summary>
    /// Whether self-attention is causal (query i sees keys j ≤ i), as <c>isCausal</c> / <c>tgtIsCausal</c> of the
    /// layers. <see cref="Nn.GptModel"/> is always causal.
    /// </summary>
    public bool IsCausal { get; init; }

    /// <summary>
    /// The longest sequence the exported rotary-position tables cover when the model does not fix one
    /// (<see cref="Nn.GptModel"/> uses its context length); default 2048.
    /// </summary>
    public int MaxSequenceLength { get; init; } = 2048;
}

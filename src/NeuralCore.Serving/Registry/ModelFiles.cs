using NeuralCore.Nn;
using NeuralCore.Onnx;
using NeuralCore.Serialization;

namespace NeuralCore.Serving.Registry;

/// <summary>
/// Reads the two model file formats the registry stores: NeuralCore model files (<see cref="Module.Save"/>,
/// safetensors) and ONNX models, told apart by content. An ONNX model is imported with <see cref="OnnxModel"/> and
/// served as a one-layer <see cref="Sequential"/>.
/// </summary>
internal static class ModelFiles
{
    /// <summary>
    /// Whether the file starts like safetensors: an 8-byte header length followed by the JSON header's "{". An ONNX
    /// model (a protobuf ModelProto) starts with a field tag instead.
    /// </summary>
    public static bool IsSafeTensors(string path)
    {
        Span<byte> head = stackalloc byte[9];
        using var stream = File.OpenRead(path);
        return stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false) == head.Length && head[8] == (byte)'{';
    }

    /// <summary>Loads a model file of either format; <paramref name="onnx"/> is the imported graph for an ONNX file.</summary>
    /// <exception cref="InvalidDataException">The file is not a valid model, or an ONNX model exceeds <see cref="ModelLoadLimits.MaxLayers"/> nodes or <see cref="ModelLoadLimits.MaxParameters"/> initializer elements.</exception>
    public static Sequential Load(string path, ModelLoadLimits? limits, out OnnxModel? onnx)
    {
        onnx = null;
        if (IsSafeTensors(path))
        {
            // int8 models (QuantizedLinear, QuantizedConv2d, DynamicQuantizedLSTM) load like any other.
            NeuralCore.Compression.Quantization.RegisterModuleConfigs();
            return Sequential.Load(path, limits);
        }
        limits ??= ModelLoadLimits.Default;
        try
        {
            onnx = OnnxModel.Load(path);
        }
        catch (OnnxFormatException e)
        {
            throw new InvalidDataException($"the file is neither a NeuralCore model file (safetensors) nor an ONNX model NeuralCore can import: {e.Message}", e);
        }
        int nodes = onnx.NodeCount;
        if (nodes > limits.MaxLayers)
            throw new InvalidDataException($"the ONNX model has {nodes} nodes, over the limit of {limits.MaxLayers} (ModelLoadLimits.MaxLayers).");
        long elements = onnx.Parameters().Concat(onnx.NamedBuffers().Select(b => b.Buffer)).Sum(t => t.NumElements);
        if (elements > limits.MaxParameters)
            throw new InvalidDataException($"the ONNX model's initializers hold {elements} elements, over the limit of {limits.MaxParameters} (ModelLoadLimits.MaxParameters).");
        var model = new Sequential(onnx);
        model.Eval();
        return model;
    }

    /// <summary>The signature's input shape of an ONNX model: the batch as −1, or null when another dimension is symbolic.</summary>
    public static long[]? InputShape(OnnxModel onnx)
    {
        var dims = onnx.InputShape;
        if (dims.Count == 0 || dims.Skip(1).Any(d => d is null)) return null;
        return [.. dims.Select((d, i) => i == 0 ? -1 : d!.Value)];
    }
}

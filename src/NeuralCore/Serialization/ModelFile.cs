namespace NeuralCore.Serialization;

/// <summary>Writes and reads NeuralCore model files: safetensors weights with the manifest embedded in the metadata.</summary>
internal static class ModelFile
{
    /// <summary>The <c>format</c> metadata entry Hugging Face tools read: the tensors use PyTorch's names and layouts.</summary>
    const string FormatKey = "format";

    /// <summary>Saves <paramref name="state"/> with <paramref name="manifest"/> completed by the weights' SHA-256.</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> state, ModelManifest manifest)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var items = SafeTensorsWriter.Plan(state);
        var complete = manifest with { WeightsSha256 = SafeTensorsWriter.HashData(items) };
        var metadata = new Dictionary<string, string> { [FormatKey] = "pt", [ModelManifest.MetadataKey] = complete.ToJson() };
        var header = SafeTensorsWriter.Header(items, metadata);
        SafeTensors.WriteFileAtomically(path, stream =>
        {
            stream.Write(header);
            SafeTensorsWriter.WriteData(stream, items);
        });
    }

    /// <summary>
    /// Reads a model file and its manifest (null for plain safetensors files), checking the weights against the
    /// manifest's SHA-256 when it has one.
    /// </summary>
    /// <exception cref="InvalidDataException">The file or its manifest is malformed, or the weights do not match the hash.</exception>
    public static (SafeTensorsFile File, ModelManifest? Manifest) Read(string path)
    {
        var file = SafeTensors.LoadFile(path);
        ModelManifest? manifest;
        try
        {
            manifest = file.GetManifest();
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
        if (manifest?.WeightsSha256 is string expected && !string.Equals(expected, file.DataSha256, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException(
                $"{path}: SHA-256 mismatch: the manifest records weights {expected} but the file's data hashes to {file.DataSha256}; the weights were altered or corrupted.");
        return (file, manifest);
    }
}

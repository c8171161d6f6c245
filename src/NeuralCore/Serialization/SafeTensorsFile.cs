using System.Collections.ObjectModel;

namespace NeuralCore.Serialization;

/// <summary>
/// The contents of a safetensors file: its tensors (CPU tensors, in the order of their data in the file), its
/// <c>__metadata__</c> string map, and the SHA-256 of its data buffer. Produced by <see cref="SafeTensors.LoadFile"/>,
/// <see cref="SafeTensors.ReadFile"/> and <see cref="SafeTensors.DeserializeFile"/>.
/// </summary>
public sealed class SafeTensorsFile
{
    internal SafeTensorsFile(Dictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string> metadata, string dataSha256,
        IReadOnlyList<SafeTensorsEntry> entries)
    {
        Entries = entries;
        Tensors = new ReadOnlyDictionary<string, Tensor>(tensors);
        Metadata = metadata;
        DataSha256 = dataSha256;
    }

    /// <summary>The header's tensor table in data-buffer order (names, file dtypes, shapes, offsets).</summary>
    internal IReadOnlyList<SafeTensorsEntry> Entries { get; }

    /// <summary>The tensors by name.</summary>
    public IReadOnlyDictionary<string, Tensor> Tensors { get; }

    /// <summary>The free-form string map stored under <c>__metadata__</c> (empty when the file has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Lower-case hex SHA-256 of the file's data buffer (everything after the header).</summary>
    public string DataSha256 { get; }

    /// <summary>
    /// The NeuralCore manifest embedded in <see cref="Metadata"/> under <see cref="ModelManifest.MetadataKey"/>, or
    /// null when the file has none (files written by other tools).
    /// </summary>
    /// <param name="limits">Bounds on the manifest's size and nesting; <see cref="ModelLoadLimits.Default"/> when null.</param>
    /// <exception cref="InvalidDataException">The embedded manifest is malformed or over a limit.</exception>
    public ModelManifest? GetManifest(ModelLoadLimits? limits = null) => ModelManifest.FromMetadata(Metadata, limits);
}

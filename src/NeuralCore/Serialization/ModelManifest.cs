using System.Text.Json.Nodes;

namespace NeuralCore.Serialization;

/// <summary>
/// Describes a saved model: name and version, when it was made, the architecture (for models the
/// <see cref="ModuleConfigs"/> registry can describe, such as <see cref="Nn.Sequential"/>), the SHA-256 of the weights,
/// shapes, training configuration, seed and metrics. <see cref="Nn.Module.Save"/> embeds it as JSON in the safetensors
/// <c>__metadata__</c> under <see cref="MetadataKey"/>, so one file holds a complete model; <see cref="Save"/> also
/// writes it as a standalone JSON file for registries and serving hosts.
/// </summary>
public sealed partial record ModelManifest
{
    /// <summary>The safetensors metadata key holding the manifest JSON.</summary>
    public const string MetadataKey = "neuralcore.manifest";

    /// <summary>
    /// The manifest format this library writes and the newest it reads. Version 2 made <see cref="WeightsSha256"/>
    /// cover the architecture and the safetensors tensor table as well as the data, version 3 the
    /// <see cref="Tokenizer"/> too (see docs/model-files.md); version 1 and 2 files still load under the rules
    /// described there.
    /// </summary>
    public const int CurrentFormatVersion = 3;

    /// <summary>Version of the manifest format (not of the model).</summary>
    public int FormatVersion { get; init; } = CurrentFormatVersion;

    /// <summary>Model name; <see cref="Nn.Module.Save"/> uses the module's type name when none is given.</summary>
    public string Name { get; init; } = "model";

    /// <summary>Model version, free-form (e.g. "1.2.0").</summary>
    public string Version { get; init; } = "1.0.0";

    /// <summary>When the model file was made (UTC).</summary>
    public DateTimeOffset CreatedUtc { get; init; } = DateTimeOffset.UtcNow;

    /// <summary>
    /// The module tree as <see cref="ModuleConfigs.Describe"/> writes it (<c>{"type": "Sequential", "layers": [...]}</c>),
    /// or null for models saved as weights only.
    /// </summary>
    public JsonObject? Architecture { get; init; }

    /// <summary>
    /// The tokenizer the model reads, as <see cref="Text.ITokenizer.ToJson"/> writes it (rebuilt by
    /// <see cref="Text.Tokenizers.FromJson"/>), or null for models that take no text.
    /// </summary>
    public JsonObject? Tokenizer { get; init; }

    /// <summary>
    /// Lower-case hex SHA-256 of everything that decides what a model file loads; checked on load when present.
    /// From format version 3 it covers the architecture, the tokenizer, the safetensors tensor table (names, dtypes,
    /// shapes, data offsets) and the data buffer; in version 2 files all but the tokenizer; in version 1 files, the
    /// data buffer only. <see cref="Nn.Module.Save"/> always
    /// recomputes it.
    /// </summary>
    public string? WeightsSha256 { get; init; }

    /// <summary>Shape of one input batch, e.g. [-1, 1, 28, 28] with -1 for the batch size; optional.</summary>
    public IReadOnlyList<long>? InputShape { get; init; }

    /// <summary>Shape of the output, like <see cref="InputShape"/>; optional.</summary>
    public IReadOnlyList<long>? OutputShape { get; init; }

    /// <summary>Training settings (optimizer, learning rate, epochs, ...) as strings; optional.</summary>
    public IReadOnlyDictionary<string, string>? TrainingConfig { get; init; }

    /// <summary>The random seed the model was trained with; optional.</summary>
    public long? Seed { get; init; }

    /// <summary>Evaluation results by name (e.g. "accuracy"); optional. NaN and infinities are kept.</summary>
    public IReadOnlyDictionary<string, double>? Metrics { get; init; }

    /// <summary>What training cost (FLOPs, energy, CO2e and the energy method), as <c>Fit</c> measured it; optional.</summary>
    public RecordedTrainingCost? TrainingCost { get; init; }

    /// <summary>
    /// The manifest stored in safetensors metadata under <see cref="MetadataKey"/>, or null when there is none.
    /// </summary>
    /// <param name="metadata">The <c>__metadata__</c> map of a safetensors file.</param>
    /// <param name="limits">Bounds on the manifest's size and nesting; <see cref="ModelLoadLimits.Default"/> when null.</param>
    /// <exception cref="InvalidDataException">The stored manifest is malformed or over a limit.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="metadata"/> is null.</exception>
    public static ModelManifest? FromMetadata(IReadOnlyDictionary<string, string> metadata, ModelLoadLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        return metadata.TryGetValue(MetadataKey, out var json) ? Parse(json ?? throw Invalid("the manifest entry is null"), limits) : null;
    }

    /// <summary>Writes the manifest as an indented JSON file (a standalone export; model files embed it already).</summary>
    /// <exception cref="ArgumentException">The path is empty, or the manifest cannot be written (see <see cref="ToJson"/>).</exception>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var json = System.Text.Encoding.UTF8.GetBytes(ToJson(indented: true));
        SafeTensors.WriteFileAtomically(path, stream => stream.Write(json));
    }

    /// <summary>Reads a manifest JSON file written by <see cref="Save"/>.</summary>
    /// <param name="path">The file.</param>
    /// <param name="limits">Bounds on the file's size and nesting; <see cref="ModelLoadLimits.Default"/> when null.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="IOException">The file cannot be opened or read (<see cref="FileNotFoundException"/> when it does not exist).</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    /// <exception cref="InvalidDataException">The file is not a valid manifest or is over a limit; the message starts with the path and names the problem.</exception>
    public static ModelManifest Load(string path, ModelLoadLimits? limits = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        limits ??= ModelLoadLimits.Default;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            if (stream.Length > limits.MaxManifestBytes)
                throw new InvalidDataException($"Invalid model manifest: {ModelLoadLimits.Exceeded("its size in bytes", stream.Length, nameof(ModelLoadLimits.MaxManifestBytes), limits.MaxManifestBytes)}.");
            var bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
            // Byte order marks are accepted as File.ReadAllText accepts them.
            int skip = bytes.AsSpan().StartsWith("\uFEFF"u8) ? 3 : 0;
            return ParseUtf8(skip == 0 ? bytes : bytes[skip..], limits);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{MessageText.Clip(path)}: {e.Message}", e);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{MessageText.Clip(path)}: the file shrank while it was read.", e);
        }
    }
}

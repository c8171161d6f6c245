using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using NeuralCore.Nn;

namespace NeuralCore.Serialization;

/// <summary>
/// Writes and reads NeuralCore model files: safetensors weights with the manifest embedded in the metadata, and the
/// integrity hash (<see cref="ModelManifest.WeightsSha256"/>) that ties them together.
/// </summary>
/// <remarks>
/// From format version 2 the hash is SHA-256 over a domain string naming the version, the architecture as compact
/// JSON, from version 3 the tokenizer as compact JSON, the tensor table in data order (each name, dtype, shape and data
/// offsets, length-prefixed) and the SHA-256 of the data buffer, so editing any of them (a dtype of the same width,
/// swapped offsets, a renamed tensor, a changed layer setting, a changed vocabulary or merge) fails the check. Version
/// 2 files are checked with the version 2 hash, which does not cover the tokenizer. Version 1 hashed the data only; such files load only when their tensor table is laid
/// out exactly as the version 1 writer laid it out and every tensor has the dtype of the module tensor it fills, which
/// rules out the header edits the old hash missed.
/// </remarks>
internal static class ModelFile
{
    /// <summary>The <c>format</c> metadata entry Hugging Face tools read: the tensors use PyTorch's names and layouts.</summary>
    const string FormatKey = "format";

    // The first bytes hashed, naming the format version whose rules the hash follows.
    static byte[] HashDomain(int formatVersion) => Encoding.ASCII.GetBytes($"NeuralCore model file, manifest format {formatVersion}\n");

    /// <summary>Saves <paramref name="state"/> with <paramref name="manifest"/> completed by the current format version and the hash.</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> state, ModelManifest manifest)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var items = SafeTensorsWriter.Plan(state);
        var entries = items.ConvertAll(i => new SafeTensorsEntry(i.Name, i.DType, [.. i.Tensor.Shape.Select(d => checked((int)d))], i.Begin, i.End));
        var complete = manifest with
        {
            FormatVersion = ModelManifest.CurrentFormatVersion,
            WeightsSha256 = Hash(ModelManifest.CurrentFormatVersion, ArchitectureJson(manifest), TokenizerJson(manifest), entries,
                Convert.FromHexString(SafeTensorsWriter.HashData(items))),
        };
        var metadata = new Dictionary<string, string> { [FormatKey] = "pt", [ModelManifest.MetadataKey] = complete.ToJson() };
        var header = SafeTensorsWriter.Header(items, metadata);
        SafeTensors.WriteFileAtomically(path, stream =>
        {
            stream.Write(header);
            SafeTensorsWriter.WriteData(stream, items);
        });
    }

    /// <summary>
    /// Reads a model file and its manifest (null for plain safetensors files) and checks the hash when the manifest
    /// has one. <paramref name="beforeData"/> sees the manifest and the number of elements the file holds after the
    /// header is read and before any tensor is, so a loader can refuse a file without reading its data.
    /// </summary>
    /// <exception cref="InvalidDataException">The file or its manifest is malformed, over a limit, or fails the integrity check; the message starts with the path.</exception>
    public static (SafeTensorsFile File, ModelManifest? Manifest) Read(string path, ModelLoadLimits limits, Action<ModelManifest?, long>? beforeData = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        try
        {
            var header = SafeTensorsReader.ReadHeader(stream, out bool lengthKnown);
            var manifest = ModelManifest.FromMetadata(header.Metadata, limits);
            beforeData?.Invoke(manifest, header.Entries.Sum(e => ShapeMath.CheckedProduct(e.Dims)));
            var file = SafeTensorsReader.ReadData(stream, header, lengthKnown);
            Verify(file, manifest);
            return (file, manifest);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{MessageText.Clip(path)}: {e.Message}", e);
        }
    }

    static void Verify(SafeTensorsFile file, ModelManifest? manifest)
    {
        if (manifest?.WeightsSha256 is not string expected) return;
        if (manifest.FormatVersion >= 2)
        {
            string actual = Hash(manifest.FormatVersion, ManifestBytes(ArchitectureJson, manifest), ManifestBytes(TokenizerJson, manifest),
                file.Entries, Convert.FromHexString(file.DataSha256));
            string covered = manifest.FormatVersion >= 3 ? "architecture, tokenizer, tensor table and data" : "architecture, tensor table and data";
            if (!string.Equals(expected, actual, StringComparison.OrdinalIgnoreCase))
                throw new InvalidDataException(
                    $"SHA-256 mismatch: the manifest records {expected} but the file's {covered} hash to {actual}; the file was altered or corrupted.");
            return;
        }
        if (!string.Equals(expected, file.DataSha256, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException(
                $"SHA-256 mismatch: the manifest records weights {expected} but the file's data hashes to {file.DataSha256}; the weights were altered or corrupted.");
        CheckVersion1Layout(file.Entries);
    }

    // The version 1 writer ordered tensors by dtype (descending in the reference order), then by UTF-8 name, and
    // wrote only dtypes it reads back unchanged; anything else was edited after writing.
    static void CheckVersion1Layout(IReadOnlyList<SafeTensorsEntry> entries)
    {
        for (int i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            if (!e.DType.IsNative)
                throw Version1($"tensor '{MessageText.Clip(e.Name)}' has dtype {e.DType.Name}, which the version 1 writer never wrote");
            if (i == 0) continue;
            var p = entries[i - 1];
            int c = e.DType.Rank.CompareTo(p.DType.Rank);
            if (c > 0 || (c == 0 && Encoding.UTF8.GetBytes(p.Name).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(e.Name)) >= 0))
                throw Version1($"tensor '{MessageText.Clip(e.Name)}' ({e.DType.Name}) follows '{MessageText.Clip(p.Name)}' ({p.DType.Name}) in the data buffer, not in the order the version 1 writer used");
        }
    }

    /// <summary>
    /// For version 1 files, refuses a tensor whose dtype differs from the module tensor it would fill: the version 1
    /// hash does not cover dtypes, and the version 1 writer wrote each tensor with its module's dtype.
    /// </summary>
    /// <exception cref="InvalidDataException">A dtype differs; the message starts with the path.</exception>
    public static void CheckVersion1DTypes(string path, SafeTensorsFile file, ModelManifest? manifest, Module module)
    {
        if (manifest is not { FormatVersion: 1, WeightsSha256: not null }) return;
        foreach (var (key, target) in module.StateDict())
            if (file.Tensors.TryGetValue(key, out var stored) && stored.DType != target.DType)
                throw new InvalidDataException($"{MessageText.Clip(path)}: " + Version1(
                    $"tensor '{MessageText.Clip(key)}' is stored as {stored.DType} but the module holds it as {target.DType}").Message);
    }

    static InvalidDataException Version1(string problem) => new(
        $"format version 1 model file: {problem}. Version 1 hashes cover the data only, so an edit of the header cannot be ruled out; " +
        "re-save the model from a trusted copy with this version of NeuralCore (format version 2 hashes the whole file).");

    // The architecture as the hash sees it: compact JSON, as the manifest writes it. A parsed manifest writes back
    // the same bytes (numbers keep their text, strings are escaped the same way).
    static byte[]? ArchitectureJson(ModelManifest manifest) => manifest.Architecture is null
        ? null
        : ManifestJson.ToUtf8(manifest.Architecture, ModelLoadLimits.MaxRecursionDepth - 1, "manifest's architecture");

    // The tokenizer as the hash sees it (format version 3 and later): compact JSON, as the manifest writes it.
    static byte[]? TokenizerJson(ModelManifest manifest) => manifest.Tokenizer is null
        ? null
        : ManifestJson.ToUtf8(manifest.Tokenizer, ModelLoadLimits.MaxRecursionDepth - 1, "manifest's tokenizer");

    static byte[]? ManifestBytes(Func<ModelManifest, byte[]?> part, ModelManifest manifest)
    {
        try
        {
            return part(manifest);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"Invalid model manifest: {e.Message}", e);
        }
    }

    /// <summary>
    /// The integrity hash of format version 2 and later: the domain, the architecture, the tokenizer (from version 3),
    /// the tensor table, and the data hash.
    /// </summary>
    internal static string Hash(int formatVersion, byte[]? architecture, byte[]? tokenizer, IReadOnlyList<SafeTensorsEntry> entries, byte[] dataSha256)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var number = new byte[8];
        void Number(long value)
        {
            BinaryPrimitives.WriteInt64LittleEndian(number, value);
            sha.AppendData(number);
        }
        void Bytes(ReadOnlySpan<byte> bytes)
        {
            Number(bytes.Length);
            sha.AppendData(bytes);
        }

        sha.AppendData(HashDomain(formatVersion));
        Number(architecture is null ? -1 : 0);
        if (architecture is not null) Bytes(architecture);
        if (formatVersion >= 3)
        {
            Number(tokenizer is null ? -1 : 0);
            if (tokenizer is not null) Bytes(tokenizer);
        }
        Number(entries.Count);
        foreach (var e in entries)
        {
            Bytes(Encoding.UTF8.GetBytes(e.Name));
            Bytes(Encoding.ASCII.GetBytes(e.DType.Name));
            Number(e.Dims.Length);
            foreach (var d in e.Dims) Number(d);
            Number(e.Begin);
            Number(e.End);
        }
        Bytes(dataSha256);
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}

namespace NeuralCore.Serialization;

/// <summary>
/// Reads and writes the safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
/// length N, N bytes of UTF-8 JSON describing each tensor (<c>dtype</c>, <c>shape</c>, <c>data_offsets</c>) plus an
/// optional <c>__metadata__</c> string map, then the raw little-endian data. Files are interchangeable with
/// PyTorch, NumPy, candle and others; the writer's output equals the reference implementation's byte for byte.
/// </summary>
/// <remarks>
/// Dtypes: BOOL, U8, I32, I64, F32 and F64 are read and written exactly. F16 and BF16 are read and widened to
/// Float32 (lossless); every other dtype is rejected with an "unsupported dtype" <see cref="InvalidDataException"/>.
/// Reading validates the whole header before allocating tensors (header length capped at 100 MB as in the reference,
/// UTF-8, JSON structure and types, no duplicate names or keys, checked shape arithmetic, offsets that tile the data
/// buffer exactly). Any violation is an <see cref="InvalidDataException"/> naming the problem; nothing in a file is
/// executed or instantiated.
/// </remarks>
public static class SafeTensors
{
    /// <summary>Writes <paramref name="tensors"/> (and optional metadata) to the file <paramref name="path"/>, replacing it atomically.</summary>
    /// <remarks>Non-contiguous tensors are written in row-major order; tensors on other devices are copied to the host.</remarks>
    /// <exception cref="ArgumentException">A tensor name is reserved (<c>__metadata__</c>) or not valid UTF-16, or a tensor is null.</exception>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var items = SafeTensorsWriter.Plan(tensors);
        var header = SafeTensorsWriter.Header(items, metadata);
        WriteFileAtomically(path, stream =>
        {
            stream.Write(header);
            SafeTensorsWriter.WriteData(stream, items);
        });
    }

    /// <summary>Writes <paramref name="tensors"/> (and optional metadata) to <paramref name="stream"/> at its current position.</summary>
    /// <exception cref="ArgumentException">A tensor name is reserved (<c>__metadata__</c>) or not valid UTF-16, or a tensor is null.</exception>
    public static void Write(Stream stream, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var items = SafeTensorsWriter.Plan(tensors);
        stream.Write(SafeTensorsWriter.Header(items, metadata));
        SafeTensorsWriter.WriteData(stream, items);
    }

    /// <summary>The safetensors bytes of <paramref name="tensors"/> (and optional metadata).</summary>
    /// <exception cref="ArgumentException">A tensor name is reserved (<c>__metadata__</c>) or not valid UTF-16, or a tensor is null.</exception>
    public static byte[] Serialize(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var memory = new MemoryStream();
        Write(memory, tensors, metadata);
        return memory.ToArray();
    }

    /// <summary>
    /// Lower-case hex SHA-256 of the data buffer that writing <paramref name="tensors"/> produces (the value
    /// <see cref="SafeTensorsFile.DataSha256"/> reports after reading the file back).
    /// </summary>
    public static string ComputeDataSha256(IReadOnlyDictionary<string, Tensor> tensors) =>
        SafeTensorsWriter.HashData(SafeTensorsWriter.Plan(tensors));

    /// <summary>Reads the tensors of the file at <paramref name="path"/> (CPU tensors).</summary>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="IOException">The file cannot be opened or read (<see cref="FileNotFoundException"/> when it does not exist).</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    /// <exception cref="InvalidDataException">The file is not valid safetensors; the message starts with the path and names the problem.</exception>
    public static IReadOnlyDictionary<string, Tensor> Load(string path) => LoadFile(path).Tensors;

    /// <summary>Reads the tensors of a safetensors stream from its current position to its end.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    /// <exception cref="IOException">Reading the stream fails.</exception>
    /// <exception cref="InvalidDataException">The data is not valid safetensors; the message names the problem.</exception>
    public static IReadOnlyDictionary<string, Tensor> Read(Stream stream) => ReadFile(stream).Tensors;

    /// <summary>Reads the tensors of a complete safetensors file held in memory.</summary>
    /// <exception cref="InvalidDataException">The data is not valid safetensors; the message names the problem.</exception>
    public static IReadOnlyDictionary<string, Tensor> Deserialize(ReadOnlySpan<byte> bytes) => DeserializeFile(bytes).Tensors;

    /// <summary>Reads the file at <paramref name="path"/>: tensors, metadata and data hash.</summary>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="IOException">The file cannot be opened or read (<see cref="FileNotFoundException"/> when it does not exist).</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    /// <exception cref="InvalidDataException">The file is not valid safetensors; the message starts with the path and names the problem.</exception>
    public static SafeTensorsFile LoadFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        try
        {
            return SafeTensorsReader.Read(stream);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{MessageText.Clip(path)}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Reads only the header of the file at <paramref name="path"/> and returns its <c>__metadata__</c> map (which holds
    /// the embedded <see cref="ModelManifest"/>), without loading any tensor. The whole header is still validated.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="IOException">The file cannot be opened or read (<see cref="FileNotFoundException"/> when it does not exist).</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    /// <exception cref="InvalidDataException">The file is not valid safetensors; the message starts with the path and names the problem.</exception>
    public static IReadOnlyDictionary<string, string> LoadMetadata(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            return SafeTensorsReader.ReadHeader(stream, out _).Metadata;
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{MessageText.Clip(path)}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Reads a safetensors stream from its current position to its end: tensors, metadata and data hash. A seekable
    /// stream's length bounds every allocation up front; a non-seekable stream is read incrementally.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    /// <exception cref="IOException">Reading the stream fails.</exception>
    /// <exception cref="InvalidDataException">The data is not valid safetensors; the message names the problem.</exception>
    public static SafeTensorsFile ReadFile(Stream stream) => SafeTensorsReader.Read(stream);

    /// <summary>Reads a complete safetensors file held in memory: tensors, metadata and data hash.</summary>
    /// <exception cref="InvalidDataException">The data is not valid safetensors; the message names the problem.</exception>
    public static SafeTensorsFile DeserializeFile(ReadOnlySpan<byte> bytes) => SafeTensorsReader.Read(bytes);

    // Writes next to the target and renames, so a reader (a serving process) never sees a half-written file.
    internal static void WriteFileAtomically(string path, Action<Stream> write)
    {
        string temp = path + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            if (File.Exists(temp)) File.Delete(temp);
            throw;
        }
    }
}

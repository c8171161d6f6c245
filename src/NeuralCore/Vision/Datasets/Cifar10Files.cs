namespace NeuralCore.Vision;

/// <summary>
/// Locates and decodes CIFAR-10's binary batches: each record is 1 label byte then 3072 pixel bytes
/// (1024 red, 1024 green, 1024 blue, each a row-major 32×32 plane), exactly the [3, 32, 32] CHW layout.
/// </summary>
internal static class Cifar10Files
{
    internal const string Folder = "cifar-10-batches-bin";
    internal const int RecordBytes = 1 + ImageBytes;
    const int ImageBytes = 3 * 32 * 32;

    internal static string[] BatchNames(bool train) =>
        train ? ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"] : ["test_batch.bin"];

    /// <summary>The first of root/cifar-10-batches-bin and root that holds every batch file of the split, or null.</summary>
    internal static string? FindDirectory(string root, bool train)
    {
        foreach (var dir in new[] { Path.Combine(root, Folder), root })
            if (BatchNames(train).All(name => File.Exists(Path.Combine(dir, name)))) return dir;
        return null;
    }

    /// <summary>Reads the split's batch files from <paramref name="dir"/>: UInt8 [N, 3, 32, 32] and Int64 [N].</summary>
    internal static (Tensor Images, Tensor Labels) Read(string dir, bool train)
    {
        var files = BatchNames(train).Select(name => Path.Combine(dir, name)).ToArray();
        long total = 0;
        foreach (var file in files)
        {
            long length = new FileInfo(file).Length;
            if (length == 0 || length % RecordBytes != 0)
                throw new InvalidDataException(
                    $"CIFAR-10 file '{file}' is {length} bytes, not a positive multiple of the {RecordBytes}-byte record " +
                    "(1 label byte + 3072 pixel bytes): it is truncated or not a CIFAR-10 binary batch. Delete it and extract cifar-10-binary.tar.gz again.");
            total += length / RecordBytes;
        }
        if (total * ImageBytes > Array.MaxLength)
            throw new InvalidDataException($"CIFAR-10 files in '{dir}' hold {total} records, more than one array can hold.");
        var pixels = new byte[total * ImageBytes];
        var labels = new long[total];
        var record = new byte[RecordBytes];
        int n = 0;
        foreach (var file in files)
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            long records = stream.Length / RecordBytes;
            for (long r = 0; r < records; r++, n++)
            {
                stream.ReadExactly(record);
                if (record[0] > 9)
                    throw new InvalidDataException($"CIFAR-10 file '{file}': record {r} has label {record[0]}; labels must be 0-9.");
                labels[n] = record[0];
                Buffer.BlockCopy(record, 1, pixels, n * ImageBytes, ImageBytes);
            }
        }
        return (Tensor.FromArray(pixels, total, 3, 32, 32), Tensor.FromArray(labels));
    }

    /// <summary>The class names from batches.meta.txt (one per line) when it lists ten, else null.</summary>
    internal static IReadOnlyList<string>? ReadClassNames(string dir)
    {
        string meta = Path.Combine(dir, "batches.meta.txt");
        if (!File.Exists(meta)) return null;
        var names = File.ReadAllLines(meta).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        return names.Length == 10 ? names : null;
    }
}

using NeuralCore.Data;

namespace NeuralCore.Vision;

/// <summary>
/// CIFAR-10 (Krizhevsky, 2009): 50,000 training and 10,000 test 32×32 colour images of 10 classes, read
/// from the official binary distribution. Items are UInt8 [3, 32, 32] images (through the transform when
/// one is given) with Int64 labels.
/// </summary>
/// <remarks>
/// The batch files (<c>data_batch_1.bin</c> … <c>data_batch_5.bin</c>, <c>test_batch.bin</c>) are read from
/// <c>root/cifar-10-batches-bin</c> or directly from <c>root</c>. With <c>download</c> set and the files
/// missing, <c>cifar-10-binary.tar.gz</c> is fetched into <c>root</c> (or an archive already there is used),
/// its MD5 checked, and it is extracted in-process. Extraction writes only directories and regular files under
/// <c>root</c> and refuses archives whose paths or links escape it, or that exceed <see cref="ArchiveLimits"/>
/// (by default 64 entries, 64 MiB per entry, 256 MiB in all).
/// </remarks>
public sealed class Cifar10 : ImageDataset
{
    /// <summary>The official archive of the binary version.</summary>
    public const string DefaultUrl = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";

    /// <summary>The MD5 of the official archive.</summary>
    public const string DefaultMd5 = "c32a1d4ab5d03f1284b67883e8d87530";

    const string ArchiveName = "cifar-10-binary.tar.gz";

    /// <summary>The standard class names, used when batches.meta.txt is absent.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>Loads the training or test split.</summary>
    /// <param name="root">The directory holding <c>cifar-10-batches-bin</c> (or the batch files), and where downloads go.</param>
    /// <param name="train">The 50,000-image training split (true) or the 10,000-image test split.</param>
    /// <param name="download">Download and extract the archive when the files are missing.</param>
    /// <param name="transform">Applied to each item's UInt8 [3, 32, 32] image, or null.</param>
    /// <param name="url">The archive URL; <see cref="DefaultUrl"/> when null.</param>
    /// <param name="md5">The archive's expected MD5; <see cref="DefaultMd5"/> for the default URL, otherwise
    /// unchecked when null.</param>
    /// <param name="progress">Receives the download progress, 0 to 1.</param>
    /// <param name="archiveLimits">Bounds on the archive being extracted; <see cref="ArchiveLimits.Default"/> when null.</param>
    /// <exception cref="FileNotFoundException">The files are missing and <paramref name="download"/> is false.</exception>
    /// <exception cref="IOException">The download failed.</exception>
    /// <exception cref="InvalidDataException">A file or the archive is malformed, the archive exceeds
    /// <paramref name="archiveLimits"/> or would write outside <paramref name="root"/>, or the checksum is wrong.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A limit in <paramref name="archiveLimits"/> is not positive.</exception>
    public Cifar10(string root, bool train = true, bool download = false, ITransform? transform = null,
        string? url = null, string? md5 = null, IProgress<double>? progress = null, ArchiveLimits? archiveLimits = null)
        : this(Load(root, train, download, url, md5, progress, archiveLimits), transform)
    {
    }

    Cifar10((Tensor Images, Tensor Labels, IReadOnlyList<string> Classes, string Source) data, ITransform? transform)
        : base(data.Images, data.Labels, data.Classes, transform, data.Source)
    {
    }

    /// <summary>All images as read, UInt8 [N, 3, 32, 32].</summary>
    public Tensor Images => RawImages;

    /// <inheritdoc/>
    protected override Tensor UntransformedImages => RawImages;

    static (Tensor, Tensor, IReadOnlyList<string>, string) Load(string root, bool train, bool download, string? url, string? md5, IProgress<double>? progress,
        ArchiveLimits? archiveLimits)
    {
        ArgumentNullException.ThrowIfNull(root);
        archiveLimits?.Validate();
        string? dir = Cifar10Files.FindDirectory(root, train);
        if (dir is null)
        {
            string expected = string.Join(", ", Cifar10Files.BatchNames(train));
            string where = Path.Combine(root, Cifar10Files.Folder);
            if (!download)
                throw new FileNotFoundException(
                    $"CIFAR-10 binary files not found: expected {expected} in '{where}' (or in '{root}'). " +
                    $"Pass download: true, or download {DefaultUrl} and extract it into '{root}'.");
            string source = url ?? DefaultUrl;
            string? checksum = md5 ?? (url is null ? DefaultMd5 : null);
            string archive = Path.Combine(root, ArchiveName);
            if (!File.Exists(archive) || (checksum is not null && Downloads.Md5Of(archive) != checksum.ToLowerInvariant()))
                Downloads.Fetch(source, archive, checksum, "CIFAR-10", $"Place the binary files in '{where}'.", progress);
            TarGz.Extract(archive, root, archiveLimits);
            dir = Cifar10Files.FindDirectory(root, train)
                ?? throw new FileNotFoundException($"CIFAR-10: the archive from {source} did not contain {expected} (looked in '{where}' and '{root}').");
        }
        var (images, labels) = Cifar10Files.Read(dir, train);
        return (images, labels, Cifar10Files.ReadClassNames(dir) ?? ClassNames, dir);
    }
}

using NeuralCore.Data;

namespace NeuralCore.Vision;

/// <summary>LeCun's MNIST handwritten digits: 60,000 training and 10,000 test 28×28 grayscale images of 0–9.</summary>
/// <remarks>
/// The IDX files (raw or .gz) are looked up in <c>root</c>, then <c>root/MNIST/raw</c> (torchvision's layout);
/// when neither has them and <c>download</c> is true they are downloaded into <c>root</c> and checked against
/// the published MD5 sums.
/// </remarks>
public sealed class Mnist : IdxImageDataset
{
    /// <summary>Where the official files are downloaded from (the mirror torchvision uses).</summary>
    public const string DefaultUrl = "https://ossci-datasets.s3.amazonaws.com/mnist/";

    /// <summary>The class names, indexed by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"];

    static readonly IdxDatasetSource Spec = new()
    {
        Name = "MNIST",
        TorchvisionFolder = "MNIST",
        KnownDirectories = [],
        BaseUrl = DefaultUrl,
        Md5 = new Dictionary<string, string>
        {
            ["train-images-idx3-ubyte.gz"] = "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            ["train-labels-idx1-ubyte.gz"] = "d53e105ee54ea40749a09fcbcd1e9432",
            ["t10k-images-idx3-ubyte.gz"] = "9fb629c4189551a2d022fa330f9573f3",
            ["t10k-labels-idx1-ubyte.gz"] = "ec29112dd5afa0611ce80d1b7f02629c",
        },
        InstallHint = "Download the four MNIST IDX files",
        Classes = ClassNames,
    };

    /// <summary>Loads the training or test split.</summary>
    /// <param name="root">The directory searched first, and where downloads go.</param>
    /// <param name="train">The 60,000-image training split (true) or the 10,000-image test split.</param>
    /// <param name="download">Download the files into <paramref name="root"/> when they are not found.</param>
    /// <param name="transform">Applied to each item's UInt8 [1, 28, 28] image; null yields Float32 images in [0, 1].</param>
    /// <param name="url">The base URL to download from instead of <see cref="DefaultUrl"/> (checksums are then not checked).</param>
    /// <param name="progress">Receives the download progress of each file, 0 to 1.</param>
    /// <exception cref="FileNotFoundException">The files are not found and <paramref name="download"/> is false.</exception>
    /// <exception cref="IOException">The download failed.</exception>
    /// <exception cref="InvalidDataException">A file is malformed, or a download's checksum is wrong.</exception>
    public Mnist(string root, bool train = true, bool download = true, ITransform? transform = null,
        string? url = null, IProgress<double>? progress = null)
        : base(Spec.Load(root, train, download, url, progress), ClassNames, transform)
    {
    }
}

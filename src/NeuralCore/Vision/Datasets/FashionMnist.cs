using NeuralCore.Data;

namespace NeuralCore.Vision;

/// <summary>
/// Zalando's Fashion-MNIST: 60,000 training and 10,000 test 28×28 grayscale images of 10 clothing classes.
/// </summary>
/// <remarks>
/// The IDX files (raw or .gz) are looked up in <c>root</c>, then <c>root/FashionMNIST/raw</c> (torchvision's
/// layout), then <c>/usr/share/datasets/fashion-mnist</c> (Debian's <c>dataset-fashion-mnist</c> package);
/// when none has them and <c>download</c> is true they are downloaded into <c>root</c> and checked against the
/// published MD5 sums. <see cref="ImageDataset.Source"/> tells which directory was used.
/// </remarks>
public sealed class FashionMnist : IdxImageDataset
{
    /// <summary>The directory Debian's <c>dataset-fashion-mnist</c> package installs the IDX files to.</summary>
    public const string DebianDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>Where the official files are downloaded from.</summary>
    public const string DefaultUrl = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/";

    /// <summary>The class names, indexed by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    static readonly IdxDatasetSource Spec = new()
    {
        Name = "Fashion-MNIST",
        TorchvisionFolder = "FashionMNIST",
        KnownDirectories = [DebianDirectory],
        BaseUrl = DefaultUrl,
        Md5 = new Dictionary<string, string>
        {
            ["train-images-idx3-ubyte.gz"] = "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            ["train-labels-idx1-ubyte.gz"] = "25c81989df183df01b3e8a0aad5dffbe",
            ["t10k-images-idx3-ubyte.gz"] = "bef4ecab320f06d8554ea6380940ec79",
            ["t10k-labels-idx1-ubyte.gz"] = "bb300cfdad3c16e7a12a480ee83cd310",
        },
        InstallHint = "Install Debian's dataset-fashion-mnist package (apt-get install dataset-fashion-mnist)",
        Classes = ClassNames,
    };

    /// <summary>Loads the training or test split.</summary>
    /// <param name="root">The directory searched first, and where downloads go.</param>
    /// <param name="train">The 60,000-image training split (true) or the 10,000-image test split.</param>
    /// <param name="download">Download the files into <paramref name="root"/> when no directory has them.</param>
    /// <param name="transform">Applied to each item's UInt8 [1, 28, 28] image; null yields Float32 images in [0, 1].</param>
    /// <param name="url">The base URL to download from instead of <see cref="DefaultUrl"/> (checksums are then not checked).</param>
    /// <param name="progress">Receives the download progress of each file, 0 to 1.</param>
    /// <exception cref="FileNotFoundException">The files are not found and <paramref name="download"/> is false.</exception>
    /// <exception cref="IOException">The download failed.</exception>
    /// <exception cref="InvalidDataException">A file is malformed, or a download's checksum is wrong.</exception>
    public FashionMnist(string root, bool train = true, bool download = true, ITransform? transform = null,
        string? url = null, IProgress<double>? progress = null)
        : base(Spec.Load(root, train, download, url, progress), ClassNames, transform)
    {
    }
}

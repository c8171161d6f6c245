namespace NeuralCore.Vision;

/// <summary>
/// Where an MNIST-format dataset lives and how to fetch it: file names, directories searched, download
/// location and checksums. Finds, downloads and decodes a split into UInt8 images and Int64 labels.
/// </summary>
internal sealed class IdxDatasetSource
{
    internal required string Name { get; init; }
    internal required string TorchvisionFolder { get; init; }
    internal required string[] KnownDirectories { get; init; }
    internal required string BaseUrl { get; init; }
    internal required IReadOnlyDictionary<string, string> Md5 { get; init; }
    internal required string InstallHint { get; init; }
    internal required IReadOnlyList<string> Classes { get; init; }

    static (string Images, string Labels) FileNames(bool train) =>
        train ? ("train-images-idx3-ubyte", "train-labels-idx1-ubyte") : ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");

    /// <summary>
    /// Reads the split: from <paramref name="root"/> (or its torchvision-style <c>Name/raw</c> folder), then the
    /// known system directories, else (when <paramref name="download"/>) downloads into <paramref name="root"/>.
    /// </summary>
    internal (Tensor Images, Tensor Labels, string Source) Load(string root, bool train, bool download, string? url, IProgress<double>? progress)
    {
        ArgumentNullException.ThrowIfNull(root);
        var (imagesName, labelsName) = FileNames(train);
        var directories = new List<string> { root, Path.Combine(root, TorchvisionFolder, "raw") };
        directories.AddRange(KnownDirectories);
        foreach (var dir in directories)
        {
            string? images = Find(dir, imagesName), labels = Find(dir, labelsName);
            if (images is not null && labels is not null) return Decode(images, labels, dir);
        }
        if (!download)
            throw new FileNotFoundException(
                $"{Name} {(train ? "training" : "test")} files not found: looked for {imagesName}[.gz] and {labelsName}[.gz] in " +
                $"{string.Join(", ", directories.Select(d => $"'{d}'"))}. {InstallHint}, place the files in '{root}', or pass download: true.");
        string baseUrl = url ?? BaseUrl;
        if (!baseUrl.EndsWith('/')) baseUrl += "/";
        string hint = $"Place the IDX files in '{root}'. {InstallHint}.";
        foreach (var name in new[] { imagesName, labelsName })
        {
            string file = name + ".gz";
            Downloads.Fetch(baseUrl + file, Path.Combine(root, file), url is null ? Md5[file] : null, Name, hint, progress);
        }
        return Decode(Path.Combine(root, imagesName + ".gz"), Path.Combine(root, labelsName + ".gz"), root);
    }

    static string? Find(string dir, string name)
    {
        string raw = Path.Combine(dir, name);
        if (File.Exists(raw)) return raw;
        string gz = raw + ".gz";
        return File.Exists(gz) ? gz : null;
    }

    (Tensor Images, Tensor Labels, string Source) Decode(string imagesPath, string labelsPath, string source)
    {
        var images = IdxReader.ReadImages(imagesPath);
        var labels = IdxReader.ReadLabels(labelsPath);
        int n = images.Dims[0];
        if (labels.Dims[0] != n)
            throw new InvalidDataException($"{Name}: image/label count mismatch: '{imagesPath}' holds {n} images but '{labelsPath}' holds {labels.Dims[0]} labels.");
        var values = new long[n];
        for (int i = 0; i < n; i++)
        {
            byte label = labels.Data[i];
            if (label >= Classes.Count)
                throw new InvalidDataException($"{Name}: label file '{labelsPath}' has label {label} at item {i}; labels must be in 0..{Classes.Count - 1}.");
            values[i] = label;
        }
        var pixels = Tensor.FromArray(images.Data, n, 1, images.Dims[1], images.Dims[2]);
        return (pixels, Tensor.FromArray(values), source);
    }
}

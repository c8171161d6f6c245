using NeuralCore.Data;

namespace NeuralCore.Vision;

/// <summary>
/// A labelled dataset of image files laid out one sub-folder per class (torchvision's ImageFolder):
/// <c>root/cat/1.png</c>, <c>root/dog/a/2.jpg</c>, ... Classes are the sub-folder names sorted ordinally
/// (label k names <c>Classes[k]</c>); each class holds the matching files anywhere below its folder, sorted
/// ordinally by path. Items are decoded on access by <see cref="ImageFiles.Load"/> to Float32 [C, H, W] in
/// [0, 1], then passed through the transform; targets are Int64 scalars. A <see cref="DataLoader"/> decodes
/// and transforms the items of a batch in parallel, each with its own generator.
/// </summary>
public sealed class ImageFolder : Dataset
{
    /// <summary>The file extensions read by default: .png, .jpg, .jpeg and .bmp.</summary>
    public static IReadOnlyList<string> DefaultExtensions { get; } = [".png", ".jpg", ".jpeg", ".bmp"];

    readonly string[] paths;

    /// <summary>Lists the class folders and image files under <paramref name="root"/>.</summary>
    /// <param name="root">The folder holding one sub-folder per class.</param>
    /// <param name="transform">Applied to each decoded Float32 [C, H, W] image, or null.</param>
    /// <param name="channels">1 (grayscale) or 3 (RGB); images are converted to it.</param>
    /// <param name="extensions">The file extensions to read (case-insensitive, with or without the dot);
    /// null for <see cref="DefaultExtensions"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="root"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="channels"/> is neither 1 nor 3.</exception>
    /// <exception cref="ArgumentException">An extension is empty, the root has no class sub-folders, a class
    /// folder has no matching files, or (without a transform) the images differ in size, which would make
    /// batches impossible to stack; add a Resize transform then.</exception>
    /// <exception cref="DirectoryNotFoundException"><paramref name="root"/> does not exist.</exception>
    /// <exception cref="InvalidDataException">(Without a transform) a file's header cannot be read; the message names it.</exception>
    public ImageFolder(string root, ITransform? transform = null, int channels = 3, IEnumerable<string>? extensions = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        ImageFiles.CheckChannels(channels);
        var exts = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var e in extensions ?? DefaultExtensions)
        {
            if (string.IsNullOrWhiteSpace(e) || e == ".")
                throw new ArgumentException("ImageFolder: file extensions must not be empty.", nameof(extensions));
            exts.Add(e.StartsWith('.') ? e : "." + e);
        }
        if (exts.Count == 0) throw new ArgumentException("ImageFolder: no file extensions given.", nameof(extensions));
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"ImageFolder: the root folder \"{root}\" does not exist.");

        var classes = Directory.GetDirectories(root).Select(Path.GetFileName).OfType<string>().ToArray();
        Array.Sort(classes, StringComparer.Ordinal);
        if (classes.Length == 0)
            throw new ArgumentException($"ImageFolder: \"{root}\" has no class sub-folders; expected root/<class>/<image files>.", nameof(root));

        var files = new List<string>();
        var labels = new List<long>();
        for (int k = 0; k < classes.Length; k++)
        {
            var found = Directory.EnumerateFiles(Path.Combine(root, classes[k]), "*", SearchOption.AllDirectories)
                .Where(f => exts.Contains(Path.GetExtension(f))).ToArray();
            if (found.Length == 0)
                throw new ArgumentException(
                    $"ImageFolder: the class folder \"{classes[k]}\" under \"{root}\" has no files with extensions {string.Join(", ", exts.Order(StringComparer.Ordinal))}.",
                    nameof(root));
            Array.Sort(found, StringComparer.Ordinal);
            files.AddRange(found);
            labels.AddRange(Enumerable.Repeat((long)k, found.Length));
        }
        paths = [.. files];
        if (transform is null) CheckSameSize(paths);

        Root = root;
        Transform = transform;
        Channels = channels;
        Classes = classes;
        Labels = Tensor.FromArray(labels.ToArray());
    }

    static void CheckSameSize(string[] files)
    {
        var first = ImageFiles.Size(files[0]);
        for (int i = 1; i < files.Length; i++)
        {
            var size = ImageFiles.Size(files[i]);
            if (size != first)
                throw new ArgumentException(
                    $"ImageFolder: images differ in size (\"{files[0]}\" is {first.Width}×{first.Height}, \"{files[i]}\" is " +
                    $"{size.Width}×{size.Height}), so batches cannot be stacked; pass a transform such as Transforms.Resize(h, w).");
        }
    }

    /// <summary>The root folder.</summary>
    public string Root { get; }

    /// <summary>The transform applied to each decoded image, or null.</summary>
    public ITransform? Transform { get; }

    /// <summary>The number of channels images are converted to: 1 or 3.</summary>
    public int Channels { get; }

    /// <summary>The class names (sub-folder names, sorted ordinally); label k names <c>Classes[k]</c>.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>The class index of each file, Int64 [N].</summary>
    public Tensor Labels { get; }

    /// <summary>The image file of each item, in item order.</summary>
    public IReadOnlyList<string> Files => paths;

    /// <inheritdoc/>
    public override int Count => paths.Length;

    /// <summary>Always true: items are decoded (and transformed) one at a time.</summary>
    public override bool HasItemTransform => true;

    /// <summary>Decodes item <paramref name="index"/> and applies the transform.</summary>
    /// <param name="index">The item index.</param>
    /// <returns>The image and its Int64 scalar class index.</returns>
    /// <exception cref="InvalidDataException">The file cannot be decoded; the message names it.</exception>
    public override (Tensor Input, Tensor Target) this[int index]
    {
        get
        {
            CheckIndex(index);
            var image = ImageFiles.Load(paths[index], Channels);
            return (Transform is null ? image : Transform.Apply(image), Labels[index]);
        }
    }
}

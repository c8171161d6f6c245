using NeuralCore.Fuzz.Targets;

namespace NeuralCore.Fuzz;

/// <summary>Every fuzz target in the repository, by name.</summary>
public static class FuzzTargets
{
    /// <summary>The target names, in run order.</summary>
    public static IReadOnlyList<string> Names { get; } = ["safetensors", "manifest", "sequential", "idx", "cifar10", "targz"];

    /// <summary>A new instance of the named target.</summary>
    /// <exception cref="ArgumentException">No target has that name.</exception>
    public static FuzzTarget Create(string name) => name switch
    {
        "safetensors" => new SafeTensorsTarget(),
        "manifest" => new ManifestTarget(),
        "sequential" => new SequentialTarget(),
        "idx" => new IdxTarget(),
        "cifar10" => new Cifar10Target(),
        "targz" => new TarGzTarget(),
        _ => throw new ArgumentException($"unknown fuzz target '{name}'; the targets are {string.Join(", ", Names)} (or all)", nameof(name)),
    };

    /// <summary>The files of <paramref name="directory"/>/<paramref name="target"/> (not its subfolders), sorted by name.</summary>
    public static IReadOnlyList<string> CorpusFiles(string directory, string target)
    {
        string dir = Path.Combine(directory, target);
        return Directory.Exists(dir) ? Directory.GetFiles(dir).Where(f => !f.EndsWith(".txt", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList() : [];
    }
}

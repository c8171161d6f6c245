using NeuralCore.Serialization;

namespace NeuralCore.Nn;

public sealed partial class Sequential
{
    /// <summary>
    /// Rebuilds a model saved with <see cref="Module.Save"/>: the architecture from the manifest embedded in the file
    /// (through the <see cref="ModuleConfigs"/> registry only, never by type names), then the weights, checked against
    /// the manifest's SHA-256. Safe for files from untrusted sources: the manifest and the whole architecture are
    /// checked against <paramref name="limits"/> right after the header is read, before any tensor is read or any
    /// layer is built.
    /// </summary>
    /// <param name="path">The model file.</param>
    /// <param name="limits">
    /// Bounds on the layer count, nesting, parameter count, each layer's sizes and the manifest;
    /// <see cref="ModelLoadLimits.Default"/> when null. Raise one with, for instance,
    /// <c>new ModelLoadLimits { MaxLayers = 50_000 }</c> to load a trusted file that exceeds it.
    /// </param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="IOException">The file cannot be opened or read (<see cref="FileNotFoundException"/> when it does not exist).</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    /// <exception cref="InvalidDataException">
    /// The file is malformed, has no manifest or architecture, describes something other than a Sequential, names an
    /// unregistered layer type, exceeds a limit, or its weights do not match the architecture or the SHA-256. The
    /// message starts with the path and names the problem (for a limit: the layer, the setting, the value, the limit
    /// and how to raise it).
    /// </exception>
    public static Sequential Load(string path, ModelLoadLimits? limits = null) => ModuleLoader.Load<Sequential>(path, limits).Model;
}

using NeuralCore.Serialization;

namespace NeuralCore.Nn;

public abstract partial class Module
{
    /// <summary>
    /// Saves the state dict as a safetensors file (readable by PyTorch and others) with a <see cref="ModelManifest"/>
    /// embedded in its metadata. The manifest records the weights' SHA-256 and, when every module in the tree is
    /// registered with <see cref="ModuleConfigs"/> (a <see cref="Sequential"/> of built-in layers, for instance), the
    /// architecture, so <see cref="Sequential.Load"/> can rebuild the model from the file alone.
    /// </summary>
    /// <param name="path">The file to write; replaced atomically.</param>
    /// <param name="manifest">
    /// Name, version, metrics and so on; its <see cref="ModelManifest.WeightsSha256"/> is always recomputed and its
    /// <see cref="ModelManifest.Architecture"/> filled in when null. Defaults to a manifest named after the module type.
    /// </param>
    public void Save(string path, ModelManifest? manifest = null)
    {
        manifest ??= new ModelManifest { Name = GetType().Name };
        if (manifest.Architecture is null) manifest = manifest with { Architecture = ModuleConfigs.TryDescribe(this) };
        ModelFile.Save(path, StateDict(), manifest);
    }

    /// <summary>
    /// Loads parameters and buffers from a safetensors file (from <see cref="Save"/>, PyTorch or any other writer)
    /// into this module, as <see cref="LoadStateDict"/> does. When the file has a NeuralCore manifest, it is held to
    /// <paramref name="limits"/> and, when it records a SHA-256, the file is checked against it first.
    /// </summary>
    /// <param name="path">The safetensors file.</param>
    /// <param name="strict">Whether every key must match (see <see cref="LoadStateDict"/>).</param>
    /// <param name="limits">Bounds on the embedded manifest; <see cref="ModelLoadLimits.Default"/> when null.</param>
    /// <exception cref="IOException">The file cannot be opened or read (<see cref="FileNotFoundException"/> when it does not exist).</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    /// <exception cref="InvalidDataException">
    /// The file or its manifest is malformed or over a limit, or the file fails the manifest's integrity check; the
    /// message starts with the path.
    /// </exception>
    /// <exception cref="ArgumentException">
    /// <paramref name="path"/> is empty, or keys or shapes do not match this module (missing and unexpected keys only
    /// with <paramref name="strict"/>; the message names the first ten of each kind and how many more).
    /// </exception>
    public void LoadWeights(string path, bool strict = true, ModelLoadLimits? limits = null)
    {
        var (file, manifest) = ModelFile.Read(path, limits ?? ModelLoadLimits.Default);
        ModelFile.CheckVersion1DTypes(path, file, manifest, this);
        LoadStateDict(file.Tensors, strict);
    }
}

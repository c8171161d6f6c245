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
    /// into this module, as <see cref="LoadStateDict"/> does. When the file has a NeuralCore manifest with a SHA-256,
    /// the weights are checked against it first.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is malformed or its weights do not match the manifest's SHA-256.</exception>
    /// <exception cref="ArgumentException">Keys or shapes do not match this module (missing and unexpected keys only with <paramref name="strict"/>).</exception>
    public void LoadWeights(string path, bool strict = true)
    {
        var (file, _) = ModelFile.Read(path);
        LoadStateDict(file.Tensors, strict);
    }
}

using NeuralCore.Nn;

namespace NeuralCore.Serialization;

/// <summary>Rebuilds a model of a known type from a file written by <see cref="Module.Save"/>.</summary>
internal static class ModuleLoader
{
    /// <summary>
    /// The architecture from the embedded manifest (checked against the limits before any tensor is read or layer built),
    /// then the weights, checked against the manifest's SHA-256. Errors are <see cref="InvalidDataException"/>s that
    /// start with the path.
    /// </summary>
    public static (T Model, ModelManifest Manifest) Load<T>(string path, ModelLoadLimits? limits) where T : Module
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        limits ??= ModelLoadLimits.Default;
        string shown = MessageText.Clip(path);
        var (file, manifest) = ModelFile.Read(path, limits, (manifest, elements) =>
        {
            if (manifest?.Architecture is not { } architecture)
                throw new InvalidDataException("the file has no NeuralCore manifest with an architecture; build the model in code and call LoadWeights.");
            ModuleConfigs.Check(architecture, elements, limits);
        });
        Module model;
        try
        {
            model = ModuleConfigs.Create(manifest!.Architecture!, file.Tensors.Values.Sum(t => t.NumElements), limits);
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException)
        {
            throw new InvalidDataException($"{shown}: {e.Message}", e);
        }
        if (model is not T typed)
            throw new InvalidDataException($"{shown}: the architecture describes a {model.GetType().Name}, not a {typeof(T).Name}.");
        ModelFile.CheckVersion1DTypes(path, file, manifest, typed);
        try
        {
            typed.LoadStateDict(file.Tensors, strict: true);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{shown}: the weights do not match the architecture in the manifest. {e.Message}", e);
        }
        return (typed, manifest);
    }
}

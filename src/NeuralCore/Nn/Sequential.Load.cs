using NeuralCore.Serialization;

namespace NeuralCore.Nn;

public sealed partial class Sequential
{
    /// <summary>
    /// Rebuilds a model saved with <see cref="Module.Save"/>: the architecture from the manifest embedded in the file
    /// (through the <see cref="ModuleConfigs"/> registry only, never by type names), then the weights, checked against
    /// the manifest's SHA-256.
    /// </summary>
    /// <exception cref="InvalidDataException">
    /// The file is malformed, has no manifest or architecture, describes something other than a Sequential, names an
    /// unregistered layer type, or its weights do not match the architecture or the SHA-256.
    /// </exception>
    public static Sequential Load(string path)
    {
        var (file, manifest) = ModelFile.Read(path);
        if (manifest?.Architecture is not { } architecture)
            throw new InvalidDataException($"{path}: the file has no NeuralCore manifest with an architecture; build the model in code and call LoadWeights.");
        long elements = file.Tensors.Values.Sum(t => t.NumElements);
        Module model;
        try
        {
            model = ModuleConfigs.Create(architecture, elements);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
        if (model is not Sequential sequential)
            throw new InvalidDataException($"{path}: the architecture describes a {model.GetType().Name}, not a Sequential.");
        try
        {
            sequential.LoadStateDict(file.Tensors, strict: true);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{path}: the weights do not match the architecture in the manifest. {e.Message}", e);
        }
        return sequential;
    }
}

using NeuralCore.Serialization;
using NeuralCore.Text;

namespace NeuralCore.Nn;

public sealed partial class GptModel
{
    /// <summary>
    /// Saves the model as <see cref="Module.Save"/> does, with <paramref name="tokenizer"/> recorded in the manifest
    /// (<see cref="ModelManifest.Tokenizer"/>) so <see cref="LoadWithTokenizer"/> restores both.
    /// </summary>
    public void Save(string path, ITokenizer tokenizer, ModelManifest? manifest = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (tokenizer.VocabSize > VocabSize)
            throw new ArgumentException($"GptModel: the tokenizer has {tokenizer.VocabSize} tokens, the model only {VocabSize}.", nameof(tokenizer));
        manifest ??= new ModelManifest { Name = nameof(GptModel) };
        Save(path, manifest with { Tokenizer = tokenizer.ToJson() });
    }

    /// <summary>Rebuilds a model saved with <see cref="Module.Save"/> (architecture and weights, checked as <see cref="Sequential.Load"/> does).</summary>
    /// <exception cref="InvalidDataException">The file is malformed, over a limit, or does not describe a GptModel.</exception>
    public static GptModel Load(string path, ModelLoadLimits? limits = null) => ModuleLoader.Load<GptModel>(path, limits).Model;

    /// <summary>Rebuilds a model saved with <see cref="Save(string, ITokenizer, ModelManifest?)"/> and its tokenizer.</summary>
    /// <exception cref="InvalidDataException">The file is malformed, does not describe a GptModel, or records no valid tokenizer.</exception>
    public static (GptModel Model, ITokenizer Tokenizer) LoadWithTokenizer(string path, ModelLoadLimits? limits = null)
    {
        var (model, manifest) = ModuleLoader.Load<GptModel>(path, limits);
        if (manifest.Tokenizer is null)
            throw new InvalidDataException($"{MessageText.Clip(path)}: the manifest records no tokenizer.");
        ITokenizer tokenizer;
        try
        {
            tokenizer = Tokenizers.FromJson(manifest.Tokenizer);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{MessageText.Clip(path)}: {e.Message}", e);
        }
        if (tokenizer.VocabSize > model.VocabSize)
            throw new InvalidDataException($"{MessageText.Clip(path)}: the tokenizer has {tokenizer.VocabSize} tokens, the model only {model.VocabSize}.");
        return (model, tokenizer);
    }
}

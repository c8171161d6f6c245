using NeuralCore.Nn;

namespace NeuralCore.Text;

/// <summary>A model that predicts the next token of a sequence and can continue one from a key/value cache.</summary>
public interface ICausalLanguageModel
{
    /// <summary>The longest sequence the model reads.</summary>
    int ContextLength { get; }

    /// <summary>An empty cache for up to <paramref name="capacity"/> positions (the context length when null).</summary>
    KeyValueCache NewCache(int? capacity = null);

    /// <summary>Logits [B, L, vocab] for tokens [B, L] continuing the sequence cached in <paramref name="cache"/> (when given).</summary>
    Tensor Forward(Tensor tokens, KeyValueCache? cache);
}

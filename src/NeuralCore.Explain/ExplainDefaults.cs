namespace NeuralCore.Explain;

/// <summary>Defaults shared by the attribution methods.</summary>
public static class ExplainDefaults
{
    /// <summary>
    /// The default bound on input elements in one internal forward/backward batch: 4 Mi elements (16 MiB of
    /// Float32 input). Integration steps, noise samples, occlusion windows and SHAP coalitions are evaluated in
    /// chunks of at most this many input elements (at least one row per chunk).
    /// </summary>
    public const long MaxBatchElements = 1L << 22;
}

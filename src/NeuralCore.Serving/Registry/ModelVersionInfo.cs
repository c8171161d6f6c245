namespace NeuralCore.Serving.Registry;

/// <summary>The description of one tensor a model takes or returns.</summary>
/// <param name="Name">The tensor's name in requests and responses (<c>"input"</c>, <c>"output"</c> by default).</param>
/// <param name="Shape">Its shape; -1 marks a free size (the batch).</param>
/// <param name="DataType">Its element type in Open Inference Protocol spelling (<c>"FP32"</c>).</param>
public sealed record TensorSpec(string Name, IReadOnlyList<long> Shape, string DataType);

/// <summary>What a model version takes and returns: its input and output tensors and, for classifiers, the class names.</summary>
/// <param name="Inputs">The input tensors (the library's models take one).</param>
/// <param name="Outputs">The output tensors.</param>
/// <param name="ClassNames">The name of each output class, in index order; empty when not a classifier or not given.</param>
public sealed record ModelSignature(IReadOnlyList<TensorSpec> Inputs, IReadOnlyList<TensorSpec> Outputs, IReadOnlyList<string> ClassNames);

/// <summary>One registered, immutable version of a model, with its metadata as recorded at the time of the call.</summary>
public sealed record ModelVersionInfo
{
    /// <summary>The model's name.</summary>
    public required string Name { get; init; }

    /// <summary>The version number: 1 for the first version of the model, then one more than the highest ever registered.</summary>
    public required int Version { get; init; }

    /// <summary>SHA-256 of the model file's bytes (64 lowercase hex digits); the file is stored under this name.</summary>
    public required string Sha256 { get; init; }

    /// <summary>The model file's size in bytes.</summary>
    public required long SizeBytes { get; init; }

    /// <summary>Free text.</summary>
    public string Description { get; init; } = "";

    /// <summary>True once <see cref="ModelRegistry.Archive"/> was called: still loadable by number, skipped by <c>"latest"</c>.</summary>
    public bool Archived { get; init; }

    /// <summary>Inputs, outputs and class names.</summary>
    public required ModelSignature Signature { get; init; }

    /// <summary>The training run's final metrics (the last epoch of each <see cref="Training.History"/> key) and any the caller added.</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();

    /// <summary>The training run's settings (<see cref="Training.History.Parameters"/>) and any the caller added.</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();

    /// <summary>Key/value tags (<see cref="ModelRegistry.SetTag"/>).</summary>
    public IReadOnlyDictionary<string, string> Tags { get; init; } = new Dictionary<string, string>();

    /// <summary>The aliases that point at this version.</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];

    /// <summary>Lineage: the version of the same model this one was derived from (fine-tuned, pruned...), if any.</summary>
    public int? ParentVersion { get; init; }

    /// <summary>Lineage: the name of the data set it was trained on, if given.</summary>
    public string? Dataset { get; init; }

    /// <summary>When the version was registered (UTC).</summary>
    public required DateTimeOffset CreatedUtc { get; init; }

    /// <summary>What training the version cost (FLOPs, energy, CO2e, method), when its history or manifest carried it.</summary>
    public Serialization.RecordedTrainingCost? TrainingCost { get; init; }
}

/// <summary>A registered model: its name, description, versions and aliases.</summary>
/// <param name="Name">The model's name.</param>
/// <param name="Description">Free text about the model as a whole.</param>
/// <param name="CreatedUtc">When its first version was registered.</param>
/// <param name="LatestVersion">The highest version number that is not archived, or null when every version is archived.</param>
/// <param name="VersionCount">How many versions it has, archived ones included.</param>
/// <param name="Aliases">Each alias and the version it points at.</param>
public sealed record RegisteredModel(string Name, string Description, DateTimeOffset CreatedUtc, int? LatestVersion, int VersionCount,
    IReadOnlyDictionary<string, int> Aliases);

/// <summary>The outcome of checking one stored version (<see cref="ModelRegistry.Verify"/>).</summary>
/// <param name="Name">The model's name.</param>
/// <param name="Version">The version number.</param>
/// <param name="Error">Null when the file's hash matches the record and the model loads; otherwise why not.</param>
public sealed record VerificationResult(string Name, int Version, string? Error)
{
    /// <summary>True when the version passed.</summary>
    public bool Ok => Error is null;
}

/// <summary>What <see cref="ModelRegistry.Register(string, Nn.Sequential, Training.History?, RegisterOptions?)"/> records besides the model.</summary>
public sealed record RegisterOptions
{
    /// <summary>Free text about this version.</summary>
    public string? Description { get; init; }

    /// <summary>
    /// The input shape with -1 for the batch (<c>[-1, 784]</c>); when given, the output shape is found by running the
    /// model once on zeros. Defaults to the shape in the file's manifest, if any.
    /// </summary>
    public IReadOnlyList<long>? InputShape { get; init; }

    /// <summary>The input tensor's name; <c>"input"</c> by default.</summary>
    public string InputName { get; init; } = "input";

    /// <summary>The output tensor's name; <c>"output"</c> by default.</summary>
    public string OutputName { get; init; } = "output";

    /// <summary>The class names, in output index order.</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>Metrics to record besides those taken from the history (a test-set accuracy, say); these win on a clash.</summary>
    public IReadOnlyDictionary<string, double>? Metrics { get; init; }

    /// <summary>Parameters to record besides those taken from the history; these win on a clash.</summary>
    public IReadOnlyDictionary<string, string>? Parameters { get; init; }

    /// <summary>Tags to set on the new version.</summary>
    public IReadOnlyDictionary<string, string>? Tags { get; init; }

    /// <summary>Aliases to point at the new version (moved from other versions when they exist).</summary>
    public IReadOnlyList<string>? Aliases { get; init; }

    /// <summary>Lineage: the version of the same model this one derives from; it must exist.</summary>
    public int? ParentVersion { get; init; }

    /// <summary>Lineage: the data set's name.</summary>
    public string? Dataset { get; init; }
}

using System.Globalization;

namespace NeuralCore.Serialization;

/// <summary>
/// Bounds on what a model file may ask the loader to build. <see cref="Nn.Sequential.Load"/>,
/// <see cref="Nn.Module.LoadWeights"/>, <see cref="ModelManifest.Parse"/> and <see cref="ModuleConfigs.Create"/>
/// check the manifest and the whole architecture against them before any layer is built, so a hostile or corrupt
/// file is refused with an <see cref="InvalidDataException"/> naming the layer, the setting, the value and the limit,
/// instead of allocating without bound or building a layer whose forward pass overflows.
/// </summary>
/// <remarks>
/// <para>
/// The defaults admit every common architecture (ResNets, VGG, ViT-sized MLPs, language-model heads with a
/// 250 000-word vocabulary) while keeping each layer's amplification of its input small: with them, no single layer
/// can turn an input into an output more than a few hundred times larger in a spatial dimension, and the whole model
/// holds at most 2^31 − 1 parameter elements (8 GiB of Float32). To load a trusted file that exceeds a default,
/// override just that property:
/// <c>Sequential.Load(path, new ModelLoadLimits { MaxPadding = 1024 })</c> or
/// <c>ModelLoadLimits.Default with { MaxLayers = 100_000 }</c>.
/// </para>
/// <para>
/// The limits bound what the file describes; the size of the inputs a host feeds the model is the host's to bound.
/// Layers registered by applications are counted against <see cref="MaxLayers"/>, <see cref="MaxNestingDepth"/> and
/// (through <see cref="ModuleConfig.ReserveParameters"/>) <see cref="MaxParameters"/>; their own settings are theirs
/// to check (<see cref="ModuleConfig.Limits"/> gives factories these values).
/// </para>
/// </remarks>
public sealed record ModelLoadLimits
{
    /// <summary>
    /// The largest value <see cref="MaxNestingDepth"/> and <see cref="MaxJsonDepth"/> accept: loading recurses once
    /// per level, and this keeps the recursion far from the stack's end.
    /// </summary>
    public const int MaxRecursionDepth = 1000;

    /// <summary>The default limits (the values documented on each property).</summary>
    public static ModelLoadLimits Default { get; } = new();

    /// <summary>
    /// Most layer configurations in the whole architecture, containers included (default 10 000; ResNet-152 has
    /// about 500 modules). Bounds the time and memory spent building the module tree.
    /// </summary>
    public int MaxLayers { get; init => field = Positive(value, int.MaxValue); } = 10_000;

    /// <summary>Deepest nesting of containers (default 32; the root is depth 0). At most <see cref="MaxRecursionDepth"/>.</summary>
    public int MaxNestingDepth { get; init => field = Positive(value, MaxRecursionDepth); } = 32;

    /// <summary>
    /// Most parameter and buffer elements the architecture may declare in total (default 2^31 − 1, 8 GiB of
    /// Float32). Loading from a file also never lets the architecture declare more than the file holds.
    /// </summary>
    public long MaxParameters { get; init => field = Positive(value, long.MaxValue); } = int.MaxValue;

    /// <summary>
    /// Largest feature count of one layer (default 2^20 = 1 048 576): Linear in/out features, Dense units and input
    /// features, BatchNorm features, each LayerNorm dimension.
    /// </summary>
    public int MaxFeatures { get; init => field = Positive(value, int.MaxValue); } = 1 << 20;

    /// <summary>Largest Conv2d input or output channel count (default 65 536).</summary>
    public int MaxChannels { get; init => field = Positive(value, int.MaxValue); } = 1 << 16;

    /// <summary>Largest kernel height or width of a convolution or pooling layer (default 256).</summary>
    public int MaxKernelSize { get; init => field = Positive(value, int.MaxValue); } = 256;

    /// <summary>Largest stride of a convolution or pooling layer, in either dimension (default 256).</summary>
    public int MaxStride { get; init => field = Positive(value, int.MaxValue); } = 256;

    /// <summary>
    /// Largest zero padding of a convolution or pooling layer, on either side of either dimension (default 256).
    /// Padding grows every activation map the layer sees, so this bounds what a file can make a forward pass allocate.
    /// </summary>
    public int MaxPadding { get; init => field = Positive(value, int.MaxValue); } = 256;

    /// <summary>Largest dilation of a convolution, in either dimension (default 256).</summary>
    public int MaxDilation { get; init => field = Positive(value, int.MaxValue); } = 256;

    /// <summary>Largest output height or width of an adaptive pooling layer (default 1024).</summary>
    public int MaxPoolOutputSize { get; init => field = Positive(value, int.MaxValue); } = 1024;

    /// <summary>Most dimensions of a shape in a manifest (LayerNorm's normalized shape, input and output shapes; default 32).</summary>
    public int MaxShapeRank { get; init => field = Positive(value, int.MaxValue); } = 32;

    /// <summary>
    /// Largest manifest, in UTF-8 bytes (default 16 MiB; a 10 000-layer architecture takes about 2 MB). The
    /// safetensors header holding it is capped separately at 100 MB.
    /// </summary>
    public int MaxManifestBytes { get; init => field = Positive(value, int.MaxValue); } = 16 << 20;

    /// <summary>
    /// Deepest nesting of JSON objects and arrays in a manifest (default 128, enough for <see cref="MaxNestingDepth"/>
    /// containers, each an object holding an array). At most <see cref="MaxRecursionDepth"/>; raise it together with
    /// <see cref="MaxNestingDepth"/>.
    /// </summary>
    public int MaxJsonDepth { get; init => field = Positive(value, MaxRecursionDepth); } = 128;

    static T Positive<T>(T value, T max) where T : System.Numerics.INumber<T>
    {
        if (value < T.One || value > max)
            throw new ArgumentOutOfRangeException(nameof(value), value, string.Create(CultureInfo.InvariantCulture, $"ModelLoadLimits: a limit must be between 1 and {max}."));
        return value;
    }

    /// <summary>
    /// The message for a value over a limit: what, the value, the limit, and how to raise it.
    /// </summary>
    internal static string Exceeded(string what, long value, string limitName, long limit) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{what} is {value}, over the limit of {limit} (ModelLoadLimits.{limitName}); if the file is trusted, load it with a larger limit, e.g. Sequential.Load(path, new ModelLoadLimits {{ {limitName} = {value} }})");
}

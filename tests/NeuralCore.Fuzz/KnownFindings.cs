using NeuralCore.Nn;

namespace NeuralCore.Fuzz;

/// <summary>
/// Failure classes the fuzzers found in code whose fixes are being made elsewhere (model-file loading and checked
/// shape arithmetic). The CI fuzz tests exclude exactly these, and the runner counts them apart; each rule names its
/// finding and goes once the fix is merged (the minimized inputs are in tests/NeuralCore.Tests/Fuzz/Corpus/*/pending).
/// </summary>
public static class KnownFindings
{
    /// <summary>
    /// The finding an outcome belongs to, or null. Finding "manifest-surrogate": a lone UTF-16 surrogate escape
    /// (<c>"\ud800"</c>, <c>"\udc00"</c>) in the manifest JSON makes System.Text.Json throw
    /// <see cref="InvalidOperationException"/> ("Cannot read invalid UTF-16 JSON text" / "incomplete UTF-16") from
    /// ModelManifest.Parse and ModuleConfigs.Create instead of an <see cref="InvalidDataException"/>.
    /// </summary>
    public static string? Match(Outcome outcome) =>
        outcome.Exception is InvalidOperationException { Message: var m } e
        && m.Contains("UTF-16", StringComparison.Ordinal)
        && e.StackTrace?.Contains("System.Text.Json", StringComparison.Ordinal) == true
            ? "manifest-surrogate"
            : null;

    /// <summary>The largest pooling output, kernel, stride, padding or dilation a model may have to be run.</summary>
    public const int MaxSpatialSetting = 64;

    /// <summary>
    /// Whether running a loaded model on a small input is safe today. Finding "forward-unbounded-shape": an
    /// architecture with a huge <c>AdaptiveAvgPool2d</c> output size (e.g. [1, 1000000000]) or huge convolution or
    /// pooling padding loads, then Forward allocates without bound (gigabytes, then the process is killed) instead of
    /// refusing the shape. Models with a spatial setting over <see cref="MaxSpatialSetting"/> are not run.
    /// </summary>
    public static bool ForwardIsSafe(Sequential model) => model.All(layer => layer switch
    {
        AdaptiveAvgPool2d p => Small(p.OutputSize),
        Conv2d c => Small(c.KernelSize) && Small(c.Stride) && Small(c.Padding) && Small(c.Dilation),
        MaxPool2d p => Small(p.KernelSize) && Small(p.Stride) && Small(p.Padding),
        AvgPool2d p => Small(p.KernelSize) && Small(p.Stride) && Small(p.Padding),
        _ => true,
    });

    static bool Small((int H, int W) v) => Math.Abs((long)v.H) <= MaxSpatialSetting && Math.Abs((long)v.W) <= MaxSpatialSetting;
}

using System.Diagnostics;
using System.Globalization;
using System.Text;
using NeuralCore.Compression.Pruning;
using NeuralCore.Nn;
using NeuralCore.Profiling;

namespace NeuralCore.Samples;

/// <summary>One row of a <see cref="CompressionReport"/>.</summary>
/// <param name="Model">The base model the row belongs to (mlp, cnn).</param>
/// <param name="Name">The compression technique (float32, pruned 50 %, ...).</param>
/// <param name="Accuracy">Test accuracy in [0, 1].</param>
/// <param name="FileBytes">Size of the saved model file.</param>
/// <param name="Parameters">Parameter elements the model holds, or null when the row's model is not a Module.</param>
/// <param name="Sparsity">Fraction of exactly-zero Linear/Conv2d weights, or null when not measurable.</param>
/// <param name="Batch1Ms">Median wall-clock milliseconds of a forward pass on one image.</param>
/// <param name="Batch100Ms">Median wall-clock milliseconds of a forward pass on 100 images.</param>
/// <param name="MilliJoulesPerImage">
/// Energy per image over the timed batch-100 passes (<see cref="EnergyMeter"/>: measured by RAPL where the machine
/// offers it, else estimated from the process's CPU time; <paramref name="EnergyMethod"/> says which).
/// </param>
/// <param name="EnergyMethod">How the energy was obtained (Measured-RAPL, Estimated-TDP, ...).</param>
public sealed record ReportRow(string Model, string Name, double Accuracy, long FileBytes, long? Parameters, double? Sparsity, double Batch1Ms, double Batch100Ms,
    double MilliJoulesPerImage, string EnergyMethod);

/// <summary>
/// Measures compressed variants of one model on the same test set: accuracy, saved file size, and inference latency
/// at batch 1 and 100 (the median of warmed-up repeated forward passes in evaluation mode without gradients; a
/// wall-clock median on the machine that runs it, not a benchmark). Each technique is one <see cref="Add(string, Module, string)"/>
/// call; a model that is not a <see cref="Module"/> (a custom inference path) goes through
/// <see cref="Add(string, Func{Tensor, Tensor}, string)"/>.
/// </summary>
public sealed class CompressionReport
{
    readonly List<ReportRow> rows = [];
    readonly Tensor images;
    readonly Tensor labels;

    /// <summary>Creates an empty report for <paramref name="model"/>.</summary>
    /// <param name="model">The base model's name (a column of the table).</param>
    /// <param name="testImages">Test inputs [N, ...] (N ≥ 100 for the batch-100 latency).</param>
    /// <param name="testLabels">Class indices [N].</param>
    /// <param name="warmup">Untimed forward passes before each latency measurement (at least this many, and at least <paramref name="warmupSeconds"/>).</param>
    /// <param name="warmupSeconds">Least time spent on untimed passes, so the JIT's optimized code is in place before timing.</param>
    /// <param name="batch1Runs">Timed passes at batch 1.</param>
    /// <param name="batch100Runs">Timed passes at batch 100.</param>
    /// <exception cref="ArgumentException">Fewer than 100 test images, or images and labels differ in count.</exception>
    public CompressionReport(string model, Tensor testImages, Tensor testLabels, int warmup = 10, int batch1Runs = 200, int batch100Runs = 50, double warmupSeconds = 0.5)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        ArgumentNullException.ThrowIfNull(testImages);
        ArgumentNullException.ThrowIfNull(testLabels);
        if (testImages.Dim == 0 || testImages.Shape[0] < 100 || testLabels.Shape[0] != testImages.Shape[0])
            throw new ArgumentException($"CompressionReport: needs at least 100 test images with one label each; got images {testImages.Shape} and labels {testLabels.Shape}.", nameof(testImages));
        ArgumentOutOfRangeException.ThrowIfNegative(warmup);
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSeconds);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch1Runs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch100Runs, 1);
        Model = model;
        images = testImages;
        labels = testLabels;
        (Warmup, WarmupSeconds, Batch1Runs, Batch100Runs) = (warmup, warmupSeconds, batch1Runs, batch100Runs);
    }

    /// <summary>The base model's name.</summary>
    public string Model { get; }

    /// <summary>Untimed passes before each latency measurement.</summary>
    public int Warmup { get; }

    /// <summary>Least seconds of untimed passes before each latency measurement.</summary>
    public double WarmupSeconds { get; }

    /// <summary>Timed passes at batch 1.</summary>
    public int Batch1Runs { get; }

    /// <summary>Timed passes at batch 100.</summary>
    public int Batch100Runs { get; }

    /// <summary>The rows, in the order added.</summary>
    public IReadOnlyList<ReportRow> Rows => rows;

    /// <summary>Measures <paramref name="model"/> (put in evaluation mode) and adds its row.</summary>
    /// <param name="name">The technique's name.</param>
    /// <param name="model">The compressed model, returning logits [N, classes].</param>
    /// <param name="savedFile">The file it was saved to (its size is reported).</param>
    /// <exception cref="FileNotFoundException"><paramref name="savedFile"/> does not exist.</exception>
    public ReportRow Add(string name, Module model, string savedFile)
    {
        ArgumentNullException.ThrowIfNull(model);
        model.Eval();
        bool weighted = model.NamedModules().Any(m => m.Module is Linear or Conv2d);
        return Add(name, model.Forward, savedFile, model.ParameterCount, weighted ? SparsityReport.Of(model).Sparsity : null);
    }

    /// <summary>Measures an inference function (logits [N, classes] from inputs) and adds its row.</summary>
    /// <param name="name">The technique's name.</param>
    /// <param name="forward">The inference path; it runs without gradients.</param>
    /// <param name="savedFile">The file the model was saved to.</param>
    /// <param name="parameters">Parameter elements to report, if known.</param>
    /// <param name="sparsity">Weight sparsity to report, if known.</param>
    /// <exception cref="FileNotFoundException"><paramref name="savedFile"/> does not exist.</exception>
    public ReportRow Add(string name, Func<Tensor, Tensor> forward, string savedFile, long? parameters = null, double? sparsity = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(forward);
        var file = new FileInfo(savedFile);
        if (!file.Exists) throw new FileNotFoundException($"CompressionReport: the saved model of \"{name}\" is missing.", savedFile);
        using var noGrad = Tensor.NoGrad();
        double accuracy = Accuracy(forward);
        var (batch1, _) = MedianMs(forward, images.Narrow(0, 0, 1), Batch1Runs);
        var (batch100, energy) = MedianMs(forward, images.Narrow(0, 0, 100), Batch100Runs);
        var row = new ReportRow(Model, name, accuracy, file.Length, parameters, sparsity, batch1, batch100,
            energy.Joules * 1000 / (100.0 * Batch100Runs), energy.Method);
        rows.Add(row);
        return row;
    }

    double Accuracy(Func<Tensor, Tensor> forward)
    {
        long n = images.Shape[0], correct = 0;
        for (long start = 0; start < n; start += 500)
        {
            using var scope = Tensor.Scope();
            long count = Math.Min(500, n - start);
            var predicted = forward(images.Narrow(0, start, count)).ArgMax(dim: 1);
            correct += predicted.Eq(labels.Narrow(0, start, count)).To(DType.Int64).Sum().Item<long>();
        }
        return (double)correct / n;
    }

    /// <summary>The median milliseconds of <paramref name="runs"/> timed passes, and the energy all of them took.</summary>
    (double Median, EnergyReport Energy) MedianMs(Func<Tensor, Tensor> forward, Tensor batch, int runs)
    {
        var batchData = batch.Contiguous();
        long warmupStart = Stopwatch.GetTimestamp();
        for (int i = 0; i < Warmup || Stopwatch.GetElapsedTime(warmupStart).TotalSeconds < WarmupSeconds; i++)
        {
            using var scope = Tensor.Scope();
            forward(batchData);
        }
        var times = new double[runs];
        var meter = EnergyMeter.Start();
        for (int i = 0; i < runs; i++)
        {
            using var scope = Tensor.Scope();
            long start = Stopwatch.GetTimestamp();
            // Reading one element waits for the result on any device.
            forward(batchData).Flatten()[0].To(DType.Float32).Item<float>();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        var energy = meter.Stop();
        Array.Sort(times);
        return (runs % 2 == 1 ? times[runs / 2] : (times[runs / 2 - 1] + times[runs / 2]) / 2, energy);
    }

    static readonly string[] Header = ["model", "variant", "test accuracy", "file size (KiB)", "parameters", "weight sparsity", "latency batch 1 (ms)", "latency batch 100 (ms)", "energy per image (mJ)", "energy method"];

    static string[] Cells(ReportRow r)
    {
        var inv = CultureInfo.InvariantCulture;
        return [r.Model, r.Name, r.Accuracy.ToString("P2", inv), (r.FileBytes / 1024.0).ToString("F1", inv),
            r.Parameters?.ToString("N0", inv) ?? "", r.Sparsity?.ToString("P1", inv) ?? "",
            r.Batch1Ms.ToString("F3", inv), r.Batch100Ms.ToString("F2", inv), r.MilliJoulesPerImage.ToString("F4", inv), r.EnergyMethod];
    }

    /// <summary>The rows of <paramref name="reports"/> as a Markdown table.</summary>
    public static string ToMarkdown(IEnumerable<CompressionReport> reports)
    {
        var sb = new StringBuilder();
        sb.Append("| ").AppendJoin(" | ", Header).Append(" |\n");
        sb.Append('|').AppendJoin('|', Header.Select((_, i) => i < 2 || i == Header.Length - 1 ? "---" : "---:")).Append("|\n");
        foreach (var r in reports.SelectMany(r => r.Rows)) sb.Append("| ").AppendJoin(" | ", Cells(r)).Append(" |\n");
        return sb.ToString();
    }

    /// <summary>The rows of <paramref name="reports"/> as CSV with raw values (accuracy as a fraction, bytes, milliseconds).</summary>
    public static string ToCsv(IEnumerable<CompressionReport> reports)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder("model,variant,accuracy,file_bytes,parameters,weight_sparsity,latency_batch1_ms,latency_batch100_ms,energy_mj_per_image,energy_method\n");
        foreach (var r in reports.SelectMany(r => r.Rows))
            sb.AppendJoin(',', [Csv(r.Model), Csv(r.Name), r.Accuracy.ToString("R", inv), r.FileBytes.ToString(inv),
                r.Parameters?.ToString(inv) ?? "", r.Sparsity?.ToString("R", inv) ?? "", r.Batch1Ms.ToString("R", inv), r.Batch100Ms.ToString("R", inv),
                r.MilliJoulesPerImage.ToString("R", inv), Csv(r.EnergyMethod)]).Append('\n');
        return sb.ToString();
    }

    static string Csv(string s) => s.Contains(',') || s.Contains('"') ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;

    /// <summary>The rows of <paramref name="reports"/> as a fixed-width text table.</summary>
    public static string ToText(IEnumerable<CompressionReport> reports)
    {
        var all = reports.SelectMany(r => r.Rows).Select(Cells).ToList();
        var widths = Header.Select((h, i) => Math.Max(h.Length, all.Select(c => c[i].Length).DefaultIfEmpty(0).Max())).ToArray();
        var sb = new StringBuilder();
        foreach (var cells in all.Prepend(Header))
            sb.AppendJoin("  ", cells.Select((c, i) => i < 2 || i == cells.Length - 1 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))).Append('\n');
        return sb.ToString();
    }
}

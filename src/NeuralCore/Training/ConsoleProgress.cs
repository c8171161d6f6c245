using System.Globalization;
using System.Text;

namespace NeuralCore.Training;

/// <summary>
/// Draws <c>Fit</c>'s progress as Keras does: a live single-line bar redrawn with <c>\r</c>
/// (<c>Epoch 1/5  [=====&gt;    ] 412/938  loss 0.4123  accuracy 0.8512  3,210 samples/s  ETA 0:07</c>), ended by a
/// newline with the epoch's final values (validation included). When the live bar is off — output redirected to
/// a file or pipe, or <c>verbose: 2</c> — it prints one line per epoch instead.
/// </summary>
public sealed class ConsoleProgress : IProgress<TrainingProgress>
{
    static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;
    static readonly TimeSpan RedrawInterval = TimeSpan.FromMilliseconds(100);
    readonly TextWriter? writer;
    readonly int barWidth;
    readonly long redrawTicks = (long)(RedrawInterval.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
    long lastDraw;
    int lastLength;

    /// <summary>Creates the reporter.</summary>
    /// <param name="writer">Where to write; null means the console's standard output at the time of each report.</param>
    /// <param name="liveBar">
    /// True for the live bar, false for one line per epoch; null chooses the bar unless the console's output is
    /// redirected (with an explicit <paramref name="writer"/>, null means one line per epoch).
    /// </param>
    /// <param name="barWidth">Characters inside the bar's brackets.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="barWidth"/> is less than 1.</exception>
    public ConsoleProgress(TextWriter? writer = null, bool? liveBar = null, int barWidth = 30)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(barWidth, 1);
        this.writer = writer;
        this.barWidth = barWidth;
        LiveBar = liveBar ?? (writer is null && !Console.IsOutputRedirected);
    }

    /// <summary>True when a live bar is drawn; false when one line is written per epoch.</summary>
    public bool LiveBar { get; }

    TextWriter Out => writer ?? Console.Out;

    /// <inheritdoc />
    public void Report(TrainingProgress value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Message is { } message)
        {
            // A notice gets a line of its own; the live bar is redrawn below it on the next report.
            if (LiveBar && lastLength > 0) Out.Write('\r' + new string(' ', lastLength) + '\r');
            Out.WriteLine(message);
            Out.Flush();
            lastLength = 0;
            lastDraw = 0;
            return;
        }
        if (!LiveBar)
        {
            if (value.EpochCompleted) Out.WriteLine(EpochLine(value));
            return;
        }
        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        if (!value.EpochCompleted && value.Step != 1 && now - lastDraw < redrawTicks) return;
        lastDraw = now;
        var line = value.EpochCompleted ? EpochLine(value) : BarLine(value);
        // Pad over the previous line's tail: the metrics part can shrink between redraws.
        var padded = line.Length < lastLength ? line + new string(' ', lastLength - line.Length) : line;
        Out.Write('\r');
        Out.Write(padded);
        if (value.EpochCompleted)
        {
            Out.WriteLine();
            lastLength = 0;
        }
        else lastLength = line.Length;
        Out.Flush();
    }

    string BarLine(TrainingProgress p)
    {
        var sb = new StringBuilder();
        sb.Append(Invariant, $"Epoch {p.Epoch}/{p.Epochs}  [");
        // The arrow shows from the first step on; a full bar is all '='.
        int filled = p.Steps <= 0 ? barWidth : Math.Clamp((int)((long)barWidth * p.Step / p.Steps), 1, barWidth);
        if (p.Step >= p.Steps) sb.Append('=', barWidth);
        else sb.Append('=', filled - 1).Append('>').Append('.', barWidth - filled);
        sb.Append(Invariant, $"] {p.Step}/{p.Steps}");
        AppendValues(sb, p);
        sb.Append(Invariant, $"  {p.SamplesPerSecond:N0} samples/s  ETA {FormatTime(p.Eta)}");
        return sb.ToString();
    }

    static string EpochLine(TrainingProgress p)
    {
        var sb = new StringBuilder();
        sb.Append(Invariant, $"Epoch {p.Epoch}/{p.Epochs}  {p.Step}/{p.Steps}  {FormatTime(p.Elapsed)}");
        AppendValues(sb, p);
        sb.Append(Invariant, $"  {p.SamplesPerSecond:N0} samples/s");
        if (p.Cost is { } cost)
            sb.Append(Invariant, $"  {TrainingCost.FormatFlops(cost.Flops)}  {cost.Energy.Joules:F1} J  {cost.Energy.Co2eGrams:F3} g CO2e ({cost.Energy.Method})");
        return sb.ToString();
    }

    static void AppendValues(StringBuilder sb, TrainingProgress p)
    {
        sb.Append(Invariant, $"  loss {p.Loss:F4}");
        foreach (var (name, v) in p.Metrics) sb.Append(Invariant, $"  {name} {v:F4}");
    }

    static string FormatTime(TimeSpan t) =>
        t.TotalHours >= 1
            ? string.Create(Invariant, $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}")
            : string.Create(Invariant, $"{t.Minutes}:{t.Seconds:00}");
}

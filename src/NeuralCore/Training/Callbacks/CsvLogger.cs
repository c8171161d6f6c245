using System.Globalization;
using System.Text;

namespace NeuralCore.Training;

/// <summary>
/// Writes one CSV row per epoch (Keras' <c>CSVLogger</c>): the 0-based <c>epoch</c> and every logged value, under a
/// header of the keys in ordinal order, fixed by the first epoch (a key missing later is written as <c>NA</c>). Each
/// row is appended and the file closed at once, so the file is complete after every epoch even if training is
/// interrupted. Numbers use the invariant culture and round-trip precision. In data-parallel training only rank 0
/// writes.
/// </summary>
public sealed class CsvLogger : Callback
{
    string[]? keys;
    bool writeHeader;

    /// <summary>Creates the logger.</summary>
    /// <param name="path">The CSV file; its folder must exist.</param>
    /// <param name="separator">The field separator.</param>
    /// <param name="append">
    /// Append to an existing file (writing the header only when the file is missing or empty); false overwrites it when
    /// training begins.
    /// </param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty, or the separator is a quote or line break.</exception>
    public CsvLogger(string path, char separator = ',', bool append = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (separator is '"' or '\r' or '\n')
            throw new ArgumentException($"CsvLogger: the separator cannot be {(separator == '"' ? "a quote" : "a line break")}.", nameof(separator));
        Path = path;
        Separator = separator;
        Append = append;
    }

    /// <summary>The CSV file.</summary>
    public string Path { get; }

    /// <summary>The field separator.</summary>
    public char Separator { get; }

    /// <summary>Whether rows are appended to an existing file.</summary>
    public bool Append { get; }

    /// <inheritdoc />
    public override bool RankZeroOnly => true;

    /// <inheritdoc />
    public override void OnTrainBegin()
    {
        keys = null;
        if (Append)
            writeHeader = !File.Exists(Path) || new FileInfo(Path).Length == 0;
        else
        {
            File.WriteAllText(Path, "");
            writeHeader = true;
        }
    }

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        ArgumentNullException.ThrowIfNull(logs);
        keys ??= logs.Keys.Order(StringComparer.Ordinal).ToArray();
        var sb = new StringBuilder();
        if (writeHeader)
        {
            sb.Append("epoch");
            foreach (var k in keys) sb.Append(Separator).Append(Field(k));
            sb.Append('\n');
            writeHeader = false;
        }
        sb.Append(epoch.ToString(CultureInfo.InvariantCulture));
        foreach (var k in keys)
            sb.Append(Separator).Append(logs.TryGetValue(k, out double v) ? v.ToString("R", CultureInfo.InvariantCulture) : "NA");
        sb.Append('\n');
        File.AppendAllText(Path, sb.ToString());
    }

    // A key holding the separator, a quote or a line break is quoted, quotes doubled (RFC 4180).
    string Field(string text) =>
        text.IndexOfAny([Separator, '"', '\r', '\n']) < 0 ? text : "\"" + text.Replace("\"", "\"\"") + "\"";
}

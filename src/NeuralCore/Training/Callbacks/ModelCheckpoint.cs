using System.Globalization;
using System.Text.RegularExpressions;
using NeuralCore.Serialization;

namespace NeuralCore.Training;

/// <summary>
/// Saves the model (<c>Module.Save</c>: safetensors with its manifest, whose <c>Metrics</c> hold the epoch's logs, so
/// <c>Sequential.Load</c> restores it) after every epoch, or only when a monitored
/// quantity improves (Keras' <c>ModelCheckpoint</c>). The path may contain placeholders: <c>{epoch}</c> (1-based,
/// as Keras names files) and any logged value such as <c>{val_loss}</c>, each with an optional .NET format:
/// <c>"ckpt-{epoch:D2}-{val_loss:F4}.safetensors"</c>.
/// </summary>
public sealed partial class ModelCheckpoint : Callback
{
    readonly MonitoredValue monitored;

    /// <summary>Creates the callback.</summary>
    /// <param name="filepath">Destination path, optionally with placeholders.</param>
    /// <param name="monitor">Logged quantity that decides what "best" is when <paramref name="saveBestOnly"/>.</param>
    /// <param name="saveBestOnly">Save only when <paramref name="monitor"/> improves (the first epoch always does).</param>
    /// <param name="mode"><c>"min"</c>, <c>"max"</c>, or <c>"auto"</c> (max for accuracy-like names, else min).</param>
    /// <exception cref="ArgumentException">Empty <paramref name="filepath"/> or <paramref name="monitor"/>, or bad <paramref name="mode"/>.</exception>
    public ModelCheckpoint(string filepath, string monitor = "val_loss", bool saveBestOnly = false, string mode = "auto")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(filepath);
        FilePath = filepath;
        SaveBestOnly = saveBestOnly;
        monitored = new MonitoredValue(nameof(ModelCheckpoint), monitor, mode, minDelta: 0);
    }

    /// <summary>The destination path pattern.</summary>
    public string FilePath { get; }

    /// <summary>The quantity that decides improvements.</summary>
    public string Monitor => monitored.Monitor;

    /// <summary>Whether only improvements are saved.</summary>
    public bool SaveBestOnly { get; }

    /// <summary>The path written most recently, or null.</summary>
    public string? LastSavedPath { get; private set; }

    /// <inheritdoc />
    public override void OnTrainBegin() => monitored.Reset();

    /// <summary>True: in data-parallel training only rank 0 writes checkpoints.</summary>
    public override bool RankZeroOnly => true;

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">With <see cref="SaveBestOnly"/>, the monitored value is not logged.</exception>
    /// <exception cref="KeyNotFoundException">The path names a placeholder that is not logged.</exception>
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        ArgumentNullException.ThrowIfNull(logs);
        if (SaveBestOnly && !monitored.TryImprove(monitored.Read(logs))) return;
        var path = FormatPath(epoch, logs);
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } dir) Directory.CreateDirectory(dir);
        Model.Save(path, new ModelManifest { Name = Model.GetType().Name, Metrics = new Dictionary<string, double>(logs) });
        LastSavedPath = path;
    }

    string FormatPath(int epoch, IReadOnlyDictionary<string, double> logs) =>
        Placeholder().Replace(FilePath, m =>
        {
            var name = m.Groups["name"].Value;
            var format = m.Groups["format"].Success ? m.Groups["format"].Value : null;
            if (name == "epoch") return (epoch + 1).ToString(format, CultureInfo.InvariantCulture);
            return logs.TryGetValue(name, out var v)
                ? v.ToString(format, CultureInfo.InvariantCulture)
                : throw new KeyNotFoundException($"ModelCheckpoint: the path placeholder {{{name}}} is not logged (available: epoch, {MessageText.List(logs.Keys)}).");
        });

    [GeneratedRegex(@"\{(?<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?<format>[^}]+))?\}")]
    private static partial Regex Placeholder();
}

using System.Text.Json.Serialization;

namespace NeuralCore.Samples;

/// <summary>Source-generated JSON for the history file (no reflection, trimming-safe).</summary>
[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(Dictionary<string, double[]>))]
internal sealed partial class HistoryJson : JsonSerializerContext;

using System.Text.Json;
using NeuralCore.Serialization;

namespace NeuralCore.Federated;

/// <summary>
/// What a coordinator persists after every round: the global model vector (a safetensors file named by round), the
/// next round number, the selection RNG's seed and offset, and the DP round count. The JSON file is written last, by
/// replacing it atomically, so a crash leaves either the previous state or the new one.
/// </summary>
internal sealed record CoordinatorState(int NextRound, long RngSeed, ulong RngOffset, int NoisedRounds, string WeightsFile)
{
    const string StateFile = "state.json";
    const string WeightsKey = "global";

    public static CoordinatorState? TryLoad(string directory, out float[]? weights)
    {
        weights = null;
        string path = Path.Combine(directory, StateFile);
        if (!File.Exists(path)) return null;
        var state = JsonSerializer.Deserialize<CoordinatorState>(File.ReadAllText(path))
            ?? throw new InvalidDataException($"Coordinator state {path} is empty.");
        if (state.NextRound < 0 || state.WeightsFile.Contains('/') || state.WeightsFile.Contains('\\'))
            throw new InvalidDataException($"Coordinator state {path} is malformed (round {state.NextRound}, weights '{state.WeightsFile}').");
        var tensors = SafeTensors.Load(Path.Combine(directory, state.WeightsFile));
        if (!tensors.TryGetValue(WeightsKey, out var tensor) || tensor.DType != DType.Float32 || tensor.Dim != 1)
            throw new InvalidDataException($"Coordinator weights {state.WeightsFile} hold no one-dimensional float32 '{WeightsKey}' tensor.");
        weights = tensor.ToArray<float>();
        return state;
    }

    public void Save(string directory, float[] weights)
    {
        Directory.CreateDirectory(directory);
        string weightsPath = Path.Combine(directory, WeightsFile);
        string temp = weightsPath + ".tmp";
        SafeTensors.Save(temp, new Dictionary<string, Tensor> { [WeightsKey] = Tensor.FromArray(weights, weights.Length) },
            new Dictionary<string, string> { ["round"] = NextRound.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        File.Move(temp, weightsPath, overwrite: true);
        string statePath = Path.Combine(directory, StateFile);
        File.WriteAllText(statePath + ".tmp", JsonSerializer.Serialize(this));
        File.Move(statePath + ".tmp", statePath, overwrite: true);
        foreach (var old in Directory.EnumerateFiles(directory, "global-*.safetensors"))
            if (Path.GetFileName(old) != WeightsFile) File.Delete(old);
    }

    public static string WeightsFileFor(int round) => $"global-{round:D6}.safetensors";
}

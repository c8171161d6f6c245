using NeuralCore.Fuzz.Targets;
using NeuralCore.Serialization;

namespace NeuralCore.Tests.Serialization;

/// <summary>
/// Every truncation of a valid file is rejected. Seeded mutations of the same file (header length, JSON and data
/// edits through all three read paths) run in the shared fuzzing core: see Fuzz/FuzzTests and SafeTensorsTarget.
/// </summary>
public class SafeTensorsFuzzTests
{
    static byte[] ValidFile() => new SafeTensorsTarget().Seeds()[0];

    [Fact]
    public void EveryTruncation_IsRejected()
    {
        var file = ValidFile();
        for (int length = 0; length < file.Length; length++)
            Assert.IsType<InvalidDataException>(Record.Exception(() => SafeTensors.Deserialize(file.AsSpan(0, length))));
        for (int length = 0; length < file.Length; length += 3)
            Assert.IsType<InvalidDataException>(Record.Exception(() => SafeTensors.Read(new TrickleStream(file[..length]))));
    }
}

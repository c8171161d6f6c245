using System.Globalization;
using System.Text.RegularExpressions;
using NeuralCore.Samples;
using NeuralCore.Tests.Training;
using NeuralCore.Tests.Vision;

namespace NeuralCore.Tests.Samples;

/// <summary>
/// Smoke tests of samples/Cifar10LeNet on a small generated dataset in CIFAR-10's real binary format (the real
/// CIFAR-10 is not available offline), and of its missing-data path. They redirect Console.Out and reseed the default
/// generator, so they run alone.
/// </summary>
[Collection(ProcessStateCollection.Name)]
public sealed class Cifar10LeNetSampleTests
{
    /// <summary>Ten clearly different colours: class c is drawn around colour c.</summary>
    static readonly (byte R, byte G, byte B)[] ClassColours =
    [
        (220, 40, 40), (40, 220, 40), (40, 40, 220), (220, 220, 40), (220, 40, 220),
        (40, 220, 220), (230, 230, 230), (30, 30, 30), (230, 140, 40), (130, 130, 130),
    ];

    /// <summary>
    /// <paramref name="records"/> learnable CIFAR-10 records (label byte, then 1,024 red, 1,024 green and 1,024 blue
    /// bytes): each image is its class colour plus uniform noise of ±48 per pixel and channel, with a darker
    /// class-dependent diagonal stripe pattern, so a classifier has to look through the noise but can learn the classes.
    /// </summary>
    static byte[] LearnableCifarBatch(int records, int seed)
    {
        var random = new System.Random(seed);
        var file = new byte[records * 3073];
        for (int r = 0; r < records; r++)
        {
            int label = random.Next(10);
            var (red, green, blue) = ClassColours[label];
            int at = r * 3073;
            file[at] = (byte)label;
            byte[] colour = [red, green, blue];
            for (int channel = 0; channel < 3; channel++)
                for (int y = 0; y < 32; y++)
                    for (int x = 0; x < 32; x++)
                    {
                        int stripe = (x + y * (label % 3 + 1)) % (label % 4 + 3) == 0 ? -40 : 0;
                        int value = colour[channel] + stripe + random.Next(-48, 49);
                        file[at + 1 + channel * 1024 + y * 32 + x] = (byte)Math.Clamp(value, 0, 255);
                    }
        }
        return file;
    }

    /// <summary>Writes data_batch_1..5.bin (<paramref name="perBatch"/> records each) and test_batch.bin into root/cifar-10-batches-bin.</summary>
    static void WriteLearnableCifar10(string root, int perBatch, int testRecords)
    {
        string dir = Path.Combine(root, "cifar-10-batches-bin");
        Directory.CreateDirectory(dir);
        for (int b = 1; b <= 5; b++)
            File.WriteAllBytes(Path.Combine(dir, $"data_batch_{b}.bin"), LearnableCifarBatch(perBatch, seed: b));
        File.WriteAllBytes(Path.Combine(dir, "test_batch.bin"), LearnableCifarBatch(testRecords, seed: 1000));
    }

    [Fact]
    public void GeneratedCifar10_ThreeEpochs_AccuracyRisesFarAboveChance()
    {
        using var data = new TempDir();
        using var output = new TempDir();
        WriteLearnableCifar10(data.Path, perBatch: 1000, testRecords: 500);
        double accuracy;
        string text;
        using (var console = new ConsoleCapture())
        {
            // The tutorial's SGD (lr 0.001, momentum 0.9) needs a few hundred steps to leave the initial plateau, so
            // batches of 25 instead of 100: 200 steps per epoch.
            accuracy = Cifar10LeNetApp.Run(["--data", data.Path, "--epochs", "3", "--batch-size", "25", "--out", output.Path]);
            text = console.Text;
        }

        Assert.Contains("Data: 5,000 training and 500 test images", text);
        var epochs = Regex.Matches(text, @"epoch (?<n>\d+): train loss (?<loss>[0-9.]+), test accuracy (?<acc>[0-9.]+) %")
            .Select(m => (N: int.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture),
                          Loss: double.Parse(m.Groups["loss"].Value, CultureInfo.InvariantCulture),
                          Accuracy: double.Parse(m.Groups["acc"].Value, CultureInfo.InvariantCulture)))
            .ToArray();
        Assert.Equal([1, 2, 3], epochs.Select(e => e.N));
        Assert.Equal(Math.Round(accuracy, 2), epochs[^1].Accuracy);
        Assert.True(epochs[^1].Loss < epochs[0].Loss, $"train loss did not fall: {epochs[0].Loss} → {epochs[^1].Loss}");
        // Chance is 10 %. Measured (seed 42, the default): 7.6, 73.0, 90.8 % after epochs 1, 2, 3 (about 3 s per epoch).
        Assert.True(accuracy >= 60, $"final test accuracy {accuracy:F2} % on learnable data is not clearly above chance (10 %).");

        SampleOutputs.NonEmptyFile(Path.Combine(output.Path, "lenet.safetensors"));
        SampleOutputs.PngFile(Path.Combine(output.Path, "lenet-history.png"));
        SampleOutputs.CsvWithEpochRows(Path.Combine(output.Path, "lenet-history.csv"), epochs: 3);
    }

    [Fact]
    public void MissingData_ReturnsMinusOne_AndSaysHowToGetIt()
    {
        using var empty = new TempDir();
        using var output = new TempDir();
        double result;
        string text;
        using (var console = new ConsoleCapture())
        {
            result = Cifar10LeNetApp.Run(["--data", empty.Path, "--out", output.Path]);
            text = console.Text;
        }

        Assert.Equal(-1, result);
        Assert.Contains("CIFAR-10 is not available", text);
        Assert.Contains("--download", text);
        Assert.Contains("data_batch_1.bin", text);
        Assert.Contains(Path.Combine(empty.Path, "cifar-10-batches-bin"), text);
        Assert.Empty(Directory.EnumerateFileSystemEntries(output.Path));
    }
}

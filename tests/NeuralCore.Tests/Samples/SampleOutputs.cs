namespace NeuralCore.Tests.Samples;

/// <summary>Checks on the files the samples write.</summary>
internal static class SampleOutputs
{
    static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Asserts that <paramref name="path"/> exists and is not empty.</summary>
    public static void NonEmptyFile(string path)
    {
        Assert.True(File.Exists(path), $"{path} was not written.");
        Assert.True(new FileInfo(path).Length > 0, $"{path} is empty.");
    }

    /// <summary>Asserts that <paramref name="path"/> is a PNG file (its first eight bytes are the PNG signature).</summary>
    public static void PngFile(string path)
    {
        NonEmptyFile(path);
        Assert.Equal(PngSignature, File.ReadAllBytes(path)[..PngSignature.Length]);
    }

    /// <summary>Asserts that the CSV at <paramref name="path"/> has a header starting with "epoch" and one row per epoch.</summary>
    public static void CsvWithEpochRows(string path, int epochs)
    {
        NonEmptyFile(path);
        var lines = File.ReadAllLines(path).Where(l => l.Length > 0).ToArray();
        Assert.StartsWith("epoch,", lines[0]);
        Assert.Equal(epochs, lines.Length - 1);
        for (int e = 1; e <= epochs; e++) Assert.StartsWith($"{e},", lines[e]);
    }
}

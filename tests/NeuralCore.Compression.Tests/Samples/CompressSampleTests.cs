using NeuralCore.Samples;

namespace NeuralCore.Compression.Tests.Samples;

/// <summary>
/// Smoke test of samples/Compress in quick mode on a few hundred images of the bundled subset: every row is there
/// with sane values, and the Markdown and CSV tables are written.
/// </summary>
[Collection(SeededCollection.Name)]
public sealed class CompressSampleTests
{
    static readonly string[] Variants = ["float32", "pruned 50 %", "pruned 80 %", "structured 50 %", "shrinkage", "distilled student", "bf16",
        "int8 dynamic", "int8 static", "QAT int8"];

    [Fact]
    public void QuickMode_ReportsEveryVariantOfBothModels()
    {
        var dir = Directory.CreateTempSubdirectory("compress-");
        try
        {
            var reports = CompressApp.Run(["--quick", "--train-limit", "320", "--test-limit", "200", "--shrink-lambda", "5e-4", "--out", dir.FullName]);
            Assert.Equal(["mlp", "cnn"], reports.Select(r => r.Model));
            foreach (var report in reports)
            {
                Assert.Equal(Variants, report.Rows.Select(r => r.Name));
                var row = report.Rows.ToDictionary(r => r.Name);
                foreach (var r in report.Rows)
                {
                    Assert.InRange(r.Accuracy, 0, 1);
                    Assert.True(r.Batch1Ms > 0 && double.IsFinite(r.Batch1Ms) && r.Batch100Ms > 0 && double.IsFinite(r.Batch100Ms), $"{r.Model} {r.Name}: latencies {r.Batch1Ms}, {r.Batch100Ms}");
                    Assert.True(r.MilliJoulesPerImage > 0 && double.IsFinite(r.MilliJoulesPerImage), $"{r.Model} {r.Name}: {r.MilliJoulesPerImage} mJ per image");
                    Assert.Contains(r.EnergyMethod, new[] { "Measured-RAPL", "Estimated-TDP", "Measured-RAPL+Measured-NVML", "Estimated-TDP+Measured-NVML" });
                    int bytesPerWeight = r.Name == "bf16" ? 2 : r.Name.Contains("int8", StringComparison.Ordinal) ? 1 : 4;
                    Assert.True(r.FileBytes > bytesPerWeight * r.Parameters, $"{r.Model} {r.Name}: {r.FileBytes} bytes for {r.Parameters} parameters");
                }
                // Chance is 10 %; one epoch on 320 images lifts the float32 models above it.
                Assert.True(row["float32"].Accuracy > 0.2, $"{report.Model} float32 accuracy {row["float32"].Accuracy}");
                Assert.Equal(new FileInfo(Path.Combine(dir.FullName, $"fashion-{report.Model}.safetensors")).Length, row["float32"].FileBytes);
                Assert.Equal(0.5, row["pruned 50 %"].Sparsity!.Value, 2);
                Assert.True(row["pruned 80 %"].Sparsity >= 0.799, $"{report.Model} pruned 80 %: sparsity {row["pruned 80 %"].Sparsity}");
                Assert.True(row["shrinkage"].Sparsity > 0.05, $"{report.Model} shrinkage: sparsity {row["shrinkage"].Sparsity}");
                Assert.True(row["structured 50 %"].Parameters < row["float32"].Parameters / 2);
                Assert.True(row["structured 50 %"].FileBytes < row["float32"].FileBytes / 2);
                Assert.True(row["distilled student"].FileBytes < row["float32"].FileBytes);
                // bfloat16 weights: about half the file; rounding them moves few of the 200 predictions.
                Assert.True(row["bf16"].FileBytes < 0.6 * row["float32"].FileBytes, $"{report.Model} bf16: {row["bf16"].FileBytes} bytes");
                Assert.Equal(row["float32"].Parameters, row["bf16"].Parameters);
                Assert.True(Math.Abs(row["bf16"].Accuracy - row["float32"].Accuracy) <= 0.02, $"{report.Model}: bf16 accuracy {row["bf16"].Accuracy}, float32 {row["float32"].Accuracy}");
                // int8: the same parameters in about a quarter of the file (dynamic CNN: its convolutions stay float32).
                foreach (var name in new[] { "int8 dynamic", "int8 static", "QAT int8" })
                {
                    Assert.Equal(row["float32"].Parameters, row[name].Parameters);
                    double limit = name == "int8 dynamic" && report.Model == "cnn" ? 0.5 : 0.35;
                    Assert.True(row[name].FileBytes < limit * row["float32"].FileBytes, $"{report.Model} {name}: {row[name].FileBytes} bytes");
                }
                Assert.True(new FileInfo(Path.Combine(dir.FullName, $"fashion-{report.Model}-int8-static.safetensors")).Length == row["int8 static"].FileBytes);
                // Calibrated int8 moves few of the 200 predictions; QAT, fine-tuned, stays well above chance.
                Assert.True(Math.Abs(row["int8 static"].Accuracy - row["float32"].Accuracy) <= 0.05, $"{report.Model}: int8 static accuracy {row["int8 static"].Accuracy}, float32 {row["float32"].Accuracy}");
                Assert.True(Math.Abs(row["int8 dynamic"].Accuracy - row["float32"].Accuracy) <= 0.05, $"{report.Model}: int8 dynamic accuracy {row["int8 dynamic"].Accuracy}, float32 {row["float32"].Accuracy}");
                Assert.True(row["QAT int8"].Accuracy > 0.2, $"{report.Model}: QAT int8 accuracy {row["QAT int8"].Accuracy}");
            }
            var markdown = File.ReadAllText(Path.Combine(dir.FullName, "compression-report.md"));
            Assert.Contains("| cnn | structured 50 % |", markdown);
            Assert.Contains("| cnn | QAT int8 |", markdown);
            Assert.Contains("wall-clock median", markdown);
            var csv = File.ReadAllLines(Path.Combine(dir.FullName, "compression-report.csv"));
            Assert.Equal(1 + 2 * Variants.Length, csv.Length);
            Assert.StartsWith("mlp,float32,", csv[1]);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}

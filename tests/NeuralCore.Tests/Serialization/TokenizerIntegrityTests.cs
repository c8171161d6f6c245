using System.Text;
using NeuralCore.Nn;
using NeuralCore.Serialization;
using NeuralCore.Tests.Vision;
using NeuralCore.Text;

namespace NeuralCore.Tests.Serialization;

/// <summary>From manifest format version 3 the integrity hash covers the tokenizer; version 2 files still load.</summary>
public sealed class TokenizerIntegrityTests
{
    static GptModel Model()
    {
        Rng.ManualSeed(14);
        var model = new GptModel(7, 10, dModel: 8, nhead: 2, numLayers: 1);
        model.Eval();
        return model;
    }

    static void EditHeader(string path, string from, string to)
    {
        Assert.Equal(from.Length, to.Length);
        var bytes = File.ReadAllBytes(path);
        int headerLength = (int)BitConverter.ToUInt64(bytes, 0);
        string header = Encoding.UTF8.GetString(bytes, 8, headerLength);
        int at = header.IndexOf(from, StringComparison.Ordinal);
        Assert.True(at >= 0, $"'{from}' is not in the header {header}");
        header = header[..at] + to + header[(at + from.Length)..];
        Encoding.UTF8.GetBytes(header).CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
    }

    static void RewriteManifest(string path, Func<ModelManifest, ModelManifest> change)
    {
        var file = SafeTensors.LoadFile(path);
        var manifest = change(file.GetManifest()!);
        SafeTensors.Save(path, file.Tensors, new Dictionary<string, string>(file.Metadata) { [ModelManifest.MetadataKey] = manifest.ToJson() });
    }

    [Fact]
    public void SavedFiles_UseFormatVersion3_AndLoadWithTheirTokenizer()
    {
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "gpt.safetensors");
        Model().Save(path, new CharTokenizer("abcdef "));
        Assert.Equal(3, SafeTensors.LoadFile(path).GetManifest()!.FormatVersion);
        var (_, tokenizer) = GptModel.LoadWithTokenizer(path);
        Assert.Equal("abcdef ", ((CharTokenizer)tokenizer).Alphabet);
    }

    [Fact]
    public void TokenizerEditedInPlace_FailsTheHash()
    {
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "gpt.safetensors");
        Model().Save(path, new CharTokenizer("abcdef "));
        // Same length: the header stays valid, only the vocabulary differs (ids 5 and 6 swap their characters).
        EditHeader(path, "abcdef ", "abcde f");
        var e = Assert.Throws<InvalidDataException>(() => GptModel.LoadWithTokenizer(path));
        Assert.Contains("SHA-256 mismatch", e.Message);
        Assert.Contains("architecture, tokenizer, tensor table and data", e.Message);
        Assert.Throws<InvalidDataException>(() => GptModel.Load(path));
    }

    [Fact]
    public void TokenizerReplacedInTheManifest_FailsTheHash_AndRemovingItToo()
    {
        using var dir = new TempDir();
        string replaced = Path.Combine(dir.Path, "replaced.safetensors");
        Model().Save(replaced, new CharTokenizer("abcdef "));
        RewriteManifest(replaced, m => m with { Tokenizer = new CharTokenizer("gfedcba").ToJson() });
        Assert.Contains("SHA-256 mismatch", Assert.Throws<InvalidDataException>(() => GptModel.LoadWithTokenizer(replaced)).Message);

        string removed = Path.Combine(dir.Path, "removed.safetensors");
        Model().Save(removed, new CharTokenizer("abcdef "));
        RewriteManifest(removed, m => m with { Tokenizer = null });
        Assert.Contains("SHA-256 mismatch", Assert.Throws<InvalidDataException>(() => GptModel.Load(removed)).Message);

        // Adding a tokenizer to a model saved without one is caught as well.
        string added = Path.Combine(dir.Path, "added.safetensors");
        Model().Save(added);
        RewriteManifest(added, m => m with { Tokenizer = new CharTokenizer("abcdef ").ToJson() });
        Assert.Contains("SHA-256 mismatch", Assert.Throws<InvalidDataException>(() => GptModel.LoadWithTokenizer(added)).Message);
    }

    // A file as format version 2 wrote it: its hash covers the architecture, tensor table and data, not the tokenizer.
    static string SaveVersion2(string path, GptModel model, ITokenizer tokenizer)
    {
        var state = model.StateDict();
        var manifest = new ModelManifest { FormatVersion = 2, Architecture = ModuleConfigs.Describe(model), Tokenizer = tokenizer.ToJson() };
        SafeTensors.Save(path, state, new Dictionary<string, string> { ["format"] = "pt", [ModelManifest.MetadataKey] = manifest.ToJson() });
        var file = SafeTensors.LoadFile(path);
        var architecture = ManifestJson.ToUtf8(manifest.Architecture!, ModelLoadLimits.MaxRecursionDepth - 1, "architecture");
        string hash = ModelFile.Hash(2, architecture, tokenizer: null, file.Entries, Convert.FromHexString(file.DataSha256));
        SafeTensors.Save(path, state, new Dictionary<string, string>
        {
            ["format"] = "pt",
            [ModelManifest.MetadataKey] = (manifest with { WeightsSha256 = hash }).ToJson(),
        });
        return path;
    }

    [Fact]
    public void Version2Files_StillLoad_AndTheirArchitectureIsStillChecked()
    {
        using var dir = new TempDir();
        var model = Model();
        string path = SaveVersion2(Path.Combine(dir.Path, "v2.safetensors"), model, new CharTokenizer("abcdef "));
        var (loaded, tokenizer) = GptModel.LoadWithTokenizer(path);
        loaded.Eval();
        Assert.Equal("abcdef ", ((CharTokenizer)tokenizer).Alphabet);
        var x = Tensor.FromArray(new long[] { 0, 5, 2 }, 1, 3);
        Assert.Equal(model.Forward(x).ToArray<float>(), loaded.Forward(x).ToArray<float>());

        // The version 2 hash never covered the tokenizer (re-save such files to protect it), but it still covers the rest.
        string edited = SaveVersion2(Path.Combine(dir.Path, "v2-edited.safetensors"), model, new CharTokenizer("abcdef "));
        // A changed setting that keeps every tensor's shape: the inter-layer dropout.
        EditHeader(edited, "dropout\\\":0.1", "dropout\\\":0.3");
        var e = Assert.Throws<InvalidDataException>(() => GptModel.LoadWithTokenizer(edited));
        Assert.True(e.Message.Contains("the file's architecture, tensor table and data hash to", StringComparison.Ordinal), e.Message);
    }
}

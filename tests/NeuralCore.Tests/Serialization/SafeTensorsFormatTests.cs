using System.Text;
using NeuralCore.Fuzz.Targets;
using NeuralCore.Serialization;

namespace NeuralCore.Tests.Serialization;

/// <summary>
/// Byte-exact fixtures for the safetensors format. Each fixture is assembled by hand in the test (header JSON text,
/// space padding to a multiple of 8, little-endian data) exactly as the reference implementation
/// (huggingface/safetensors, safetensors/src/tensor.rs) writes it: <c>__metadata__</c> first, tensors ordered by
/// dtype in descending order of its Dtype enum (I64 &gt; F64 &gt; F32 &gt; I32 &gt; U8 &gt; BOOL) then by name,
/// compact JSON without spaces, offsets relative to the start of the data buffer.
/// </summary>
public class SafeTensorsFormatTests
{
    // "a": F32 [2, 2] = 1, 2, 3, 4 and "b": I64 [3] = -1, 0, 2^40 with metadata {"framework": "pt"}. The reference
    // writer puts the I64 tensor first (its dtype sorts higher), so b occupies [0, 24) and a [24, 40).
    const string ReferenceHeader =
        "{\"__metadata__\":{\"framework\":\"pt\"}," +
        "\"b\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[0,24]}," +
        "\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[24,40]}}";

    static byte[] ReferenceFile() => SafeTensorsBytes.File(ReferenceHeader,
        SafeTensorsBytes.Concat(SafeTensorsBytes.I64(-1, 0, 1L << 40), SafeTensorsBytes.F32(1, 2, 3, 4)));

    static Dictionary<string, Tensor> ReferenceTensors() => new()
    {
        ["a"] = Tensor.FromArray(new float[] { 1, 2, 3, 4 }, 2, 2),
        ["b"] = Tensor.FromArray(new long[] { -1, 0, 1L << 40 }, 3),
    };

    [Fact]
    public void ReferenceFixture_HasTheDocumentedLayout()
    {
        var bytes = ReferenceFile();
        int headerLength = Encoding.UTF8.GetByteCount(ReferenceHeader);
        Assert.Equal(146, headerLength);
        Assert.Equal(152, BitConverter.ToInt64(bytes, 0));                     // padded to a multiple of 8
        Assert.Equal("      ", Encoding.ASCII.GetString(bytes, 8 + 146, 6));   // six spaces of padding
        Assert.Equal(8 + 152 + 40, bytes.Length);
    }

    [Fact]
    public void Read_ReferenceFixture_GivesTensorsAndMetadata()
    {
        var file = SafeTensors.DeserializeFile(ReferenceFile());
        Assert.Equal(new[] { "b", "a" }, file.Tensors.Keys);                   // data-buffer order
        var a = file.Tensors["a"];
        Assert.Equal(DType.Float32, a.DType);
        Assert.Equal(new Shape(2, 2), a.Shape);
        Assert.Equal(new float[] { 1, 2, 3, 4 }, a.ToArray<float>());
        var b = file.Tensors["b"];
        Assert.Equal(DType.Int64, b.DType);
        Assert.Equal(new long[] { -1, 0, 1L << 40 }, b.ToArray<long>());
        Assert.Equal("pt", Assert.Single(file.Metadata).Value);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(ReferenceFile().AsSpan(8 + 152))), file.DataSha256);
    }

    [Fact]
    public void Write_KnownDictionary_EqualsTheReferenceBytes()
    {
        var bytes = SafeTensors.Serialize(ReferenceTensors(), new Dictionary<string, string> { ["framework"] = "pt" });
        Assert.Equal(ReferenceFile(), bytes);
    }

    [Fact]
    public void Write_MatchesTheReferenceImplementationsOwnTestVectors()
    {
        // safetensors' tensor.rs tests: "attn.0" F32 [1, 2, 3] = 0..5 has a 64-byte header (no padding needed);
        // "attn0" F32 [1, 1, 2, 3] has a 65-byte header padded by 7 spaces; an empty dict is "{}" plus 6 spaces;
        // empty with metadata {"framework": "pt"} is 35 bytes plus 5 spaces.
        var data = SafeTensorsBytes.F32(0, 1, 2, 3, 4, 5);
        Assert.Equal(
            SafeTensorsBytes.File("{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}", data),
            SafeTensors.Serialize(new Dictionary<string, Tensor> { ["attn.0"] = Tensor.Arange(6).Reshape(1, 2, 3).Float() }));
        var aligned = SafeTensors.Serialize(new Dictionary<string, Tensor> { ["attn0"] = Tensor.Arange(6).Reshape(1, 1, 2, 3).Float() });
        Assert.Equal(72, aligned[0]);
        Assert.Equal(SafeTensorsBytes.File("{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}", data), aligned);
        Assert.Equal(new byte[] { 8, 0, 0, 0, 0, 0, 0, 0, (byte)'{', (byte)'}', 32, 32, 32, 32, 32, 32 },
            SafeTensors.Serialize(new Dictionary<string, Tensor>()));
        var withMetadata = SafeTensors.Serialize(new Dictionary<string, Tensor>(), new Dictionary<string, string> { ["framework"] = "pt" });
        Assert.Equal(40, withMetadata[0]);
        Assert.Equal("{\"__metadata__\":{\"framework\":\"pt\"}}     ", Encoding.UTF8.GetString(withMetadata, 8, 40));
    }

    [Fact]
    public void Write_OrdersByDTypeThenName_AndEscapesAsSerdeJson()
    {
        var tensors = new Dictionary<string, Tensor>
        {
            ["mask"] = Tensor.FromArray(new[] { true, false }, 2),
            ["pixels"] = Tensor.FromArray(new byte[] { 7 }, 1),
            ["count"] = Tensor.FromArray(new[] { 5 }, 1),
            ["z"] = Tensor.FromArray(new[] { 0.5 }, 1),
            ["q\"\\\n\u0001é"] = Tensor.FromArray(new[] { 9L }, 1),
            ["w"] = Tensor.FromArray(new[] { 2f }, 1),
        };
        string expectedHeader = "{" +
            "\"q\\\"\\\\\\n\\u0001é\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}," +
            "\"z\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[8,16]}," +
            "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[16,20]}," +
            "\"count\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[20,24]}," +
            "\"pixels\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[24,25]}," +
            "\"mask\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[25,27]}}";
        var data = SafeTensorsBytes.Concat(SafeTensorsBytes.I64(9), BitConverter.GetBytes(0.5), SafeTensorsBytes.F32(2),
            BitConverter.GetBytes(5), [7], [1, 0]);
        var bytes = SafeTensors.Serialize(tensors);
        Assert.Equal(SafeTensorsBytes.File(expectedHeader, data), bytes);
        var back = SafeTensors.Deserialize(bytes);
        Assert.Equal(new[] { 9L }, back["q\"\\\n\u0001é"].ToArray<long>());
        Assert.Equal(new[] { true, false }, back["mask"].ToArray<bool>());
    }

    [Fact]
    public void Read_AcceptsAnyEntryOrder_UnpaddedHeaders_AndUnknownFields()
    {
        // Older writers ordered purely by name and other writers may not pad; unknown fields are ignored as in the reference.
        string header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16],\"note\":[1,{\"x\":2}]}," +
                        "\"b\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        var bytes = SafeTensorsBytes.File(header, SafeTensorsBytes.Concat(BitConverter.GetBytes(3), BitConverter.GetBytes(-4), SafeTensorsBytes.F32(1.5f, -2)), pad: false);
        Assert.NotEqual(0, (bytes.Length - 8 - 16) % 8);
        var t = SafeTensors.Deserialize(bytes);
        Assert.Equal(new[] { 1.5f, -2f }, t["a"].ToArray<float>());
        Assert.Equal(new[] { 3, -4 }, t["b"].ToArray<int>());
    }

    [Fact]
    public void Read_EveryNativeDType_ZeroDimAndEmptyTensors()
    {
        string header = "{\"f64\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[0,8]}," +
                        "\"empty\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[8,8]}," +
                        "\"u8\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[8,10]}," +
                        "\"bool\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[10,13]}}";
        var data = SafeTensorsBytes.Concat(BitConverter.GetBytes(-2.25), [200, 3], [1, 0, 2]);
        var t = SafeTensors.Deserialize(SafeTensorsBytes.File(header, data));
        Assert.Equal(0, t["f64"].Dim);
        Assert.Equal(-2.25, t["f64"].Item<double>());
        Assert.Equal(new Shape(0, 3), t["empty"].Shape);
        Assert.Equal(new byte[] { 200, 3 }, t["u8"].ToArray<byte>());
        Assert.Equal(DType.Bool, t["bool"].DType);
        Assert.Equal(new[] { true, false, true }, t["bool"].ToArray<bool>());       // non-zero bytes read as true
        Assert.Equal(new byte[] { 1, 0, 1 }, t["bool"].ToArray<byte>());
    }

    [Fact]
    public void Read_HalfPrecisionDTypes_AreWidenedToFloat32()
    {
        // F16 0x3E00 = 1.5, 0xC000 = -2; BF16 0x3F80 = 1.0, 0xC0A0 = -5.0 (the upper half of the float32 bits).
        string header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]},\"bf\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[4,8]}}";
        var t = SafeTensors.Deserialize(SafeTensorsBytes.File(header, [0x00, 0x3E, 0x00, 0xC0, 0x80, 0x3F, 0xA0, 0xC0]));
        Assert.Equal(DType.Float32, t["h"].DType);
        Assert.Equal(new[] { 1.5f, -2f }, t["h"].ToArray<float>());
        Assert.Equal(new[] { 1f, -5f }, t["bf"].ToArray<float>());
    }

    [Fact]
    public void Write_NonContiguousViews_AreWrittenRowMajor()
    {
        var m = Tensor.Arange(6).Reshape(2, 3).Float();
        var view = m.Transpose(0, 1);
        Assert.False(view.IsContiguous);
        var back = SafeTensors.Deserialize(SafeTensors.Serialize(new Dictionary<string, Tensor> { ["t"] = view }))["t"];
        Assert.Equal(new Shape(3, 2), back.Shape);
        Assert.Equal(new float[] { 0, 3, 1, 4, 2, 5 }, back.ToArray<float>());
        Assert.Equal(new float[] { 0, 1, 2, 3, 4, 5 }, m.ToArray<float>());
    }

    [Fact]
    public void SaveAndLoad_File_AndStreams_AgreeWithSerialize()
    {
        string dir = Directory.CreateTempSubdirectory("nc-st-").FullName;
        try
        {
            string path = Path.Combine(dir, "w.safetensors");
            SafeTensors.Save(path, ReferenceTensors(), new Dictionary<string, string> { ["framework"] = "pt" });
            Assert.Equal(ReferenceFile(), File.ReadAllBytes(path));
            Assert.Equal(new[] { "w.safetensors" }, Directory.GetFiles(dir).Select(Path.GetFileName));   // no temp file left
            Assert.Equal(new float[] { 1, 2, 3, 4 }, SafeTensors.Load(path)["a"].ToArray<float>());

            using var seekable = new MemoryStream(ReferenceFile());
            Assert.Equal(new long[] { -1, 0, 1L << 40 }, SafeTensors.Read(seekable)["b"].ToArray<long>());
            var streamed = SafeTensors.ReadFile(new TrickleStream(ReferenceFile()));
            Assert.Equal(new float[] { 1, 2, 3, 4 }, streamed.Tensors["a"].ToArray<float>());
            Assert.Equal(SafeTensors.DeserializeFile(ReferenceFile()).DataSha256, streamed.DataSha256);

            using var written = new MemoryStream();
            written.WriteByte(0xAB);                                 // Write appends at the stream's position
            SafeTensors.Write(written, ReferenceTensors(), new Dictionary<string, string> { ["framework"] = "pt" });
            Assert.Equal(ReferenceFile(), written.ToArray()[1..]);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void LoadMetadata_ReadsTheHeaderOnly_AndStillValidatesIt()
    {
        string path = Path.Combine(Path.GetTempPath(), $"nc-meta-{Guid.NewGuid():N}.safetensors");
        try
        {
            File.WriteAllBytes(path, ReferenceFile());
            Assert.Equal("pt", SafeTensors.LoadMetadata(path)["framework"]);
            File.WriteAllBytes(path, ReferenceFile()[..^1]);
            Assert.Contains("lie outside the data buffer of 39 bytes", Assert.Throws<InvalidDataException>(() => SafeTensors.LoadMetadata(path)).Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ComputeDataSha256_MatchesTheHashReportedOnRead()
    {
        var tensors = ReferenceTensors();
        Assert.Equal(SafeTensors.DeserializeFile(SafeTensors.Serialize(tensors)).DataSha256, SafeTensors.ComputeDataSha256(tensors));
    }

    [Fact]
    public void Write_RejectsReservedAndUnencodableNames()
    {
        var reserved = Assert.Throws<ArgumentException>(() => SafeTensors.Serialize(new Dictionary<string, Tensor> { ["__metadata__"] = Tensor.Zeros(1) }));
        Assert.Contains("reserved", reserved.Message);
        var surrogate = Assert.Throws<ArgumentException>(() => SafeTensors.Serialize(new Dictionary<string, Tensor> { ["bad\uD800"] = Tensor.Zeros(1) }));
        Assert.Contains("not valid UTF-16", surrogate.Message);
    }
}

using System.Text;
using NeuralCore.Fuzz.Targets;
using NeuralCore.Serialization;

namespace NeuralCore.Tests.Serialization;

/// <summary>One test per validation rule of the reader; each checks the exception type and the message fragment.</summary>
public class SafeTensorsValidationTests
{
    const string A16 = "\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}";

    static InvalidDataException Reject(byte[] file, string fragment)
    {
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Deserialize(file));
        Assert.Contains(fragment, e.Message);
        // The stream readers (seekable and not) reach the same verdict.
        Assert.Contains(fragment, Assert.Throws<InvalidDataException>(() => SafeTensors.Read(new MemoryStream(file))).Message);
        Assert.IsType<InvalidDataException>(Record.Exception(() => SafeTensors.Read(new TrickleStream(file))));
        return e;
    }

    static InvalidDataException RejectHeader(string header, int dataBytes, string fragment) =>
        Reject(SafeTensorsBytes.File(header, new byte[dataBytes]), fragment);

    [Fact]
    public void FileShorterThanEightBytes()
    {
        for (int n = 0; n < 8; n++) Reject(new byte[n], $"only {n} bytes long");
    }

    [Fact]
    public void HeaderLengthOverTheReferenceCap()
    {
        var file = SafeTensorsBytes.File("{}", []);
        Reject(SafeTensorsBytes.WithHeaderLength(file, 100_000_001), "exceeds the limit of 100000000 bytes");
        Reject(SafeTensorsBytes.WithHeaderLength(file, 1UL << 63), "header length 9223372036854775808 exceeds the limit");
        Reject(SafeTensorsBytes.WithHeaderLength(file, ulong.MaxValue), "exceeds the limit");
    }

    [Fact]
    public void HeaderLengthBeyondTheFile()
    {
        var file = SafeTensorsBytes.File("{}", []);
        var e = Reject(SafeTensorsBytes.WithHeaderLength(file, 9), "header length 9 exceeds the file size (8 bytes follow the length prefix)");
        Assert.Contains("exceeds the file size", Assert.Throws<InvalidDataException>(
            () => SafeTensors.Read(new TrickleStream(SafeTensorsBytes.WithHeaderLength(file, 99_000_000)))).Message);
        Assert.NotNull(e);
    }

    [Fact]
    public void HugeHeaderLengthOnAStream_DoesNotAllocateIt()
    {
        var file = SafeTensorsBytes.WithHeaderLength(SafeTensorsBytes.File("{}", []), 99_999_999);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Throws<InvalidDataException>(() => SafeTensors.Read(new TrickleStream(file)));
        Assert.Throws<InvalidDataException>(() => SafeTensors.Read(new MemoryStream(file)));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 4_000_000, "a lying header length must not be allocated up front");
    }

    [Fact]
    public void HeaderNotUtf8()
    {
        var file = SafeTensorsBytes.File("{\"a\u00e9\":1}", []);
        file[8 + 3] = 0xFF;   // corrupt the first byte of 'é'
        Reject(file, "not valid UTF-8");
    }

    [Fact]
    public void HeaderNotJson()
    {
        RejectHeader("{\"a\":}", 0, "not valid JSON");
        RejectHeader("{\"a\":{\"dtype\":\"F32\",}", 0, "not valid JSON");
        RejectHeader("{} trailing", 0, "not valid JSON");
        RejectHeader("{// comment\n}", 0, "not valid JSON");
        RejectHeader("{\"a\":{\"dtype\":\"F\\uD800\"}}", 0, "not valid JSON");     // lone escaped surrogate
    }

    [Fact]
    public void HeaderNotAnObject_OrNotStartingWithBrace()
    {
        RejectHeader("[1, 2]", 0, "must start with '{' but starts with byte 0x5B");
        RejectHeader(" {}", 0, "must start with '{' but starts with byte 0x20");
        RejectHeader("\"x\"", 0, "must start with '{'");
        Reject(SafeTensorsBytes.File("", [], pad: false), "header is empty");
    }

    [Fact]
    public void EntryMissingAField()
    {
        RejectHeader("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor 'a' has no 'dtype'");
        RejectHeader("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, "tensor 'a' has no 'shape'");
        RejectHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "tensor 'a' has no 'data_offsets'");
    }

    [Fact]
    public void EntryWithWrongJsonTypes()
    {
        RejectHeader("{\"a\":[1]}", 0, "the entry of tensor 'a' must be an object, found an array");
        RejectHeader("{\"a\":{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "the dtype of tensor 'a' must be a string, found a number");
        RejectHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[0,8]}}", 8, "the shape of tensor 'a' must be an array of non-negative integers, found a string");
        RejectHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", 8, "the shape of tensor 'a' must hold only non-negative integers, found a string");
        RejectHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":{\"b\":0}}}", 8, "the data_offsets of tensor 'a' must be an array");
        RejectHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[[2]],\"data_offsets\":[0,8]}}", 8, "must hold only non-negative integers, found an array");
    }

    [Fact]
    public void DuplicateFieldsInAnEntry()
    {
        RejectHeader("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor 'a' has more than one 'dtype'");
        RejectHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "more than one 'shape'");
        RejectHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"data_offsets\":[0,8]}}", 8, "more than one 'data_offsets'");
    }

    [Fact]
    public void NegativeOrNonIntegerShapeEntries()
    {
        RejectHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "the shape of tensor 'a' holds -2, which is not a non-negative integer");
        RejectHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 8, "holds 2.0, which is not");
        RejectHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2e0],\"data_offsets\":[0,8]}}", 8, "holds 2e0, which is not");
        RejectHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[18446744073709551616],\"data_offsets\":[0,8]}}", 8, "holds 18446744073709551616");
        RejectHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", 8, "the data_offsets of tensor 'a' holds -8");
    }

    [Fact]
    public void ShapeArithmeticOverflow()
    {
        RejectHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}", 0, "overflows 64-bit arithmetic");
        RejectHeader("{\"a\":{\"dtype\":\"I64\",\"shape\":[4611686018427387904],\"data_offsets\":[0,0]}}", 0, "the shape [4611686018427387904] of tensor 'a' overflows");
    }

    [Fact]
    public void OffsetsNotAPairInOrder()
    {
        RejectHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "data_offsets [8, 0] with begin after end");
        RejectHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,16]}}", 16, "must be [begin, end], found 3 numbers");
        RejectHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[]}}", 8, "found 0 numbers");
    }

    [Fact]
    public void OffsetsOutsideTheBuffer()
    {
        RejectHeader("{" + A16 + "}", 12, "the data_offsets [0, 16] of tensor 'a' lie outside the data buffer of 12 bytes");
        RejectHeader("{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[18446744073709551607,18446744073709551615]}}", 8, "lie outside the data buffer");
    }

    [Fact]
    public void ByteLengthDisagreesWithShapeAndDType()
    {
        RejectHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", 12, "tensor 'a' (F32 [2, 2]) needs 16 bytes but its data_offsets [0, 12] span 12");
        RejectHeader("{\"a\":{\"dtype\":\"F64\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", 16, "needs 32 bytes");
    }

    [Fact]
    public void OverlappingTensors()
    {
        RejectHeader("{" + A16 + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16, "tensors 'a' [0, 16] and 'b' [8, 16] overlap");
        RejectHeader("{" + A16 + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", 16, "overlap");
        RejectHeader("{" + A16 + ",\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}", 16, "overlap");
    }

    [Fact]
    public void GapsBetweenTensors()
    {
        RejectHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12,
            "gap of 4 bytes before tensor 'b' [8, 12]");
        RejectHeader("{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "gap of 4 bytes before tensor 'b'");
    }

    [Fact]
    public void TrailingBytesNotCovered()
    {
        RejectHeader("{" + A16 + "}", 20, "the data buffer has 4 trailing bytes not covered by any tensor");
        RejectHeader("{}", 1, "1 trailing bytes");
        var withTail = SafeTensorsBytes.File("{" + A16 + "}", new byte[17]);
        Assert.Contains("trailing bytes", Assert.Throws<InvalidDataException>(() => SafeTensors.Read(new TrickleStream(withTail))).Message);
    }

    [Fact]
    public void TruncatedData()
    {
        var file = SafeTensorsBytes.File("{" + A16 + "}", new byte[16]);
        Assert.Contains("the data buffer ends inside tensor 'a'", Assert.Throws<InvalidDataException>(
            () => SafeTensors.Read(new TrickleStream(file[..^3]))).Message);
        Reject(file[..^3], "lie outside the data buffer of 13 bytes");
    }

    [Fact]
    public void DuplicateTensorNames()
    {
        RejectHeader("{" + A16 + "," + A16 + "}", 16, "duplicate tensor name 'a'");
    }

    [Fact]
    public void MetadataNotAStringMap()
    {
        RejectHeader("{\"__metadata__\":[\"x\"]}", 0, "'__metadata__' must be an object mapping strings to strings, found an array");
        RejectHeader("{\"__metadata__\":{\"k\":1}}", 0, "'__metadata__' value of 'k' must be a string, found a number");
        RejectHeader("{\"__metadata__\":{\"k\":{\"x\":\"y\"}}}", 0, "value of 'k' must be a string, found an object");
        RejectHeader("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, "duplicate key 'k' in '__metadata__'");
        RejectHeader("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "more than one '__metadata__'");
        Assert.Empty(SafeTensors.DeserializeFile(SafeTensorsBytes.File("{\"__metadata__\":null}", [])).Metadata);
    }

    [Fact]
    public void UnsupportedDTypes()
    {
        foreach (var (dtype, size) in new[] { ("I8", 1), ("U16", 2), ("I16", 2), ("U32", 4), ("U64", 8), ("F8_E4M3", 1), ("f32", 4), ("", 1) })
            RejectHeader($"{{\"a\":{{\"dtype\":\"{dtype}\",\"shape\":[1],\"data_offsets\":[0,{size}]}}}}", size,
                $"tensor 'a' has unsupported dtype '{dtype}'; supported: BOOL, U8, I32, I64, F32, F64");
    }

    [Fact]
    public void TensorsLargerThanNeuralCoreSupports()
    {
        // The offsets agree with the shape, so only NeuralCore's own limit (int element counts) rejects it; a
        // non-seekable stream cannot check the buffer length first, so this is where the check must hold.
        string header = "{\"a\":{\"dtype\":\"U8\",\"shape\":[3000000000],\"data_offsets\":[0,3000000000]}}";
        var file = SafeTensorsBytes.File(header, []);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(new TrickleStream(file)));
        Assert.Contains("larger than a NeuralCore tensor can be", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 4_000_000);
        RejectHeader("{\"a\":{\"dtype\":\"U8\",\"shape\":[3000000000,0],\"data_offsets\":[0,0]}}", 0, "larger than a NeuralCore tensor can be");
    }

    [Fact]
    public void LongNamesAreShortenedInMessages()
    {
        string name = new('n', 5000);
        var e = RejectHeader("{\"" + name + "\":{\"dtype\":\"X\",\"shape\":[],\"data_offsets\":[0,0]}}", 0, "unsupported dtype 'X'");
        Assert.True(e.Message.Length < 400, e.Message);
    }

    [Fact]
    public void LoadFromPath_NamesTheFile()
    {
        string path = Path.Combine(Path.GetTempPath(), $"nc-bad-{Guid.NewGuid():N}.safetensors");
        File.WriteAllBytes(path, Encoding.ASCII.GetBytes("abc"));
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
            Assert.StartsWith(path + ": ", e.Message);
            Assert.Contains("only 3 bytes long", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}

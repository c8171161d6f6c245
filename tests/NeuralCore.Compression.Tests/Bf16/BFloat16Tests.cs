using NeuralCore.Compression.Bf16;

namespace NeuralCore.Compression.Tests.Bf16;

public sealed class BFloat16Tests
{
    [Theory]
    [InlineData(0x3F80_0000u, (ushort)0x3F80)]   // 1.0 exactly
    [InlineData(0x3F80_8000u, (ushort)0x3F80)]   // halfway between 1 and 1 + 2⁻⁷: ties to the even 0x3F80
    [InlineData(0x3F81_8000u, (ushort)0x3F82)]   // halfway, odd below: rounds up to the even 0x3F82
    [InlineData(0x3F80_8001u, (ushort)0x3F81)]   // just above halfway: up
    [InlineData(0x3F80_7FFFu, (ushort)0x3F80)]   // just below halfway: down
    [InlineData(0xBF81_8000u, (ushort)0xBF82)]   // negative, ties to even by magnitude
    [InlineData(0x7F7F_FFFFu, (ushort)0x7F80)]   // the largest float rounds past the largest bfloat16: +infinity
    [InlineData(0xFF80_0000u, (ushort)0xFF80)]   // −infinity stays
    [InlineData(0x0000_0001u, (ushort)0x0000)]   // the smallest subnormal rounds to zero
    [InlineData(0x8000_0000u, (ushort)0x8000)]   // −0 keeps its sign
    public void FromSingle_RoundsToNearestEven(uint floatBits, ushort expected) =>
        Assert.Equal(expected, BFloat16.FromSingle(BitConverter.UInt32BitsToSingle(floatBits)));

    [Fact]
    public void FromSingle_KeepsNaNQuiet()
    {
        foreach (uint bits in new[] { 0x7FC0_0000u, 0x7F80_0001u, 0xFFFF_FFFFu, 0x7FFF_0000u })
            Assert.True(float.IsNaN(BFloat16.ToSingle(BFloat16.FromSingle(BitConverter.UInt32BitsToSingle(bits)))), $"0x{bits:X8}");
    }

    [Fact]
    public void FromSingle_IsTheNearestBFloat16ForRandomValues()
    {
        var random = new Random(7);
        for (int i = 0; i < 100_000; i++)
        {
            float f = (float)((random.NextDouble() - 0.5) * Math.Pow(2, random.Next(-60, 60)));
            ushort b = BFloat16.FromSingle(f);
            double error = Math.Abs(BFloat16.ToSingle(b) - (double)f);
            // Neither neighbour of the chosen value is nearer.
            foreach (int step in new[] { -1, 1 })
            {
                float neighbour = BFloat16.ToSingle((ushort)(b + step));
                Assert.True(float.IsInfinity(neighbour) || float.IsNaN(neighbour) || Math.Abs(neighbour - (double)f) >= error, $"{f}: {BFloat16.ToSingle(b)} chosen over {neighbour}");
            }
            Assert.True(error <= Math.Abs(f) * Math.Pow(2, -8), $"{f}: error {error}");
        }
    }
}

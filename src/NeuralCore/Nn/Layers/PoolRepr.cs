using System.Globalization;

namespace NeuralCore.Nn;

/// <summary>Formats pooling sizes as PyTorch's <c>extra_repr</c> does: one number when both sides agree.</summary>
internal static class PoolRepr
{
    public static string Size((int H, int W) v) =>
        v.H == v.W ? v.H.ToString(CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"({v.H}, {v.W})");
}

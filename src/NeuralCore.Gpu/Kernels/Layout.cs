namespace NeuralCore.Gpu.Kernels;

/// <summary>
/// The iteration shape of a kernel, passed by value: up to <see cref="MaxRank"/> sizes stored innermost first
/// (D0 is the fastest-varying dimension); unused dimensions have size 1. Host code coalesces dimensions before
/// building one (see <see cref="LayoutBuilder"/>), so a dense tensor of any rank arrives as rank 1.
/// </summary>
internal struct Shape8
{
    public const int MaxRank = 8;

    public int Rank;
    public int D0, D1, D2, D3, D4, D5, D6, D7;

    /// <summary>Splits a linear (row-major) index into coordinates. The outermost used dimension takes the quotient unreduced.</summary>
    public readonly Coords Decompose(int i)
    {
        var c = default(Coords);
        int q = i;
        if (Rank <= 1) { c.C0 = q; return c; }
        c.C0 = q % D0; q /= D0;
        if (Rank == 2) { c.C1 = q; return c; }
        c.C1 = q % D1; q /= D1;
        if (Rank == 3) { c.C2 = q; return c; }
        c.C2 = q % D2; q /= D2;
        if (Rank == 4) { c.C3 = q; return c; }
        c.C3 = q % D3; q /= D3;
        if (Rank == 5) { c.C4 = q; return c; }
        c.C4 = q % D4; q /= D4;
        if (Rank == 6) { c.C5 = q; return c; }
        c.C5 = q % D5; q /= D5;
        if (Rank == 7) { c.C6 = q; return c; }
        c.C6 = q % D6; q /= D6;
        c.C7 = q;
        return c;
    }
}

/// <summary>Coordinates of one element, innermost first.</summary>
internal struct Coords
{
    public int C0, C1, C2, C3, C4, C5, C6, C7;
}

/// <summary>One operand's element offset and strides (innermost first, in elements; 0 for broadcast or unused dimensions).</summary>
internal struct Strides8
{
    public int Offset;
    public int S0, S1, S2, S3, S4, S5, S6, S7;

    /// <summary>Element offset of <paramref name="c"/>.</summary>
    public readonly int At(Coords c) =>
        Offset + c.C0 * S0 + c.C1 * S1 + c.C2 * S2 + c.C3 * S3 + c.C4 * S4 + c.C5 * S5 + c.C6 * S6 + c.C7 * S7;
}

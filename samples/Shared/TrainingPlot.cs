using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace NeuralCore.Samples;

/// <summary>
/// Writes training curves as a PNG (two panels: loss, then accuracy; one coloured line per series) and the
/// numbers as CSV, using nothing but the base library: pixels are drawn into an RGB buffer and encoded with
/// zlib (PNG's own compression).
/// </summary>
internal static class TrainingPlot
{
    const int PanelWidth = 420, Height = 300, Margin = 30;
    static readonly (byte R, byte G, byte B)[] Colors = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40)];

    /// <summary>Writes <paramref name="series"/> (name → one value per epoch) as CSV with an "epoch" column.</summary>
    public static void WriteCsv(string path, IReadOnlyDictionary<string, IReadOnlyList<double>> series)
    {
        var names = series.Keys.ToList();
        int epochs = series.Values.Select(v => v.Count).DefaultIfEmpty(0).Max();
        var sb = new StringBuilder("epoch");
        foreach (var n in names) sb.Append(',').Append(n);
        sb.AppendLine();
        for (int e = 0; e < epochs; e++)
        {
            sb.Append(e + 1);
            foreach (var n in names)
                sb.Append(',').Append(e < series[n].Count ? series[n][e].ToString("R", CultureInfo.InvariantCulture) : "");
            sb.AppendLine();
        }
        File.WriteAllText(path, sb.ToString());
    }

    /// <summary>
    /// Draws the series whose names contain "loss" in the left panel and the others in the right panel, each
    /// panel scaled to its own min..max; series colours follow their order.
    /// </summary>
    public static void WritePng(string path, IReadOnlyDictionary<string, IReadOnlyList<double>> series)
    {
        int width = 2 * PanelWidth;
        var pixels = new byte[width * Height * 3];
        Array.Fill(pixels, (byte)255);
        var left = series.Where(s => s.Key.Contains("loss", StringComparison.OrdinalIgnoreCase)).ToList();
        var right = series.Where(s => !s.Key.Contains("loss", StringComparison.OrdinalIgnoreCase)).ToList();
        DrawPanel(pixels, width, 0, left);
        DrawPanel(pixels, width, PanelWidth, right);
        File.WriteAllBytes(path, EncodePng(pixels, width, Height));
    }

    static void DrawPanel(byte[] px, int width, int x0, List<KeyValuePair<string, IReadOnlyList<double>>> series)
    {
        int left = x0 + Margin, right = x0 + PanelWidth - Margin / 2, top = Margin / 2, bottom = Height - Margin;
        DrawLine(px, width, left, bottom, right, bottom, (0, 0, 0));
        DrawLine(px, width, left, bottom, left, top, (0, 0, 0));
        var values = series.SelectMany(s => s.Value).Where(double.IsFinite).ToList();
        if (values.Count == 0) return;
        double lo = values.Min(), hi = values.Max();
        if (hi - lo < 1e-12) { lo -= 0.5; hi += 0.5; }
        for (int k = 0; k < series.Count; k++)
        {
            var v = series[k].Value;
            var color = Colors[k % Colors.Length];
            int n = v.Count;
            (int X, int Y) Point(int i) => (
                n == 1 ? (left + right) / 2 : left + (int)Math.Round((right - left) * (double)i / (n - 1)),
                bottom - (int)Math.Round((bottom - top) * (v[i] - lo) / (hi - lo)));
            for (int i = 0; i < n; i++)
            {
                if (!double.IsFinite(v[i])) continue;
                var (x, y) = Point(i);
                for (int dy = -2; dy <= 2; dy++)
                    for (int dx = -2; dx <= 2; dx++) Set(px, width, x + dx, y + dy, color);
                if (i + 1 < n && double.IsFinite(v[i + 1]))
                {
                    var (x2, y2) = Point(i + 1);
                    DrawLine(px, width, x, y, x2, y2, color);
                }
            }
        }
    }

    static void DrawLine(byte[] px, int width, int x0, int y0, int x1, int y1, (byte, byte, byte) c)
    {
        int dx = Math.Abs(x1 - x0), dy = -Math.Abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
        while (true)
        {
            Set(px, width, x0, y0, c);
            Set(px, width, x0, y0 + 1, c);
            if (x0 == x1 && y0 == y1) break;
            int e2 = 2 * err;
            if (e2 >= dy) { err += dy; x0 += sx; }
            if (e2 <= dx) { err += dx; y0 += sy; }
        }
    }

    static void Set(byte[] px, int width, int x, int y, (byte R, byte G, byte B) c)
    {
        if (x < 0 || x >= width || y < 0 || y >= Height) return;
        int i = (y * width + x) * 3;
        px[i] = c.R;
        px[i + 1] = c.G;
        px[i + 2] = c.B;
    }

    static byte[] EncodePng(byte[] rgb, int width, int height)
    {
        using var raw = new MemoryStream();
        using (var z = new ZLibStream(raw, CompressionLevel.Optimal, leaveOpen: true))
            for (int y = 0; y < height; y++)
            {
                z.WriteByte(0); // filter type None for every scanline
                z.Write(rgb, y * width * 3, width * 3);
            }
        using var png = new MemoryStream();
        png.Write([137, 80, 78, 71, 13, 10, 26, 10]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bit depth
        header[9] = 2; // colour type RGB
        WriteChunk(png, "IHDR", header);
        WriteChunk(png, "IDAT", raw.ToArray());
        WriteChunk(png, "IEND", []);
        return png.ToArray();
    }

    static void WriteChunk(Stream s, string type, byte[] data)
    {
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(len, data.Length);
        s.Write(len);
        var typeBytes = Encoding.ASCII.GetBytes(type);
        s.Write(typeBytes);
        s.Write(data);
        uint crc = Crc32(typeBytes, 0xFFFFFFFFu);
        crc = Crc32(data, crc) ^ 0xFFFFFFFFu;
        BinaryPrimitives.WriteUInt32BigEndian(len, crc);
        s.Write(len);
    }

    // CRC-32 (IEEE 802.3 polynomial, reflected), as PNG chunks require.
    static uint Crc32(byte[] data, uint crc)
    {
        foreach (var b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
        }
        return crc;
    }
}

namespace NeuralCore.Tests.Nn;

/// <summary>
/// Scalar double-precision references for the recurrent layers, written from PyTorch's documented equations with plain
/// loops over [T, B, ·] arrays (row-major). Weights are looked up by PyTorch's parameter names.
/// </summary>
public static class RecurrentReference
{
    public enum Kind { Tanh, Relu, Lstm, Gru }

    public static int Gates(Kind kind) => kind switch { Kind.Lstm => 4, Kind.Gru => 3, _ => 1 };

    static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));

    // W·v for W [rows, cols] row-major.
    static double[] MatVec(double[] w, int rows, int cols, double[] v)
    {
        var y = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            double s = 0;
            for (int c = 0; c < cols; c++) s += w[r * cols + c] * v[c];
            y[r] = s;
        }
        return y;
    }

    /// <summary>One step of the cell for one sample: returns (h', c').</summary>
    public static (double[] H, double[] C) Step(Kind kind, double[] x, double[] h, double[] c, int hidden,
        double[] wih, double[] whh, double[]? bih, double[]? bhh)
    {
        int g = Gates(kind) * hidden;
        var gx = MatVec(wih, g, x.Length, x);
        var gh = MatVec(whh, g, hidden, h);
        for (int i = 0; i < g; i++)
        {
            gx[i] += bih?[i] ?? 0;
            gh[i] += bhh?[i] ?? 0;
        }
        var hNext = new double[hidden];
        var cNext = new double[hidden];
        for (int j = 0; j < hidden; j++)
        {
            switch (kind)
            {
                case Kind.Tanh:
                    hNext[j] = Math.Tanh(gx[j] + gh[j]);
                    break;
                case Kind.Relu:
                    hNext[j] = Math.Max(0, gx[j] + gh[j]);
                    break;
                case Kind.Lstm:
                {
                    double i = Sigmoid(gx[j] + gh[j]);
                    double f = Sigmoid(gx[hidden + j] + gh[hidden + j]);
                    double gg = Math.Tanh(gx[2 * hidden + j] + gh[2 * hidden + j]);
                    double o = Sigmoid(gx[3 * hidden + j] + gh[3 * hidden + j]);
                    cNext[j] = f * c[j] + i * gg;
                    hNext[j] = o * Math.Tanh(cNext[j]);
                    break;
                }
                case Kind.Gru:
                {
                    double r = Sigmoid(gx[j] + gh[j]);
                    double z = Sigmoid(gx[hidden + j] + gh[hidden + j]);
                    double n = Math.Tanh(gx[2 * hidden + j] + r * gh[2 * hidden + j]);
                    hNext[j] = (1 - z) * n + z * h[j];
                    break;
                }
            }
        }
        return (hNext, cNext);
    }

    /// <summary>
    /// The whole stack over x [T][B][I] from h0/c0 [L·D][B][H]: output [T][B][D·H], hn, cn. With
    /// <paramref name="zeroBetweenLayers"/> every layer but the first sees zeros (dropout with p = 1).
    /// </summary>
    public static (double[][][] Output, double[][][] H, double[][][] C) Run(Kind kind, Func<string, double[]?> weight, int layers, bool bidirectional,
        int hidden, double[][][] x, double[][][] h0, double[][][] c0, bool zeroBetweenLayers = false)
    {
        int steps = x.Length, batch = x[0].Length, dirs = bidirectional ? 2 : 1;
        var hn = new double[layers * dirs][][];
        var cn = new double[layers * dirs][][];
        var input = x;
        for (int layer = 0; layer < layers; layer++)
        {
            if (layer > 0 && zeroBetweenLayers)
                input = input.Select(step => step.Select(row => new double[row.Length]).ToArray()).ToArray();
            var output = new double[steps][][];
            for (int t = 0; t < steps; t++)
            {
                output[t] = new double[batch][];
                for (int b = 0; b < batch; b++) output[t][b] = new double[dirs * hidden];
            }
            for (int d = 0; d < dirs; d++)
            {
                string suffix = $"_l{layer}{(d == 1 ? "_reverse" : "")}";
                var wih = weight("weight_ih" + suffix)!;
                var whh = weight("weight_hh" + suffix)!;
                var bih = weight("bias_ih" + suffix);
                var bhh = weight("bias_hh" + suffix);
                int index = layer * dirs + d;
                hn[index] = new double[batch][];
                cn[index] = new double[batch][];
                for (int b = 0; b < batch; b++)
                {
                    var h = (double[])h0[index][b].Clone();
                    var c = (double[])c0[index][b].Clone();
                    for (int s = 0; s < steps; s++)
                    {
                        int t = d == 1 ? steps - 1 - s : s;
                        (h, c) = Step(kind, input[t][b], h, c, hidden, wih, whh, bih, bhh);
                        Array.Copy(h, 0, output[t][b], d * hidden, hidden);
                    }
                    hn[index][b] = h;
                    cn[index][b] = c;
                }
            }
            input = output;
        }
        return (input, hn, cn);
    }

    public static double[][][] Nest(double[] flat, int a, int b, int c) =>
        Enumerable.Range(0, a).Select(i => Enumerable.Range(0, b).Select(j => flat.AsSpan((i * b + j) * c, c).ToArray()).ToArray()).ToArray();

    public static double[] Flat(double[][][] nested) => nested.SelectMany(m => m.SelectMany(r => r)).ToArray();
}

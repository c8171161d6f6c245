namespace NeuralCore.Nn;

/// <summary>
/// Parameter initialisers (in place, without recording gradients), as <c>torch.nn.init</c>. Fan-in and fan-out
/// of a weight [out, in, k...] are in·Πk and out·Πk.
/// </summary>
public static class Init
{
    /// <summary>(fanIn, fanOut) of a weight tensor.</summary>
    public static (long FanIn, long FanOut) Fans(Tensor weight)
    {
        if (weight.Dim < 2) throw new ArgumentException($"Init: fan-in and fan-out need at least 2 dimensions, got {weight.Shape}.");
        long receptive = 1;
        for (int i = 2; i < weight.Dim; i++) receptive *= weight.Shape[i];
        return (weight.Shape[1] * receptive, weight.Shape[0] * receptive);
    }

    /// <summary>The recommended gain for a nonlinearity ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "selu").</summary>
    public static double CalculateGain(string nonlinearity, double param = 0.01) => nonlinearity switch
    {
        "linear" or "conv2d" or "sigmoid" => 1.0,
        "tanh" => 5.0 / 3,
        "relu" => Math.Sqrt(2.0),
        "leaky_relu" => Math.Sqrt(2.0 / (1 + param * param)),
        "selu" => 3.0 / 4,
        _ => throw new ArgumentException($"CalculateGain: unknown nonlinearity \"{nonlinearity}\"."),
    };

    static Tensor Fill(Tensor t, Func<Tensor, Tensor> fill)
    {
        // Initialising a tensor without elements does nothing (as in PyTorch), whatever its fans make of the bounds.
        if (t.NumElements == 0) return t;
        using (Tensor.NoGrad()) fill(t);
        return t;
    }

    /// <summary>U(low, high).</summary>
    public static Tensor Uniform(Tensor t, double low = 0, double high = 1) => Fill(t, x => x.Uniform_(low, high));

    /// <summary>N(mean, std²).</summary>
    public static Tensor Normal(Tensor t, double mean = 0, double std = 1) => Fill(t, x => x.Normal_(mean, std));

    /// <summary>All zeros.</summary>
    public static Tensor Zeros(Tensor t) => Fill(t, x => x.Zero_());

    /// <summary>All ones.</summary>
    public static Tensor Ones(Tensor t) => Fill(t, x => x.Fill_(1));

    /// <summary>A constant.</summary>
    public static Tensor Constant(Tensor t, double value) => Fill(t, x => x.Fill_(value));

    /// <summary>Glorot/Xavier uniform: U(−a, a), a = gain·√(6/(fanIn+fanOut)).</summary>
    public static Tensor XavierUniform(Tensor t, double gain = 1)
    {
        var (fi, fo) = Fans(t);
        double a = gain * Math.Sqrt(6.0 / (fi + fo));
        return Uniform(t, -a, a);
    }

    /// <summary>Glorot/Xavier normal: N(0, std²), std = gain·√(2/(fanIn+fanOut)).</summary>
    public static Tensor XavierNormal(Tensor t, double gain = 1)
    {
        var (fi, fo) = Fans(t);
        return Normal(t, 0, gain * Math.Sqrt(2.0 / (fi + fo)));
    }

    static long Fan(Tensor t, bool fanIn)
    {
        var (fi, fo) = Fans(t);
        return fanIn ? fi : fo;
    }

    /// <summary>He/Kaiming uniform: U(−b, b), b = gain·√(3/fan), gain from <paramref name="nonlinearity"/> and <paramref name="a"/>.</summary>
    public static Tensor KaimingUniform(Tensor t, double a = 0, bool fanIn = true, string nonlinearity = "leaky_relu")
    {
        double bound = CalculateGain(nonlinearity, a) * Math.Sqrt(3.0 / Fan(t, fanIn));
        return Uniform(t, -bound, bound);
    }

    /// <summary>He/Kaiming normal: N(0, std²), std = gain/√fan.</summary>
    public static Tensor KaimingNormal(Tensor t, double a = 0, bool fanIn = true, string nonlinearity = "leaky_relu") =>
        Normal(t, 0, CalculateGain(nonlinearity, a) / Math.Sqrt(Fan(t, fanIn)));

    /// <summary>
    /// PyTorch's default for Linear and Conv layers: Kaiming-uniform with a = √5 for the weight (bound
    /// 1/√fanIn) and U(−1/√fanIn, 1/√fanIn) for the bias.
    /// </summary>
    public static void DefaultLayer(Tensor weight, Tensor? bias)
    {
        KaimingUniform(weight, a: Math.Sqrt(5));
        if (bias is null) return;
        long fanIn = Fans(weight).FanIn;
        double bound = fanIn > 0 ? 1 / Math.Sqrt(fanIn) : 0;
        Uniform(bias, -bound, bound);
    }
}

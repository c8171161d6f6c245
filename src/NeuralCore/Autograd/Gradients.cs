namespace NeuralCore.Autograd;

/// <summary>Helpers shared by backward rules.</summary>
internal static class Gradients
{
    /// <summary>
    /// Sums a gradient that was broadcast from <paramref name="shape"/> back down to it: extra leading
    /// dimensions are summed away, and dimensions that were 1 are summed with keepDim.
    /// </summary>
    public static Tensor SumToShape(Tensor grad, Shape shape)
    {
        if (grad.Shape == shape) return grad;
        int lead = grad.Dim - shape.Count;
        var dims = new List<int>();
        for (int i = 0; i < grad.Dim; i++)
            if (i < lead || (shape[i - lead] == 1 && grad.Shape[i] != 1)) dims.Add(i);
        var summed = dims.Count == 0 ? grad : grad.Sum(dims.ToArray(), keepDim: true);
        return summed.Reshape(shape.ToArray());
    }

    /// <summary>Zeros shaped like <paramref name="like"/> with <paramref name="grad"/> written into the window <paramref name="window"/> picks.</summary>
    public static Tensor Embed(Tensor like, Tensor grad, Func<Tensor, Tensor> window)
    {
        var r = Tensor.ZerosLike(like).To(grad.DType);
        window(r).Copy_(grad);
        return r;
    }
}

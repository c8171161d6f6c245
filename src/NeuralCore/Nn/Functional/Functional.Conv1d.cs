namespace NeuralCore.Nn;

public static partial class Functional
{
    /// <summary>
    /// 1-d convolution (cross-correlation, as <c>torch.nn.functional.conv1d</c>). It runs as a
    /// <see cref="Conv2d(Tensor, Tensor, Tensor?, ValueTuple{int, int}, ValueTuple{int, int}, ValueTuple{int, int}?, int)"/>
    /// over images of height 1 (views of the input and weight, no copies), so it shares that op's kernels on every
    /// backend and its gradients in input, weight and bias.
    /// </summary>
    /// <param name="input">[N, C, L], or [C, L] for one unbatched sequence.</param>
    /// <param name="weight">[O, C/groups, K].</param>
    /// <param name="bias">[O], added to every output position; optional.</param>
    /// <param name="stride">Step between output positions (≥ 1).</param>
    /// <param name="padding">Zeros added at both ends (≥ 0).</param>
    /// <param name="dilation">Spacing between kernel taps (≥ 1).</param>
    /// <param name="groups">Channel groups: each output channel sees only C/groups input channels.</param>
    /// <returns>[N, O, OL] (or [O, OL]) with OL = (L + 2·padding − dilation·(K − 1) − 1) / stride + 1.</returns>
    /// <exception cref="ArgumentException">Shapes, dtypes or parameters do not fit together; the message names the shapes.</exception>
    public static Tensor Conv1d(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int dilation = 1, int groups = 1)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        if (input.Dim is not (2 or 3))
            throw new ArgumentException($"Conv1d: expected a 2-d [C, L] or 3-d [N, C, L] input, got {input.Shape}.");
        if (weight.Dim != 3)
            throw new ArgumentException($"Conv1d: expected a 3-d weight [out, in/groups, k], got {weight.Shape}.");
        if (stride < 1) throw new ArgumentException($"Conv1d: stride must be positive, got {stride}.");
        if (padding < 0) throw new ArgumentException($"Conv1d: padding must be non-negative, got {padding}.");
        if (dilation < 1) throw new ArgumentException($"Conv1d: dilation must be positive, got {dilation}.");
        if (groups < 1) throw new ArgumentException($"Conv1d: groups must be at least 1, got {groups}.");
        long c = input.Shape[-2], length = input.Shape[-1];
        if (weight.Shape[0] % groups != 0 || c != weight.Shape[1] * groups)
            throw new ArgumentException($"Conv1d: input {input.Shape} and weight {weight.Shape} do not fit with groups {groups} (input channels must be weight.Shape[1]·groups and output channels a multiple of groups).");
        long span = dilation * (weight.Shape[2] - 1) + 1;
        if (weight.Shape[2] < 1 || span > length + 2L * padding)
            throw new ArgumentException($"Conv1d: kernel {span} (dilated) of weight {weight.Shape} is longer than the padded input {length + 2L * padding} of input {input.Shape}.");
        int heightDim = input.Dim - 1;
        var y = Conv2d(input.Unsqueeze(heightDim), weight.Unsqueeze(2), bias, (1, stride), (0, padding), (1, dilation), groups);
        return y.Squeeze(heightDim);
    }
}

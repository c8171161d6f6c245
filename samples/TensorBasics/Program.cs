// TensorBasics: a tour of NeuralCore's Tensor API, ending with a tiny model trained by autograd.
using NeuralCore;

// 1. Seed every random draw, so this program prints the same numbers each run.
Rng.ManualSeed(42);

// 2. Tensors, broadcasting and operators (api.md, "Tensor basics").
var a = Tensor.Randn(2, 3);                      // float32, CPU
var b = Tensor.FromArray(new float[] { 1, 2, 3 }, 3);
var c = (a * b + 1f).Relu().Sum();               // broadcasting; operators + - * / and unary -
Console.WriteLine($"a = {a}");
Console.WriteLine($"sum(relu(a * b + 1)) = {c.Item<float>():F4}");

// 3. Autograd: gradients of a scalar with respect to a leaf.
var w = Tensor.Zeros(3, 4).RequiresGrad_();
var y = a.MatMul(w).Tanh().Mean();
y.Backward();                                    // w.Grad now holds dy/dw
float[] values = w.Grad!.ToArray<float>();
Console.WriteLine($"dy/dw[0, 0..4] = {string.Join(", ", values[..4].Select(v => v.ToString("F4")))}");

// 4. Views share storage; Contiguous copies only when needed.
var t = a.Transpose(0, 1).Contiguous();
var d = Tensor.Arange(10).Reshape(2, 5).To(DType.Float64);
Console.WriteLine($"transposed shape {t.Shape}, d = {d}");
Console.WriteLine($"d[1.., 2..4] = {d[1.., 2..4]}");

// 5. Fit y = 3x − 2 with plain gradient descent on a linear model.
var x = Tensor.Linspace(-1, 1, 64).Unsqueeze(1);
var target = x * 3 - 2 + Tensor.Randn(64, 1) * 0.05f;
var weight = Tensor.Zeros(1, 1).RequiresGrad_();
var bias = Tensor.Zeros(1).RequiresGrad_();
for (int step = 0; step < 200; step++)
{
    var loss = (x.MatMul(weight) + bias - target).Square().Mean();
    weight.Grad = null;
    bias.Grad = null;
    loss.Backward();
    using (Tensor.NoGrad())
    {
        weight.Sub_(weight.Grad! * 0.5);
        bias.Sub_(bias.Grad! * 0.5);
    }
    if (step % 50 == 0 || step == 199) Console.WriteLine($"step {step,3}: loss {loss.Item<float>():F5}");
}
Console.WriteLine($"learned w = {weight.Item<float>():F3}, b = {bias.Item<float>():F3} (true 3, -2)");

using NeuralCore.Nn;
using NeuralCore.Optim;

namespace NeuralCore.Testing;

public abstract partial class BackendConformance
{
    static readonly Tolerance Float32Layers = new(Atol: 2e-5, Rtol: 2e-4);
    static readonly Tolerance Float64Layers = new(Atol: 1e-10, Rtol: 1e-9);

    /// <summary>
    /// Layer, loss and optimizer checks: every layer kind (Linear, Conv1d, Conv2d and ConvTranspose2d with stride, padding, dilation and groups, Upsample, RNN, LSTM, GRU,
    /// max/average/adaptive pooling, BatchNorm in training and evaluation, LayerNorm), every loss, and a few steps of
    /// every optimizer. Each compares outputs, input and parameter gradients (or updated parameters) with the CPU.
    /// Sizes are small so that slow devices (a simulator) can run them all.
    /// </summary>
    public static IReadOnlyList<ConformanceCase> ModuleCases { get; } = BuildModuleCases();

    /// <summary>Runs one <see cref="ConformanceCase"/> on the reference and on <see cref="Device"/>; returns what differs.</summary>
    public IEnumerable<string> RunCase(ConformanceCase testCase)
    {
        ArgumentNullException.ThrowIfNull(testCase);
        IReadOnlyList<(string Label, Tensor Value)> expected, actual;
        try { expected = testCase.Run(Reference); }
        catch (Exception e) { return [$"{testCase.Name}: the reference backend threw {e.GetType().Name}: {e.Message}"]; }
        try { actual = testCase.Run(Device); }
        catch (Exception e) { return [$"{testCase.Name}: {Device} threw {e.GetType().Name}: {e.Message}"]; }
        var failures = new List<string>();
        if (actual.Count != expected.Count)
        {
            failures.Add($"{testCase.Name}: {actual.Count} results on {Device}, {expected.Count} on {Reference}");
            return failures;
        }
        for (int i = 0; i < expected.Count; i++)
        {
            var (label, value) = actual[i];
            if (!value.Device.Equals(Device)) failures.Add($"{testCase.Name}/{label}: the result is on {value.Device}, expected {Device}");
            else if (ResultCheck.Mismatch(value, expected[i].Value, testCase.Tolerance) is { } m) failures.Add($"{testCase.Name}/{label}: {m}");
        }
        return failures;
    }

    /// <summary>
    /// Trains a small convolutional classifier on <see cref="Device"/> for <paramref name="steps"/> SGD-momentum steps on a
    /// generated, learnable two-class image task; returns failures when the loss does not fall below a third of its
    /// first value, becomes non-finite, or the final accuracy on the training batch is under 90 %.
    /// </summary>
    public IEnumerable<string> RunTraining(int steps = 40)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        var (images, labels) = TwoClassImages(count: 32, size: 8, seed: 7);
        var net = new Sequential(new Conv2d(1, 4, 3, padding: 1), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(4 * 4 * 4, 2));
        Reinitialise(net, seed: 11);
        net.To(Device);
        var x = images.To(Device);
        var y = labels.To(Device);
        var optimizer = new Sgd(net.Parameters(), lr: 0.05, momentum: 0.9);
        double first = double.NaN, last = double.NaN;
        for (int step = 0; step < steps; step++)
        {
            optimizer.ZeroGrad();
            var loss = Functional.CrossEntropy(net.Forward(x), y);
            loss.Backward();
            optimizer.Step();
            last = loss.Item<float>();
            if (step == 0) first = last;
            if (!double.IsFinite(last)) return [$"training: the loss became {last} at step {step} on {Device}"];
        }
        var failures = new List<string>();
        if (!(last < first / 3)) failures.Add($"training: the loss went from {first:G4} to {last:G4} in {steps} steps on {Device} (expected below a third)");
        using (Tensor.NoGrad())
        {
            long correct = net.Forward(x).ArgMax(dim: 1).Eq(y).Sum().Item<long>();
            if (correct < 0.9 * labels.NumElements)
                failures.Add($"training: {correct} of {labels.NumElements} training images classified correctly on {Device} (expected at least 90 %)");
        }
        return failures;
    }

    // Images whose class decides which half is brighter, plus noise.
    static (Tensor Images, Tensor Labels) TwoClassImages(int count, int size, long seed)
    {
        var generator = new Generator(seed);
        var noise = Tensor.Randn([count, 1, size, size], DType.Float32, generator).Mul(0.3);
        var labels = Tensor.RandInt(0, 2, [count], generator);
        var rows = Tensor.Arange(0, size, 1, DType.Float32).Reshape(1, 1, size, 1);
        var topHalf = rows.Lt(size / 2.0).To(DType.Float32);
        var sign = labels.To(DType.Float32).Mul(2).Sub(1).Reshape(count, 1, 1, 1);
        return (noise.Add(topHalf.Sub(0.5).Mul(sign)), labels);
    }

    // Overwrites every parameter with seeded values so that two builds of a module hold the same numbers without touching
    // the process-wide generator (other code may draw from it concurrently).
    static void Reinitialise(Module module, long seed, double scale = 0.3)
    {
        using (Tensor.NoGrad())
        {
            int i = 0;
            foreach (var p in module.Parameters())
                p.Copy_(Tensor.Randn(p.Shape.ToArray(), p.DType, new Generator(seed * 1000 + i++)).Mul(scale));
        }
    }

    static Tensor Seeded(long seed, DType dtype, params long[] shape) => Tensor.Randn(shape, dtype, new Generator(seed));

    // Forward and backward of a module on one input: output, input gradient, then every parameter gradient and buffer.
    static ConformanceCase ModuleCase(string name, Func<Module> build, long[] inputShape, DType dtype = DType.Float32, bool eval = false,
        Action<Module>? prepare = null) =>
        new(name, device =>
        {
            var module = build();
            if (dtype != DType.Float32) module.To(dtype);
            Reinitialise(module, seed: name.Length);
            module.To(device);
            prepare?.Invoke(module);
            if (eval) module.Eval();
            var x = Seeded(inputShape.Length, dtype, inputShape).To(device).RequiresGrad_();
            var y = module.Forward(x);
            y.Mul(OutputWeights(y)).Sum().Backward();
            var results = new List<(string, Tensor)> { ("output", y.Detach()), ("input.grad", x.Grad!) };
            foreach (var (pname, p) in module.NamedParameters())
                results.Add(($"{pname}.grad", p.Grad ?? throw new InvalidOperationException($"{pname} got no gradient")));
            foreach (var (bname, b) in module.NamedBuffers()) results.Add((bname, b));
            return results;
        }, dtype == DType.Float64 ? Float64Layers : Float32Layers);

    // Inference of a module under NoGrad (the paths that skip what only a backward needs): the output only.
    static ConformanceCase InferenceCase(string name, Func<Module> build, long[] inputShape, DType dtype = DType.Float32) =>
        new(name, device =>
        {
            var module = build();
            if (dtype != DType.Float32) module.To(dtype);
            Reinitialise(module, seed: name.Length);
            module.To(device);
            module.Eval();
            var x = Seeded(inputShape.Length, dtype, inputShape);
            // A NaN and a tie in the first plane, where pooling windows pick them up.
            x[0, 0, 1, 1].Fill_(double.NaN);
            x[0, 0, 2, 2].Fill_(0.5);
            x[0, 0, 2, 3].Fill_(0.5);
            using (Tensor.NoGrad()) return [("output", module.Forward(x.To(device)))];
        }, dtype == DType.Float64 ? Float64Layers : Float32Layers);

    // A loss on seeded inputs: the value and the input's gradient.
    static ConformanceCase LossCase(string name, Func<Tensor, Tensor, Tensor> loss, long[] shape, Func<Device, Tensor> target) =>
        new($"loss/{name}", device =>
        {
            var x = Seeded(5, DType.Float32, shape).To(device).RequiresGrad_();
            var value = loss(x, target(device));
            value.Backward();
            return [("value", value.Detach()), ("input.grad", x.Grad!)];
        }, Float32Layers);

    // Three optimizer steps on a small regression; the parameters after each step.
    static ConformanceCase OptimizerCase(string name, Func<IEnumerable<Tensor>, Optimizer> create) =>
        new($"optimizer/{name}", device =>
        {
            var model = new Linear(5, 3);
            Reinitialise(model, seed: 3);
            model.To(device);
            var x = Seeded(1, DType.Float32, 8, 5).To(device);
            var target = Seeded(2, DType.Float32, 8, 3).To(device);
            var optimizer = create(model.Parameters());
            var results = new List<(string, Tensor)>();
            for (int step = 0; step < 3; step++)
            {
                optimizer.ZeroGrad();
                Functional.Mse(model.Forward(x), target).Backward();
                optimizer.Step();
                foreach (var (pname, p) in model.NamedParameters()) results.Add(($"step{step}.{pname}", p.Detach().Clone()));
            }
            return results;
        }, Float32Layers);

    static IReadOnlyList<ConformanceCase> BuildModuleCases()
    {
        Tensor Classes(Device d, long n, long c, long seed) => Tensor.RandInt(0, c, [n], new Generator(seed)).To(d);
        Tensor Probabilities(Device d, params long[] shape) => Tensor.Rand(shape, DType.Float32, new Generator(9)).To(d);
        Tensor Targets(Device d, params long[] classes) => Tensor.FromArray(classes, classes.Length).To(d);
        Tensor SampleWeights(Device d) => Tensor.Arange(1, 7, 1, DType.Float32).To(d);
        return
        [
            ModuleCase("linear", () => new Linear(6, 4), [3, 6]),
            ModuleCase("linear/no-bias", () => new Linear(6, 4, bias: false), [2, 3, 6]),
            ModuleCase("conv2d/padding1", () => new Conv2d(3, 4, 3, padding: 1), [2, 3, 6, 6]),
            ModuleCase("conv2d/stride2-dilation2", () => new Conv2d(2, 3, 3, stride: 2, padding: 2, dilation: 2), [1, 2, 7, 7]),
            ModuleCase("conv2d/groups2-no-bias", () => new Conv2d(4, 4, 3, groups: 2, bias: false), [2, 4, 5, 5]),
            ModuleCase("conv2d/rectangular", () => new Conv2d(2, 2, (1, 3), stride: (2, 1), padding: (1, 0)), [1, 2, 5, 6]),
            ModuleCase("conv2d/float64", () => new Conv2d(2, 2, 2), [1, 2, 4, 4], DType.Float64),
            ModuleCase("convtranspose2d/stride2-outpad1-groups2", () => new ConvTranspose2d(4, 6, 3, stride: 2, padding: 1, outputPadding: 1, groups: 2), [2, 4, 3, 3]),
            ModuleCase("convtranspose2d/rectangular-dilation-float64",
                () => new ConvTranspose2d(2, 3, (2, 3), (1, 2), (0, 1), (0, 1), dilation: (2, 1)), [1, 2, 4, 3], DType.Float64),
            ModuleCase("upsample/nearest-scale2", () => new Upsample(2), [1, 2, 3, 3]),
            ModuleCase("upsample/bilinear-size", () => new Upsample(size: (5, 7), mode: "bilinear"), [2, 3, 3, 4]),
            ModuleCase("upsample/bilinear-aligned-float64", () => new Upsample(size: (4, 2), mode: "bilinear", alignCorners: true), [1, 2, 3, 5], DType.Float64),
            ModuleCase("maxpool2d/k2s2", () => new MaxPool2d(2), [2, 3, 6, 6]),
            ModuleCase("maxpool2d/k3s2p1-ceil", () => new MaxPool2d(3, 2, padding: 1, ceilMode: true), [1, 2, 7, 7]),
            InferenceCase("maxpool2d/no-grad", () => new MaxPool2d(3, 2, padding: 1, ceilMode: true), [2, 3, 7, 7]),
            InferenceCase("inference/conv-relu-pool", () => new Sequential(new Conv2d(2, 3, 3, padding: 1), new ReLU(), new MaxPool2d(2)), [2, 2, 6, 6]),
            InferenceCase("inference/conv-pool-float64", () => new Sequential(new Conv2d(2, 3, 2, stride: 2), new MaxPool2d(2, 1)), [1, 2, 8, 8], DType.Float64),
            ModuleCase("avgpool2d/k3s2p1", () => new AvgPool2d(3, 2, padding: 1), [1, 2, 7, 7]),
            ModuleCase("avgpool2d/exclude-pad-ceil", () => new AvgPool2d(3, 2, padding: 1, countIncludePad: false, ceilMode: true), [1, 2, 6, 6]),
            ModuleCase("adaptiveavgpool2d/3", () => new AdaptiveAvgPool2d(3), [1, 2, 7, 7]),
            ModuleCase("batchnorm2d/train", () => new BatchNorm2d(3), [4, 3, 3, 3]),
            ModuleCase("batchnorm2d/eval", () => new BatchNorm2d(3), [4, 3, 3, 3], eval: true, prepare: TrainOnce),
            ModuleCase("batchnorm1d/train", () => new BatchNorm1d(5), [6, 5]),
            ModuleCase("layernorm", () => new LayerNorm(5), [3, 5]),
            ModuleCase("conv1d/stride2-dilation2-groups2", () => new Conv1d(4, 4, 3, stride: 2, padding: 2, dilation: 2, groups: 2), [2, 4, 9]),
            ModuleCase("conv1d/float64", () => new Conv1d(2, 3, 2, padding: 1), [2, 2, 5], DType.Float64),
            ModuleCase("lstm/2-layer-bidirectional", () => new LSTM(3, 4, numLayers: 2, bidirectional: true), [5, 2, 3]),
            ModuleCase("gru/batch-first", () => new GRU(3, 4, batchFirst: true), [2, 5, 3]),
            ModuleCase("rnn/relu-2-layer", () => new RNN(3, 4, numLayers: 2, nonlinearity: "relu"), [5, 2, 3]),
            ModuleCase("lstmcell", () => new LSTMCell(3, 4), [2, 3]),
            ModuleCase("activations", () => new Sequential(new Linear(4, 6), new GELU(), new Linear(6, 6), new Tanh(), new Linear(6, 4), new Softplus()), [3, 4]),
            LossCase("cross-entropy", (x, t) => Functional.CrossEntropy(x, t), [6, 5], d => Classes(d, 6, 5, 1)),
            LossCase("cross-entropy/ignore-index", (x, t) => Functional.CrossEntropy(x, t, ignoreIndex: 2), [6, 5], d => Targets(d, 2, 0, 4, 2, 1, 3)),
            LossCase("cross-entropy/all-ignored-mean", (x, t) => Functional.CrossEntropy(x, t), [6, 5], d => Targets(d, -100, -100, -100, -100, -100, -100)),
            LossCase("cross-entropy/sum-int32", (x, t) => Functional.CrossEntropy(x, t, Reduction.Sum, ignoreIndex: 4), [6, 5], d => Targets(d, 4, 0, 1, 3, 4, 2).To(DType.Int32)),
            LossCase("cross-entropy/per-sample", (x, t) => Functional.CrossEntropy(x, t, Reduction.None).Mul(SampleWeights(x.Device)).Sum(), [6, 5], d => Classes(d, 6, 5, 4)),
            LossCase("cross-entropy/smoothing-ignore", (x, t) => Functional.CrossEntropy(x, t, labelSmoothing: 0.1, ignoreIndex: 2), [6, 5], d => Classes(d, 6, 5, 2)),
            LossCase("cross-entropy/probabilities", (x, t) => Functional.CrossEntropy(x, t), [4, 3], d => Probabilities(d, 4, 3).Softmax(1)),
            LossCase("nll", (x, t) => Functional.NllLoss(x.LogSoftmax(1), t, Reduction.Sum), [6, 5], d => Classes(d, 6, 5, 3)),
            LossCase("mse", (x, t) => Functional.Mse(x, t), [4, 3], d => Seeded(8, DType.Float32, 4, 3).To(d)),
            LossCase("l1", (x, t) => Functional.L1Loss(x, t), [4, 3], d => Seeded(8, DType.Float32, 4, 3).To(d)),
            LossCase("huber", (x, t) => Functional.HuberLoss(x, t, delta: 0.5), [4, 3], d => Seeded(8, DType.Float32, 4, 3).To(d)),
            LossCase("smooth-l1", (x, t) => Functional.SmoothL1Loss(x, t, beta: 0.5), [4, 3], d => Seeded(8, DType.Float32, 4, 3).To(d)),
            LossCase("bce", (x, t) => Functional.BinaryCrossEntropy(x.Sigmoid(), t), [4, 3], d => Probabilities(d, 4, 3)),
            LossCase("bce-with-logits", (x, t) => Functional.BinaryCrossEntropyWithLogits(x, t), [4, 3], d => Probabilities(d, 4, 3)),
            LossCase("kl-div", (x, t) => Functional.KlDiv(x.LogSoftmax(1), t, Reduction.Sum), [4, 3], d => Probabilities(d, 4, 3).Softmax(1)),
            OptimizerCase("sgd", p => new Sgd(p, lr: 0.1)),
            OptimizerCase("sgd-momentum-nesterov", p => new Sgd(p, lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-2)),
            OptimizerCase("adam", p => new Adam(p, lr: 0.05)),
            OptimizerCase("adam-amsgrad", p => new Adam(p, lr: 0.05, weightDecay: 1e-2, amsgrad: true)),
            OptimizerCase("sgd-dampening-maximize-penalties", p => new Sgd([new ParamGroup(p) { L1 = 1e-2, L2 = 1e-2 }], lr: 0.05, momentum: 0.8, dampening: 0.3, maximize: true)),
            OptimizerCase("adamw", p => new AdamW(p, lr: 0.05)),
            OptimizerCase("adamw-amsgrad-penalties", p => new AdamW([new ParamGroup(p) { L1 = 1e-2, L2 = 1e-2 }], lr: 0.05, amsgrad: true)),
            OptimizerCase("rmsprop", p => new RMSprop(p, lr: 0.01, momentum: 0.5, centered: true)),
        ];
    }

    // One training-mode forward so that running statistics are not at their initial values before evaluation.
    static void TrainOnce(Module module)
    {
        var device = module.Parameters().First().Device;
        using (Tensor.NoGrad()) module.Forward(Seeded(42, DType.Float32, 4, 3, 3, 3).To(device));
    }
}

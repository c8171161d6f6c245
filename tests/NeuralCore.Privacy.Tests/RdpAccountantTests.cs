using NeuralCore.Privacy.Accounting;

namespace NeuralCore.Privacy.Tests;

public class RdpAccountantTests
{
    // Independent values: A_α integrated numerically at 40 digits with mpmath (Reference/rdp_reference.py), no series.
    public static TheoryData<double, double, double, double> Integrated => new()
    {
        { 0.01, 1.0, 2, 0.00017181342207454794 },
        { 0.01, 1.0, 2.5, 0.00021757533228188046 },
        { 0.01, 1.0, 10, 0.038270418894948476 },
        { 0.01, 1.0, 10.7, 0.28400662376592541 },
        { 0.05, 2.0, 32, 0.91636960956157452 },
        { 0.05, 2.0, 4.3, 0.0015795223362458914 },
        { 256 / 60000.0, 1.1, 1.5, 1.7479784462924327e-5 },
        { 256 / 60000.0, 1.1, 20, 2.5203712113391699 },
        { 0.1, 0.8, 3.3, 0.13321645258647998 },
        { 0.1, 0.8, 7, 2.7832989402798736 },
    };

    [Theory]
    [MemberData(nameof(Integrated))]
    public void One_step_rdp_matches_numerical_integration(double q, double sigma, double order, double expected)
    {
        double got = RdpAccountant.ComputeRdp(sigma, q, 1, [order])[0];
        Assert.Equal(expected, got, expected * 1e-8);
    }

    [Fact]
    public void Rdp_matches_the_tensorflow_privacy_test_values()
    {
        // dp_accounting's rdp_privacy_accountant_test, test_compute_rdp_poisson_sampled_gaussian: q = 0.01, sigma = 2.5,
        // 50 steps, checked there with rtol 1e-4.
        double[] orders = [1.5, 2.5, 5, 50, 100];
        double[] expected = [6.5007e-04, 1.0854e-03, 2.1808e-03, 2.3846e-02, 1.6742e+02];
        var rdp = RdpAccountant.ComputeRdp(2.5, 0.01, 50, orders);
        for (int i = 0; i < orders.Length; i++) Assert.Equal(expected[i], rdp[i], expected[i] * 1e-4);
    }

    [Fact]
    public void Improved_conversion_matches_the_tensorflow_privacy_hand_computed_value()
    {
        // dp_accounting's test_compute_epsilon_delta_pure_dp: constant RDP 1.1 over orders 2..32 at delta 1e-5.
        var orders = Enumerable.Range(2, 31).Select(o => (double)o).ToArray();
        var (eps, order) = RdpAccountant.EpsilonFromRdp(orders, orders.Select(_ => 1.1).ToArray(), 1e-5);
        Assert.Equal(1.32783806176, eps, 1e-9);
        Assert.Equal(32, order);
    }

    // TensorFlow Privacy tutorials/README.md (MNIST, N = 60000, batch 256, delta 1e-5), computed by its
    // compute_dp_sgd_privacy with the orders 1.1..10.9, 12..63 and the conversion of that time (Classic); it uses
    // ceil(epochs * N / batch) steps.
    [Theory]
    [InlineData(1.1, 60, 3.01)]
    [InlineData(1.3, 15, 1.19)]
    [InlineData(0.7, 45, 7.10)]
    [InlineData(1.1, 1, 1.03)]
    [InlineData(1.1, 2, 1.11)]
    public void Epsilon_matches_the_tensorflow_privacy_mnist_tutorial(double sigma, int epochs, double published)
    {
        var accountant = new RdpAccountant();
        accountant.Step(sigma, 256 / 60000.0, (long)Math.Ceiling(epochs * 60000 / 256.0));
        double eps = accountant.GetEpsilon(1e-5, RdpConversion.Classic);
        Assert.InRange(eps, published * 0.99, published * 1.01);
        // The improved conversion is never worse.
        Assert.True(accountant.GetEpsilon(1e-5) <= eps);
    }

    [Fact]
    public void Steps_compose_additively_and_merge_in_history()
    {
        var a = new RdpAccountant();
        a.Step(1.0, 0.01, 100);
        a.Step(1.0, 0.01, 50);
        a.Step(2.0, 0.02, 10);
        Assert.Equal(2, a.History.Count);
        Assert.Equal(150, a.History[0].Steps);
        Assert.Equal(160, a.TotalSteps);
        var r1 = RdpAccountant.ComputeRdp(1.0, 0.01, 150, a.Orders);
        var r2 = RdpAccountant.ComputeRdp(2.0, 0.02, 10, a.Orders);
        for (int i = 0; i < r1.Length; i++) Assert.Equal(r1[i] + r2[i], a.Rdp[i], 1e-12 * (1 + a.Rdp[i]));
        Assert.Equal(0, new RdpAccountant().GetEpsilon(1e-5));
    }

    [Fact]
    public void Full_batch_gaussian_has_the_closed_form_rdp()
    {
        var rdp = RdpAccountant.ComputeRdp(2.0, 1.0, 3, [2.0, 7.5]);
        Assert.Equal(3 * 2.0 / 8, rdp[0], 1e-12);
        Assert.Equal(3 * 7.5 / 8, rdp[1], 1e-12);
    }

    [Fact]
    public void Calibrate_finds_the_smallest_sigma_reaching_the_target()
    {
        double q = 512 / 60000.0;
        long steps = 20 * 60000 / 512;
        double sigma = RdpAccountant.Calibrate(3.0, 1e-5, q, steps);
        var at = new RdpAccountant();
        at.Step(sigma, q, steps);
        Assert.InRange(at.GetEpsilon(1e-5), 2.99, 3.0);
        var below = new RdpAccountant();
        below.Step(sigma * 0.999, q, steps);
        Assert.True(below.GetEpsilon(1e-5) > 3.0);
    }

    [Fact]
    public void Bad_arguments_are_refused_with_a_clear_message()
    {
        var a = new RdpAccountant();
        Assert.Throws<ArgumentOutOfRangeException>(() => a.Step(-1, 0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => a.Step(1, 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => a.Step(1, double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => a.GetEpsilon(0));
        var e = Assert.Throws<ArgumentException>(() => new RdpAccountant([0.5]));
        Assert.Contains("above 1", e.Message);
        Assert.Throws<ArgumentException>(() => RdpAccountant.Calibrate(1e-6, 1e-5, 0.5, 100_000));
    }

    [Theory]
    [InlineData(-3.0)]
    [InlineData(-0.5)]
    [InlineData(0.0)]
    [InlineData(0.3)]
    [InlineData(1.9)]
    [InlineData(2.1)]
    [InlineData(6.0)]
    public void Erfc_is_accurate(double x)
    {
        // Reference values from mpmath.erfc at 30 digits.
        var reference = new Dictionary<double, double>
        {
            [-3.0] = 1.9999779095030014, [-0.5] = 1.5204998778130465, [0.0] = 1.0, [0.3] = 0.67137324054087258,
            [1.9] = 0.0072095707647425328, [2.1] = 0.0029794666563329843, [6.0] = 2.1519736712498913e-17,
        };
        Assert.Equal(reference[x], RdpMath.Erfc(x), reference[x] * 1e-13);
    }
}

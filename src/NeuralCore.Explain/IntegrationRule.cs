namespace NeuralCore.Explain;

/// <summary>How <see cref="IntegratedGradients"/> approximates the path integral over α ∈ [0, 1].</summary>
public enum IntegrationRule
{
    /// <summary>The trapezoid rule on <c>steps</c> equal intervals (steps + 1 gradient evaluations).</summary>
    Trapezoid,

    /// <summary>Gauss–Legendre quadrature with <c>steps</c> nodes (exact for polynomials of degree 2·steps − 1).</summary>
    GaussLegendre,
}

using NeuralCore.Data;

namespace NeuralCore.Vision;

/// <summary>
/// Image transforms for datasets, as torchvision.transforms. Every transform takes a [C, H, W] tensor of any
/// numeric dtype (datasets yield UInt8; <see cref="ToTensor"/> makes Float32 in [0, 1]), so they may stand in
/// any order in <see cref="Compose"/>. Inputs are never modified. Random transforms draw from
/// <see cref="TransformContext.Generator"/>: under a <see cref="DataLoader"/> that is a per-item generator
/// derived from the loader's seed, so augmentation is reproducible; elsewhere it is <see cref="Rng.Default"/>.
/// </summary>
public static class Transforms
{
    /// <summary>Applies <paramref name="transforms"/> in order.</summary>
    /// <param name="transforms">The transforms, first applied first.</param>
    /// <returns>The composed transform.</returns>
    public static ITransform Compose(params ITransform[] transforms) => new ComposeTransform(transforms);

    /// <summary>UInt8 images (0..255) to Float32 in [0, 1]; floating images pass through as Float32; [H, W] gains a channel.</summary>
    /// <returns>The transform.</returns>
    public static ITransform ToTensor() => new ToTensorTransform();

    /// <summary>
    /// Per-channel <c>(x − mean[c]) / std[c]</c>. A UInt8 input is scaled to [0, 1] first (as <see cref="ToTensor"/>).
    /// </summary>
    /// <param name="mean">The mean of each channel.</param>
    /// <param name="std">The standard deviation of each channel; finite and non-zero.</param>
    /// <returns>The transform.</returns>
    /// <exception cref="ArgumentException">The lengths differ or are zero, or a value is not finite, or a std is 0.</exception>
    public static ITransform Normalize(float[] mean, float[] std) => new NormalizeTransform(mean, std);

    /// <summary>
    /// Pads each border by <paramref name="padding"/> pixels and cuts a <paramref name="size"/> × <paramref name="size"/>
    /// window at a uniformly random position.
    /// </summary>
    /// <param name="size">The side of the output square.</param>
    /// <param name="padding">Pixels added on every side before cropping.</param>
    /// <param name="paddingMode">"constant" (<paramref name="fill"/>), "edge" (repeat the border pixel) or
    /// "reflect" (mirror without repeating the border pixel).</param>
    /// <param name="fill">The constant padding value, in the image's own units (0..255 for UInt8).</param>
    /// <returns>The transform.</returns>
    /// <exception cref="ArgumentException">The padding mode is unknown.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is out of range or the fill is not finite.</exception>
    public static ITransform RandomCrop(int size, int padding = 0, string paddingMode = "constant", double fill = 0) =>
        new RandomCropTransform(size, padding, paddingMode, fill);

    /// <summary>Mirrors the image left-to-right with probability <paramref name="p"/>.</summary>
    /// <param name="p">The flip probability, in [0, 1].</param>
    /// <returns>The transform.</returns>
    public static ITransform RandomHorizontalFlip(double p = 0.5) => new RandomHorizontalFlipTransform(p);

    /// <summary>Cuts the central <paramref name="size"/> × <paramref name="size"/> window (zero-padded if the image is smaller).</summary>
    /// <param name="size">The side of the output square.</param>
    /// <returns>The transform.</returns>
    public static ITransform CenterCrop(int size) => new CenterCropTransform(size);

    /// <summary>
    /// With probability <paramref name="p"/>, sets a random rectangle (all channels) to <paramref name="value"/>.
    /// The rectangle covers a uniform fraction in <paramref name="scale"/> of the image, with an aspect ratio
    /// log-uniform in <paramref name="ratio"/>; if 10 tries do not fit, the image is returned unchanged.
    /// </summary>
    /// <param name="p">The probability of erasing, in [0, 1].</param>
    /// <param name="scale">Range of the erased fraction of the area; default (0.02, 0.33).</param>
    /// <param name="ratio">Range of the rectangle's height/width ratio; default (0.3, 3.3).</param>
    /// <param name="value">The fill value, in the image's own units.</param>
    /// <returns>The transform.</returns>
    public static ITransform RandomErasing(double p = 0.5, (double Low, double High)? scale = null,
        (double Low, double High)? ratio = null, double value = 0) =>
        new RandomErasingTransform(p, scale ?? (0.02, 0.33), ratio ?? (0.3, 3.3), value);

    /// <summary>
    /// Resizes to <paramref name="height"/> × <paramref name="width"/> (torchvision's Resize with antialias off).
    /// Integer images are rounded back to their type; floating images keep their dtype.
    /// </summary>
    /// <param name="height">The output height.</param>
    /// <param name="width">The output width.</param>
    /// <param name="interpolation">"bilinear" (as <c>interpolate(mode="bilinear", align_corners=False)</c>) or "nearest".</param>
    /// <returns>The transform.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A size is below 1.</exception>
    /// <exception cref="ArgumentException">The interpolation is unknown.</exception>
    public static ITransform Resize(int height, int width, string interpolation = "bilinear") =>
        new ResizeTransform(height, width, interpolation);

    /// <summary>
    /// Scales the image so that its shorter side becomes <paramref name="size"/>, keeping the aspect ratio; the
    /// longer side is <c>floor(size · long / short)</c>, as torchvision.
    /// </summary>
    /// <param name="size">The length of the shorter output side.</param>
    /// <param name="interpolation">"bilinear" or "nearest".</param>
    /// <returns>The transform.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is below 1.</exception>
    /// <exception cref="ArgumentException">The interpolation is unknown.</exception>
    public static ITransform Resize(int size, string interpolation = "bilinear") => new ResizeTransform(size, interpolation);

    /// <summary>
    /// Randomly changes brightness, contrast, saturation and hue, in a random order per item (torchvision's
    /// ColorJitter). Brightness, contrast and saturation factors are uniform in [max(0, 1 − v), 1 + v]; the hue
    /// shift is uniform in [−<paramref name="hue"/>, <paramref name="hue"/>] turns of the HSV hue circle. 0 disables
    /// an adjustment. Floating images are taken to lie in [0, 1] and integer images in [0, 255]; results are clamped
    /// to that range. One-channel images get brightness and contrast only.
    /// </summary>
    /// <param name="brightness">Brightness spread; the image is multiplied by the factor.</param>
    /// <param name="contrast">Contrast spread; the image is blended with its mean gray level.</param>
    /// <param name="saturation">Saturation spread; each pixel is blended with its gray value.</param>
    /// <param name="hue">Hue spread, in [0, 0.5].</param>
    /// <returns>The transform.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A spread is negative or not finite, or hue exceeds 0.5.</exception>
    /// <exception cref="ArgumentException">Applied to an image that has neither 1 nor 3 channels.</exception>
    public static ITransform ColorJitter(double brightness = 0, double contrast = 0, double saturation = 0, double hue = 0) =>
        new ColorJitterTransform(brightness, contrast, saturation, hue);

    /// <summary>
    /// Rotates the image counter-clockwise about its centre by an angle uniform in [−<paramref name="degrees"/>,
    /// <paramref name="degrees"/>], keeping its size; pixels from outside the image take <paramref name="fill"/>.
    /// </summary>
    /// <param name="degrees">The largest rotation, in degrees; non-negative.</param>
    /// <param name="interpolation">"nearest" (torchvision's default) or "bilinear".</param>
    /// <param name="fill">The value of pixels from outside the image, in the image's own units.</param>
    /// <returns>The transform.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The degrees are negative or not finite, or the fill is not finite.</exception>
    /// <exception cref="ArgumentException">The interpolation is unknown.</exception>
    public static ITransform RandomRotation(double degrees, string interpolation = "nearest", double fill = 0)
    {
        if (!(degrees >= 0)) throw new ArgumentOutOfRangeException(nameof(degrees), degrees, "RandomRotation: degrees must be non-negative.");
        return new RandomRotationTransform(-degrees, degrees, interpolation, fill);
    }

    /// <summary>Rotates counter-clockwise by an angle uniform in [<paramref name="minDegrees"/>, <paramref name="maxDegrees"/>].</summary>
    /// <param name="minDegrees">The smallest angle, in degrees.</param>
    /// <param name="maxDegrees">The largest angle, in degrees; at least <paramref name="minDegrees"/>.</param>
    /// <param name="interpolation">"nearest" or "bilinear".</param>
    /// <param name="fill">The value of pixels from outside the image, in the image's own units.</param>
    /// <returns>The transform.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The range is empty or not finite, or the fill is not finite.</exception>
    /// <exception cref="ArgumentException">The interpolation is unknown.</exception>
    public static ITransform RandomRotation(double minDegrees, double maxDegrees, string interpolation = "nearest", double fill = 0) =>
        new RandomRotationTransform(minDegrees, maxDegrees, interpolation, fill);
}

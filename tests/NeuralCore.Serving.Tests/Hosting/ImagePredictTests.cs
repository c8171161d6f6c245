using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using NeuralCore.Nn;
using NeuralCore.Serving.Hosting;
using NeuralCore.Serving.Registry;
using NeuralCore.Vision;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace NeuralCore.Serving.Tests.Hosting;

/// <summary><c>:predict</c> with a PNG or JPEG body, on real Kestrel over a real SQLite registry.</summary>
public sealed class ImagePredictTests : IAsyncLifetime
{
    readonly RegistryBackend env = RegistryBackend.Create("sqlite");
    ModelRegistry registry = null!;
    LoopbackHost host = null!;

    HttpClient http => host.Http;

    public async Task InitializeAsync()
    {
        registry = env.Open();
        var model = new Sequential(new Flatten(), new Dense(784, 32, Activation.Relu), new Dense(32, 10));
        registry.Register("fashion", model, null, new RegisterOptions { InputShape = [-1, 1, 28, 28], ClassNames = [.. FashionMnist.ClassNames] });
        registry.Register("flat", model, null, new RegisterOptions { InputShape = [-1, 784] });
        registry.Register("tabular", new Sequential(new Dense(3, 2)), null, new RegisterOptions { InputShape = [-1, 3] });
        host = await LoopbackHost.StartAsync(registry, new ServingOptions { AllowAnonymousInference = true, MaxRequestBodyBytes = 64 << 10 });
    }

    public async Task DisposeAsync()
    {
        await host.DisposeAsync();
        registry.Dispose();
        env.Dispose();
    }

    async Task<(HttpStatusCode Status, string Body)> Post(string path, HttpContent content)
    {
        using var response = await http.PostAsync(path, content);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    static ByteArrayContent Image(byte[] bytes, string type)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(type);
        return content;
    }

    /// <summary>The Fashion-MNIST subset kept in the repository (samples/FashionMnist/data), found above the test's folder.</summary>
    internal static string SubsetDirectory()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        string Subset(DirectoryInfo d) => Path.Combine(d.FullName, "samples", "FashionMnist", "data", "fashion-mnist-subset");
        while (!Directory.Exists(Subset(directory))) directory = directory.Parent ?? throw new DirectoryNotFoundException("samples/FashionMnist/data not found above the test's folder.");
        return Subset(directory);
    }

    /// <summary>The first test images of the Fashion-MNIST subset in the repository, as bytes, row-major 28 × 28 each.</summary>
    internal static byte[][] TestImages(int count)
    {
        var test = new FashionMnist(SubsetDirectory(), train: false, download: false);
        return [.. Enumerable.Range(0, count).Select(i => test[i].Input.ToArray<float>().Select(p => (byte)MathF.Round(p * 255)).ToArray())];
    }

    internal static byte[] Png(byte[] pixels, int width, int height)
    {
        using var image = SixLabors.ImageSharp.Image.LoadPixelData<L8>(pixels, width, height);
        using var buffer = new MemoryStream();
        image.SaveAsPng(buffer);
        return buffer.ToArray();
    }

    [Theory]
    [InlineData("fashion")]
    [InlineData("flat")]
    public async Task Png_PredictsExactlyWhatTheJsonFormDoesForTheSamePixels(string name)
    {
        foreach (var pixels in TestImages(3))
        {
            var (status, fromImage) = await Post($"/v1/models/{name}:predict", Image(Png(pixels, 28, 28), "image/png"));
            Assert.True(status == HttpStatusCode.OK, fromImage);
            string instance = $"[{string.Join(",", pixels.Select(b => (b / 255f).ToString("R", System.Globalization.CultureInfo.InvariantCulture)))}]";
            var (jsonStatus, fromJson) = await Post($"/v1/models/{name}:predict", new StringContent(instance, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, jsonStatus);
            Assert.Equal(fromJson, fromImage);
            using var parsed = JsonDocument.Parse(fromImage);
            Assert.Single(parsed.RootElement.GetProperty("predictions").EnumerateArray());
        }
    }

    [Fact]
    public async Task LargerColourJpeg_IsMadeGrayAndResizedToTheInput()
    {
        using var image = new Image<Rgb24>(56, 84, new Rgb24(200, 40, 90));
        using var buffer = new MemoryStream();
        image.SaveAsJpeg(buffer);
        var (status, fromImage) = await Post("/v1/models/fashion:predict", Image(buffer.ToArray(), "image/jpeg"));
        Assert.True(status == HttpStatusCode.OK, fromImage);
        // The same steps done here: decode to 8-bit gray, bilinear resize to 28 x 28, pixel / 255, sent as JSON.
        using var gray = SixLabors.ImageSharp.Image.Load<L8>(buffer.ToArray());
        gray.Mutate(x => x.Resize(28, 28, KnownResamplers.Triangle));
        var values = new List<string>();
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++)
                values.Add((gray[x, y].PackedValue / 255f).ToString("R", System.Globalization.CultureInfo.InvariantCulture));
        Assert.InRange(gray[14, 14].PackedValue, 1, 254);
        var (jsonStatus, fromJson) = await Post("/v1/models/fashion:predict", new StringContent($"[{string.Join(",", values)}]", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, jsonStatus);
        Assert.Equal(fromJson, fromImage);
    }

    [Fact]
    public async Task BadImages_Get400NamingTheProblem_AndOversizedBodies413()
    {
        var (status, body) = await Post("/v1/models/fashion:predict", Image(Encoding.ASCII.GetBytes("not an image at all"), "image/png"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("not a PNG or JPEG image", body);

        var png = Png(new byte[28 * 28], 28, 28);
        (status, body) = await Post("/v1/models/fashion:predict", Image(png[..(png.Length / 2)], "image/png"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("not a readable PNG or JPEG image", body);

        (status, body) = await Post("/v1/models/tabular:predict", Image(png, "image/png"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("[-1, 3]", body);

        // 4097 x 4096 pixels compress to a few kilobytes; refused from the header, before decoding.
        using (var huge = new Image<L8>(4097, 4096))
        using (var buffer = new MemoryStream())
        {
            huge.SaveAsPng(buffer);
            (status, body) = await Post("/v1/models/fashion:predict", Image(buffer.ToArray(), "image/png"));
        }
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("4097x4096 pixels, more than 16777216", body);

        (status, body) = await Post("/v1/models/fashion:predict", Image(new byte[(64 << 10) + 1], "image/png"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
    }
}

using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using NeuralCore.Serving.Hosting;
using NeuralCore.Serving.Tests.Hosting;
using OpenQA.Selenium;
using OpenQA.Selenium.Interactions;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Xunit.Abstractions;

namespace NeuralCore.Serving.Tests.Browser;

/// <summary>The web console in headless chromium against a real host on loopback; screenshots go to <c>artifacts/console/</c>.</summary>
public sealed class ConsoleBrowserTests(ConsoleBrowserFixture fixture, ITestOutputHelper output) : IClassFixture<ConsoleBrowserFixture>
{
    const string Model = ConsoleBrowserFixture.Model;

    IWebDriver Driver => fixture.Driver!;

    void Saved(string name, int height = 1000) => output.WriteLine($"screenshot: {fixture.Screenshot(name, height)}");

    /// <summary>Fails listing them when the browser logged errors (or warnings) since the last read.</summary>
    void AssertNoConsoleErrors(string where)
    {
        var entries = fixture.BrowserLog();
        foreach (var e in entries) output.WriteLine($"{where}: {ConsoleBrowserFixture.Format(e)}");
        var bad = entries.Where(e => e.Level is OpenQA.Selenium.LogLevel.Severe or OpenQA.Selenium.LogLevel.Warning).Select(ConsoleBrowserFixture.Format).ToList();
        Assert.True(bad.Count == 0, $"The browser logged on the {where} page:\n{string.Join("\n", bad)}");
    }

    async Task<(HttpStatusCode Status, string Body)> Send(HttpMethod method, string path, string key, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Add(ServingAccess.ApiKeyHeader, key);
        using var response = await fixture.Host.Http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>What :predict answers the API client for these image bytes: the probabilities of the one instance, and the version served.</summary>
    async Task<(float[] Probabilities, string Version)> ApiPrediction(byte[] image, string type)
    {
        var content = new ByteArrayContent(image);
        content.Headers.ContentType = new MediaTypeHeaderValue(type);
        var (status, body) = await Send(HttpMethod.Post, $"/v1/models/{Model}:predict", fixture.AdminKey, content);
        Assert.True(status == HttpStatusCode.OK, body);
        var json = JsonDocument.Parse(body).RootElement;
        return ([.. json.GetProperty("predictions")[0].GetProperty("probabilities").EnumerateArray().Select(v => v.GetSingle())],
            json.GetProperty("model_version").GetString()!);
    }

    /// <summary>The bars the page drew: each class's probability as the page received it (parsed as the API client parses it).</summary>
    float[] PageProbabilities() =>
        [.. Driver.FindElements(By.CssSelector("#try-bars .bar")).Select(b => float.Parse(b.GetDomAttribute("data-probability")!, CultureInfo.InvariantCulture))];

    /// <summary>The bytes the page sent to the server (shown as a data: URL in the "sent" preview).</summary>
    byte[] SentImage(out string type)
    {
        string src = Driver.FindElement(By.Id("try-sent")).GetDomProperty("src")!;
        Assert.StartsWith("data:image/", src);
        int comma = src.IndexOf(',', StringComparison.Ordinal);
        type = src[5..src.IndexOf(';', StringComparison.Ordinal)];
        return Convert.FromBase64String(src[(comma + 1)..]);
    }

    [BrowserFact]
    public async Task Pages_LoadWithoutConsoleErrors_AndShowTheRegistry()
    {
        fixture.OpenSignedOut();
        Saved("signin");
        AssertNoConsoleErrors("sign-in");

        fixture.SignIn(fixture.AdminKey);
        Assert.Equal(Model, Driver.FindElement(By.Id("model-name")).Text);
        var rows = Driver.FindElements(By.CssSelector("#versions tbody tr"));
        Assert.Equal(2, rows.Count);
        Assert.Contains("production", rows[0].Text);
        Assert.Contains("stage=reviewed", rows[0].Text);
        Assert.Contains("staging", rows[1].Text);
        Assert.Contains("key:admin", Driver.FindElement(By.Id("caller")).Text);
        // The latest version's curves: 5 epochs of loss and val_loss, accuracy and val_accuracy, as stored.
        ConsoleBrowserFixture.Until(() => Driver.FindElements(By.CssSelector("#curves figure")).Count == 2, "the training curves");
        var curves = fixture.Registry.GetTrainingCurves(Model, 2);
        Assert.Equal(["accuracy", "loss", "val_accuracy", "val_loss"], curves.Keys.Order(StringComparer.Ordinal));
        foreach (var key in curves.Keys)
        {
            var path = Driver.FindElement(By.CssSelector($"#curves path[data-series='{key}']"));
            Assert.Equal(curves[key].Count, path.GetDomAttribute("d")!.Count(c => c is 'M' or 'L'));
        }
        // The version's training energy as the registry recorded it, and the serving line once the energy route answered.
        var trainingCost = fixture.Registry.GetVersion(Model, 2).TrainingCost!;
        var trainingLine = Driver.FindElement(By.Id("training-energy")).Text;
        Assert.StartsWith("Training: ", trainingLine);
        Assert.Contains(trainingCost.Method, trainingLine);
        ConsoleBrowserFixture.Until(() => Driver.FindElement(By.Id("serving-energy")).Text.StartsWith("Serving", StringComparison.Ordinal), "the serving energy line");
        Saved("models", 2000);
        AssertNoConsoleErrors("models");

        fixture.Go($"#/models/{Model}/1", "models");
        ConsoleBrowserFixture.Until(() => Driver.FindElements(By.CssSelector("#curves path[data-series='loss']")).Count == 1
            && Driver.FindElement(By.CssSelector("#curves path[data-series='loss']")).GetDomAttribute("d")!.Count(c => c is 'M' or 'L') == 3, "version 1's 3-epoch curves");
        Assert.Contains("selected", Driver.FindElements(By.CssSelector("#versions tbody tr"))[0].GetDomAttribute("class"));
        AssertNoConsoleErrors("version 1");

        // Some traffic for the live page, then its figures must count it.
        var image = ImagePredictTests.Png(ImagePredictTests.TestImages(1)[0], 28, 28);
        for (int i = 0; i < 20; i++) await ApiPrediction(image, "image/png");
        await Task.Delay(1100);   // the 10 s summary leaves out the current second
        fixture.Go("#/live", "live");
        ConsoleBrowserFixture.Until(() => Driver.FindElement(By.Id("live-total")).Text is var t && long.TryParse(t, out long n) && n >= 20, "the live figures");
        Assert.True(double.Parse(Driver.FindElement(By.Id("live-rate")).Text, CultureInfo.InvariantCulture) >= 2.0);   // >= 20 requests in 10 s
        Assert.True(double.Parse(Driver.FindElement(By.Id("live-p50")).Text, CultureInfo.InvariantCulture) > 0);
        Assert.NotEmpty(Driver.FindElements(By.CssSelector("#live-rate-chart path[data-series='requests']")));
        Assert.NotEmpty(Driver.FindElements(By.CssSelector("#live-latency-chart path[data-series='p99']")));
        Saved("live");
        AssertNoConsoleErrors("live");

        fixture.Go("#/try", "try");
        Assert.Equal(Model, Driver.FindElement(By.Id("try-model")).GetDomProperty("value"));
        AssertNoConsoleErrors("try-it");
    }

    [BrowserFact]
    public async Task DrawnDigit_And_OpenedImage_AreClassifiedExactlyAsTheApiClassifiesTheSameBytes()
    {
        fixture.SignIn(fixture.AdminKey);
        fixture.Go("#/try", "try");
        var pad = Driver.FindElement(By.Id("try-pad"));

        // A "7": a bar across the top, then a diagonal down to the left.
        new Actions(Driver).MoveToElement(pad, -70, -90).ClickAndHold().MoveByOffset(60, 0).MoveByOffset(80, 0)
            .MoveByOffset(-40, 90).MoveByOffset(-40, 90).Release().Perform();
        ConsoleBrowserFixture.Until(() => Driver.FindElements(By.CssSelector("#try-bars .bar")).Count == 10, "the drawn image's prediction");
        var drawn = SentImage(out string drawnType);
        Assert.Equal("image/png", drawnType);
        using (var sent = Image.Load<L8>(drawn))
        {
            Assert.Equal((28, 28), (sent.Width, sent.Height));
            int lit = 0;
            for (int y = 0; y < 28; y++) for (int x = 0; x < 28; x++) if (sent[x, y].PackedValue > 128) lit++;
            Assert.InRange(lit, 20, 400);   // the stroke is there, the rest is black
        }
        var (expected, version) = await ApiPrediction(drawn, "image/png");
        Assert.Equal(expected, PageProbabilities());
        Assert.Equal(version, Driver.FindElement(By.Id("try-summary")).GetDomAttribute("data-version"));
        Assert.Equal(1f, expected.Sum(), 1e-4f);
        Saved("try-drawn");
        AssertNoConsoleErrors("try-it (drawn)");

        // A Fashion-MNIST test image opened from disk: the page sends the file's own bytes.
        var pixels = ImagePredictTests.TestImages(3)[2];
        string file = Path.Combine(fixture.Artifacts, "input-test-image-2.png");
        await File.WriteAllBytesAsync(file, ImagePredictTests.Png(pixels, 28, 28));
        Driver.FindElement(By.Id("try-file")).SendKeys(file);
        ConsoleBrowserFixture.Until(() => Driver.FindElement(By.Id("try-sent")).GetDomProperty("src")!.Length > 0
            && SentImage(out _).AsSpan().SequenceEqual(File.ReadAllBytes(file)), "the opened file to be sent");
        var (fromApi, _) = await ApiPrediction(await File.ReadAllBytesAsync(file), "image/png");
        ConsoleBrowserFixture.Until(() => PageProbabilities().SequenceEqual(fromApi), "the opened file's prediction");
        int best = Array.IndexOf(fromApi, fromApi.Max());
        Assert.Contains(FashionMnistClass(best), Driver.FindElement(By.Id("try-summary")).Text);
        Saved("try-image");
        AssertNoConsoleErrors("try-it (image)");
    }

    [BrowserFact]
    public async Task ExplainButton_ShowsTheHeatmapTheApiGivesForTheSameBytes()
    {
        fixture.SignIn(fixture.AdminKey);
        fixture.Go("#/try", "try");
        var pixels = ImagePredictTests.TestImages(2)[1];
        string file = Path.Combine(fixture.Artifacts, "input-test-image-explain.png");
        await File.WriteAllBytesAsync(file, ImagePredictTests.Png(pixels, 28, 28));
        Driver.FindElement(By.Id("try-file")).SendKeys(file);
        ConsoleBrowserFixture.Until(() => Driver.FindElements(By.CssSelector("#try-bars .bar")).Count == 10, "the opened file's prediction");
        Assert.False(Driver.FindElement(By.Id("try-explanation")).Displayed);
        Driver.FindElement(By.Id("try-explain")).Click();
        ConsoleBrowserFixture.Until(() => Driver.FindElement(By.Id("try-explanation")).Displayed
            && (Driver.FindElement(By.Id("try-heatmap")).GetDomProperty("src") ?? "").StartsWith("data:image/png;base64,", StringComparison.Ordinal), "the heatmap");

        var content = new ByteArrayContent(await File.ReadAllBytesAsync(file));
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        var (status, body) = await Send(HttpMethod.Post, $"/v1/models/{Model}:explain?heatmap=true", fixture.AdminKey, content);
        Assert.True(status == HttpStatusCode.OK, body);
        var e = JsonDocument.Parse(body).RootElement.GetProperty("explanations")[0];
        string src = Driver.FindElement(By.Id("try-heatmap")).GetDomProperty("src")!;
        Assert.Equal(e.GetProperty("heatmap").GetString(), src["data:image/png;base64,".Length..]);
        Assert.Equal(e.GetProperty("target").GetInt32().ToString(CultureInfo.InvariantCulture), Driver.FindElement(By.Id("try-explanation")).GetDomAttribute("data-target"));
        Assert.Contains(e.GetProperty("target_label").GetString()!, Driver.FindElement(By.Id("try-explain-summary")).Text);
        Saved("try-explain");
        AssertNoConsoleErrors("try-it (explain)");
    }

    static string FashionMnistClass(int index) => NeuralCore.Vision.FashionMnist.ClassNames[index];

    [BrowserFact]
    public async Task WithoutTheManageScope_AliasMovesAreDisabled_AndTheServerRefusesThem()
    {
        fixture.SignIn(fixture.ViewerKey);
        Assert.False(Driver.FindElement(By.Id("alias-move")).Enabled);
        Assert.False(Driver.FindElement(By.Id("alias-name")).Enabled);
        Assert.Contains("manage", Driver.FindElement(By.Id("alias-locked")).Text);
        Saved("aliases-viewer");
        AssertNoConsoleErrors("models (viewer)");

        // Enabling the form by script does not help: the server refuses the move with 403, and the page says so.
        ((IJavaScriptExecutor)Driver).ExecuteScript(
            "for (const id of ['alias-name', 'alias-version', 'alias-move']) document.getElementById(id).disabled = false;");
        Driver.FindElement(By.Id("alias-name")).SendKeys("production");
        Driver.FindElement(By.CssSelector("#alias-version option[value='2']")).Click();
        Driver.FindElement(By.Id("alias-move")).Click();
        ConsoleBrowserFixture.Until(() => Driver.FindElement(By.Id("status")).Displayed, "the refusal message");
        Assert.Contains("lacks the scope manage", Driver.FindElement(By.Id("status")).Text);
        Assert.Equal(1, fixture.Registry.Resolve(Model, "production").Version);
        var (status, body) = await Send(HttpMethod.Put, $"/v1/models/{Model}/aliases/production", fixture.ViewerKey,
            new StringContent("{\"version\": 2}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("manage", body);
        Assert.Equal(1, fixture.Registry.Resolve(Model, "production").Version);
        fixture.BrowserLog();   // the refused request is logged by the browser, as it should be

        // With the scope, the same form moves the alias (and back, leaving the registry as the other tests expect).
        fixture.SignIn(fixture.AdminKey);
        foreach (int target in new[] { 2, 1 })
        {
            Assert.True(Driver.FindElement(By.Id("alias-move")).Enabled);
            Assert.Empty(Driver.FindElements(By.Id("alias-locked")));
            var name = Driver.FindElement(By.Id("alias-name"));
            name.Clear();
            name.SendKeys("production");
            Driver.FindElement(By.CssSelector($"#alias-version option[value='{target}']")).Click();
            Driver.FindElement(By.Id("alias-move")).Click();
            ConsoleBrowserFixture.Until(() => fixture.Registry.Resolve(Model, "production").Version == target, $"production to point at version {target}");
            ConsoleBrowserFixture.Until(() => Driver.FindElement(By.CssSelector("#aliases li[data-alias='production']")).Text.Contains($"v{target}", StringComparison.Ordinal),
                "the page to show the move");
            if (target == 2) Saved("aliases-moved");
        }
        AssertNoConsoleErrors("models (admin)");
    }

    [BrowserFact]
    public void SignIn_WithAWrongKey_IsRefused_AndNothingIsStored()
    {
        fixture.OpenSignedOut();
        Driver.FindElement(By.Id("signin-key")).SendKeys("nck_0123456789abcdef_not-a-real-key");
        Driver.FindElement(By.Id("signin-submit")).Click();
        ConsoleBrowserFixture.Until(() => Driver.FindElement(By.Id("signin-error")).Displayed, "the refusal");
        Assert.Contains("refused", Driver.FindElement(By.Id("signin-error")).Text);
        Assert.Null(((IJavaScriptExecutor)Driver).ExecuteScript("return sessionStorage.getItem('neuralcore.apiKey');"));
        Assert.False(Driver.FindElement(By.Id("nav")).Displayed);
        Assert.True(Driver.FindElement(By.Id("page-signin")).Displayed);
        Saved("signin-refused");
        // The one thing logged is the refused request itself (401).
        var log = fixture.BrowserLog();
        Assert.All(log.Where(e => e.Level == OpenQA.Selenium.LogLevel.Severe), e => Assert.Contains("401", e.Message));

        // The models route stays closed to a page that has no key.
        fixture.Go("#/models", "signin");
        Assert.True(Driver.FindElement(By.Id("page-signin")).Displayed);
    }
}

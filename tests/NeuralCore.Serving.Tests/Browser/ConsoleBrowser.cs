using System.Globalization;
using NeuralCore.Data;
using NeuralCore.Nn;
using NeuralCore.Serving.Hosting;
using NeuralCore.Serving.Registry;
using NeuralCore.Serving.Tests.Hosting;
using NeuralCore.Vision;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;

namespace NeuralCore.Serving.Tests.Browser;

/// <summary>
/// A test that drives Debian's chromium through its chromedriver; skipped, saying why, when either is not installed
/// (<c>apt-get install chromium chromium-driver</c>; <c>.ci/run</c> installs both).
/// </summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    /// <summary>The browser.</summary>
    public const string ChromiumPath = "/usr/bin/chromium";

    /// <summary>The driver, given to Selenium so that it downloads nothing (Selenium Manager is skipped).</summary>
    public const string DriverPath = "/usr/bin/chromedriver";

    public BrowserFactAttribute()
    {
        var missing = new[] { ChromiumPath, DriverPath }.Where(p => !File.Exists(p)).ToList();
        if (missing.Count > 0)
            Skip = $"{string.Join(" and ", missing)} not installed: the web console's browser tests need Debian's chromium and chromium-driver (.ci/run installs them).";
    }
}

/// <summary>
/// One serving host with the console over a registry holding a Fashion-MNIST MLP trained briefly on the subset in the
/// repository (two versions, with training curves, aliases <c>production</c> and <c>staging</c>), API keys, and one
/// headless chromium shared by the tests of a class.
/// </summary>
public sealed class ConsoleBrowserFixture : IAsyncLifetime
{
    public const string Model = "fashion-mlp";

    readonly RegistryBackend env = RegistryBackend.Create("sqlite");

    public ModelRegistry Registry { get; private set; } = null!;

    internal LoopbackHost Host { get; private set; } = null!;

    public ChromeDriver? Driver { get; private set; }

    /// <summary>read, infer and manage on every model.</summary>
    public string AdminKey { get; private set; } = null!;

    /// <summary>read and infer only.</summary>
    public string ViewerKey { get; private set; } = null!;

    /// <summary>Where screenshots go: <c>artifacts/console</c> under the test output folder.</summary>
    public string Artifacts { get; } = Path.Combine(AppContext.BaseDirectory, "artifacts", "console");

    public string ConsoleUrl => new Uri(Host.Http.BaseAddress!, WebConsole.BasePath + "/").ToString();

    public async Task InitializeAsync()
    {
        Registry = env.Open();
        Rng.ManualSeed(7);
        var train = new FashionMnist(ImagePredictTests.SubsetDirectory(), train: true, download: false);
        var data = new Subset(train, Enumerable.Range(0, Math.Min(train.Count, 3000)));
        var model = new Sequential(new Flatten(), new Dense(784, 48, Activation.Relu), new Dense(48, 10));
        model.Compile("adam", "categorical_crossentropy", ["accuracy"]);
        var options = new RegisterOptions
        {
            Description = "Fashion-MNIST MLP",
            InputShape = [-1, 1, 28, 28],
            ClassNames = [.. FashionMnist.ClassNames],
            Dataset = "fashion-mnist-subset",
        };
        var first = model.Fit(data, epochs: 3, batchSize: 64, validationSplit: 0.2, verbose: 0);
        Registry.Register(Model, model, first, options with { Aliases = ["production"], Tags = new Dictionary<string, string> { ["stage"] = "reviewed" } });
        var second = model.Fit(data, epochs: 5, batchSize: 64, validationSplit: 0.2, verbose: 0);
        Registry.Register(Model, model, second, options with { Aliases = ["staging"], ParentVersion = 1 });
        AdminKey = Registry.CreateApiKey("admin", AccessScope.ParseList("read,infer,manage")).Key;
        ViewerKey = Registry.CreateApiKey("viewer", AccessScope.ParseList("read,infer")).Key;
        Host = await LoopbackHost.StartAsync(Registry, new ServingOptions());
        Directory.CreateDirectory(Artifacts);
        if (!File.Exists(BrowserFactAttribute.ChromiumPath) || !File.Exists(BrowserFactAttribute.DriverPath)) return;

        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(BrowserFactAttribute.DriverPath)!, Path.GetFileName(BrowserFactAttribute.DriverPath));
        service.HideCommandPromptWindow = true;
        service.SuppressInitialDiagnosticInformation = true;
        var chrome = new ChromeOptions { BinaryLocation = BrowserFactAttribute.ChromiumPath };
        chrome.AddArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", $"--window-size={WindowWidth},{WindowHeight}",
            "--no-first-run", "--disable-extensions", "--force-device-scale-factor=1");
        chrome.SetLoggingPreference(LogType.Browser, OpenQA.Selenium.LogLevel.All);
        Driver = new ChromeDriver(service, chrome, TimeSpan.FromSeconds(60));
        Driver.Manage().Timeouts().PageLoad = TimeSpan.FromSeconds(30);
        Driver.Manage().Timeouts().AsynchronousJavaScript = TimeSpan.FromSeconds(30);
    }

    public async Task DisposeAsync()
    {
        Driver?.Quit();
        Driver?.Dispose();
        await Host.DisposeAsync();
        Registry.Dispose();
        env.Dispose();
    }

    /// <summary>Opens the console signed out (in a new tab, so with empty session storage) and waits for the sign-in page.</summary>
    public void OpenSignedOut()
    {
        var driver = Driver!;
        // Session storage belongs to a tab: a new tab starts with none (and nothing of the old page stays in flight).
        string old = driver.CurrentWindowHandle;
        driver.SwitchTo().NewWindow(WindowType.Tab);
        string fresh = driver.CurrentWindowHandle;
        driver.SwitchTo().Window(old).Close();
        driver.SwitchTo().Window(fresh);
        driver.Navigate().GoToUrl(ConsoleUrl + "#/signin");
        WaitReady("signin");
    }

    /// <summary>Signs in through the form and waits for the models page.</summary>
    public void SignIn(string key)
    {
        OpenSignedOut();
        var driver = Driver!;
        driver.FindElement(By.Id("signin-key")).SendKeys(key);
        driver.FindElement(By.Id("signin-submit")).Click();
        WaitReady("models");
        Until(() => driver.FindElements(By.Id("model-name")).Count > 0, "the model page");
    }

    /// <summary>Goes to a console route (<c>#/live</c>...) and waits until the page has loaded its data.</summary>
    public void Go(string hash, string page)
    {
        Driver!.Navigate().GoToUrl(ConsoleUrl + hash);
        WaitReady(page);
    }

    public void WaitReady(string page) =>
        Until(() => (string?)Driver!.ExecuteScript("return document.body.dataset.page === arguments[0] && document.body.dataset.ready === 'true' ? 'yes' : null;", page) == "yes",
            $"the {page} page to be ready");

    /// <summary>Polls <paramref name="condition"/> every 50 ms for up to 20 s; fails naming what it waited for.</summary>
    public static void Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                if (condition()) return;
            }
            catch (StaleElementReferenceException)
            {
                // The page replaced the element; ask again.
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Waited 20 s for {what}.");
            Thread.Sleep(50);
        }
    }

    /// <summary>Saves a screenshot as <c>artifacts/console/NAME.png</c> (the window made <paramref name="height"/> pixels tall for it) and returns its path.</summary>
    public string Screenshot(string name, int height = WindowHeight)
    {
        string path = Path.Combine(Artifacts, name + ".png");
        var window = Driver!.Manage().Window;
        if (height != WindowHeight) window.Size = new System.Drawing.Size(WindowWidth, height);
        try
        {
            Driver.GetScreenshot().SaveAsFile(path);
        }
        finally
        {
            if (height != WindowHeight) window.Size = new System.Drawing.Size(WindowWidth, WindowHeight);
        }
        return path;
    }

    const int WindowWidth = 1360, WindowHeight = 1000;

    /// <summary>The browser's console messages since the last call (the log is drained by reading it).</summary>
    public IReadOnlyList<LogEntry> BrowserLog() => Driver!.Manage().Logs.GetLog(LogType.Browser);

    public static string Format(LogEntry e) => string.Create(CultureInfo.InvariantCulture, $"[{e.Level}] {e.Message}");
}

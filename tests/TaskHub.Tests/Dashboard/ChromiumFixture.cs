using TaskHub.Tests.Infrastructure;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;

namespace TaskHub.Tests.Dashboard;

/// <summary>
/// One headless Debian Chromium, driven by Debian's chromedriver, for a test class. Both paths are given, so
/// Selenium Manager never runs (it would try to download a browser or driver, and this machine has no network
/// but the package registries). Missing binaries fail the tests with what to install: test.sh installs them.
/// </summary>
public sealed class ChromiumFixture : IDisposable
{
    public const string BrowserPath = "/usr/bin/chromium";
    public const string DriverPath = "/usr/bin/chromedriver";

    public static readonly System.Drawing.Size DesktopSize = new(1280, 800);

    readonly string _profile = Path.Combine(Path.GetTempPath(), $"taskhub-chromium-{Guid.NewGuid():N}");

    public IWebDriver Driver { get; }

    /// <summary>The repo's TestResults/screenshots (git-ignored), found from the test binaries up to Solution.sln.</summary>
    public string ScreenshotDir { get; } = Path.Combine(TestSystem.RepoRoot, "TestResults", "screenshots");

    public ChromiumFixture()
    {
        foreach (var path in new[] { BrowserPath, DriverPath })
            if (!File.Exists(path))
                throw new InvalidOperationException(
                    $"The dashboard tests need Debian's Chromium and ChromeDriver, and {path} is missing: " +
                    "run `apt-get install -y chromium chromium-driver` (test.sh does this).");

        // Belt and braces: should Selenium Manager ever be started anyway, it must not download anything.
        Environment.SetEnvironmentVariable("SE_OFFLINE", "true");

        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(DriverPath)!, Path.GetFileName(DriverPath));
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        var options = new ChromeOptions { BinaryLocation = BrowserPath };
        options.AddArguments(
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            $"--window-size={DesktopSize.Width},{DesktopSize.Height}", $"--user-data-dir={_profile}");
        // A loaded machine: page loads and scripts get time; the waits in the tests bound what they wait for.
        Driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
        Driver.Manage().Timeouts().PageLoad = TimeSpan.FromSeconds(60);
    }

    public void Dispose()
    {
        try
        {
            Driver.Quit();
        }
        finally
        {
            Driver.Dispose();
            try
            {
                Directory.Delete(_profile, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}

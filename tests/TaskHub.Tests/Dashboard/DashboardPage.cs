using OpenQA.Selenium;
using OpenQA.Selenium.Support.UI;

namespace TaskHub.Tests.Dashboard;

/// <summary>
/// The dashboard as a person drives it: sign in through the form, follow the nav or a hash route, and wait
/// (explicitly, polling) for what the page shows. The page re-renders rows on every 2 s poll, so every wait
/// looks its elements up afresh and a stale element only means "look again".
/// </summary>
public sealed class DashboardPage(IWebDriver driver, Uri api, string screenshotDir)
{
    /// <summary>Generous: two cores shared with the broker, the database, every host and Chromium.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    public IWebDriver Driver => driver;

    Uri DashboardUrl => new(api, "/dashboard");

    public async Task SignInAsync(string key)
    {
        driver.Navigate().GoToUrl(DashboardUrl);
        // Cookies are per host, not per port: an earlier test's Api was also on 127.0.0.1, and its sign-in would carry over.
        driver.Manage().Cookies.DeleteAllCookies();
        driver.Navigate().GoToUrl(DashboardUrl);
        var input = await UntilAsync(_ => Visible(By.Id("api-key")), "the sign-in form");
        input.SendKeys(key);
        driver.FindElement(By.XPath("//form[@id='signin-form']//button[normalize-space()='Sign in']")).Click();
        // The server sets the cookie and redirects to /dashboard, which then asks /me and shows the nav.
        await UntilAsync(_ => Visible(By.Id("site-nav")) is not null && Visible(By.Id("user-name")) is not null, "the dashboard after signing in");
    }

    /// <summary>Follows a nav link, as a person would, and waits for the page's heading.</summary>
    public async Task NavAsync(string nav, string heading)
    {
        await ClickAsync(By.CssSelector($"#site-nav a[data-nav='{nav}']"), $"the {nav} nav link");
        await HeadingAsync(heading);
    }

    /// <summary>Goes to a hash route inside the loaded page (no reload), e.g. <c>#/groups/g</c>.</summary>
    public async Task RouteAsync(string hash, string heading)
    {
        ((IJavaScriptExecutor)driver).ExecuteScript("location.hash = arguments[0];", hash);
        await HeadingAsync(heading);
    }

    public Task HeadingAsync(string heading) =>
        UntilAsync(_ => Visible(By.CssSelector("#main h1"))?.Text.StartsWith(heading, StringComparison.Ordinal) == true, $"the heading '{heading}'");

    /// <summary>The first displayed element <paramref name="by"/> finds, or null.</summary>
    public IWebElement? Visible(By by) => driver.FindElements(by).FirstOrDefault(e => e.Displayed);

    public IReadOnlyCollection<IWebElement> All(By by) => driver.FindElements(by);

    /// <summary>Waits until <paramref name="by"/> finds an element whose text is <paramref name="text"/>.</summary>
    public Task TextAsync(By by, string text, string what) =>
        UntilAsync(_ => driver.FindElements(by).FirstOrDefault()?.Text.Trim() == text, $"{what} to read '{text}'");

    /// <summary>Clicks the element once it is there and enabled; a poll that replaced it between the look-up and the click is retried.</summary>
    public Task ClickAsync(By by, string what) => UntilAsync(_ =>
    {
        var element = Visible(by);
        if (element is null || !element.Enabled)
            return false;
        element.Click();
        return true;
    }, $"{what} to click");

    /// <summary>
    /// Polls <paramref name="condition"/> (null or false: not yet) with WebDriverWait, off the test's thread so the
    /// in-process hosts keep running; on timeout, fails saying what it waited for and what the page showed.
    /// </summary>
    public async Task<T> UntilAsync<T>(Func<IWebDriver, T?> condition, string what)
    {
        var wait = new WebDriverWait(new SystemClock(), driver, Timeout, TimeSpan.FromMilliseconds(100));
        wait.IgnoreExceptionTypes(typeof(NoSuchElementException), typeof(StaleElementReferenceException),
            typeof(ElementClickInterceptedException), typeof(ElementNotInteractableException));
        try
        {
            return await Task.Run(() => wait.Until(d => condition(d)!));
        }
        catch (WebDriverTimeoutException)
        {
            throw new Xunit.Sdk.XunitException($"Timed out after {Timeout.TotalSeconds:0} s waiting for {what}. {Describe()}");
        }
    }

    /// <summary>Where the page is and what it says, for a failure message.</summary>
    public string Describe()
    {
        try
        {
            var main = driver.FindElements(By.Id("main")).FirstOrDefault()?.Text ?? "(no #main)";
            var status = driver.FindElements(By.Id("status-line")).FirstOrDefault()?.Text ?? "";
            return $"URL: {driver.Url}; status line: '{status}'; page: {Shorten(main, 800)}";
        }
        catch (WebDriverException e)
        {
            return $"(could not read the page: {e.Message})";
        }
    }

    static string Shorten(string text, int max) => text.Length <= max ? text : text[..max] + "…";

    /// <summary>
    /// Marks the current document; <see cref="AssertSameDocument"/> fails if it was reloaded since (a reload
    /// starts a new window object without the mark). That is how "without reloading" is checked.
    /// </summary>
    public void MarkDocument() => ((IJavaScriptExecutor)driver).ExecuteScript("window.__taskhubTestMark = 'kept';");

    public void AssertSameDocument() =>
        Assert.True((string?)((IJavaScriptExecutor)driver).ExecuteScript("return window.__taskhubTestMark ?? null;") == "kept",
            "The page was reloaded; the dashboard should have updated in place.");

    public object? Script(string script, params object[] args) => ((IJavaScriptExecutor)driver).ExecuteScript(script, args);

    /// <summary>A PNG of the viewport under TestResults/screenshots, for a person to look at (not committed).</summary>
    public void Screenshot(string name)
    {
        Directory.CreateDirectory(screenshotDir);
        ((ITakesScreenshot)driver).GetScreenshot().SaveAsFile(Path.Combine(screenshotDir, $"{name}.png"));
    }
}

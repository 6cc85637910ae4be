using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using OpenQA.Selenium;
using TaskHub.Contracts.Client;
using TaskHub.Contracts.Tasks;
using TaskHub.Tests.Cron;
using TaskHub.Tests.Infrastructure;

namespace TaskHub.Tests.Dashboard;

/// <summary>
/// The operations dashboard in a real (headless) Chromium against the real stack, with keys required: an
/// operator signs in through the form and sees tasks arrive, filters, retries, cancels a group member and
/// pauses a schedule, all without reloading (the page polls); a read-only key sees no action button; the
/// tasks page fits a phone. Every page visited is saved as a PNG under TestResults/screenshots.
/// </summary>
public sealed class DashboardBrowserTests : SystemTest, IClassFixture<ChromiumFixture>
{
    const string OpsKey = "dashboard-ops-key-0123456789";
    const string ViewerKey = "dashboard-viewer-key-0123456789";

    /// <summary>An operator (admin: every scope, everyone's resources) and a viewer (monitor: reads everyone's, changes nothing).</summary>
    static readonly (string, string?)[] KeySettings =
    [
        ("Auth:AllowAnonymous", "false"),
        ("Auth:Keys:0:Name", "ops"), ("Auth:Keys:0:Key", OpsKey), ("Auth:Keys:0:Scopes:0", "admin"),
        ("Auth:Keys:1:Name", "viewer"), ("Auth:Keys:1:Key", ViewerKey), ("Auth:Keys:1:Scopes:0", "monitor"),
    ];

    readonly ChromiumFixture _browser;
    readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly Dictionary<string, int> _runs = [];
    readonly List<IAsyncDisposable> _peers = [];
    ApiHost _api = null!;
    ITaskClient _client = null!;
    DashboardPage _page = null!;

    public DashboardBrowserTests(ChromiumFixture browser) => _browser = browser;

    public override async Task DisposeAsync()
    {
        // Blocked handlers finish, so the Worker stops at once; the shared browser gets its desktop size back.
        _release.TrySetResult();
        try
        {
            _browser.Driver.Manage().Window.Size = ChromiumFixture.DesktopSize;
        }
        catch (WebDriverException)
        {
        }
        await base.DisposeAsync();
        foreach (var peer in _peers)
            await peer.DisposeAsync();
    }

    /// <summary>Scheduler, a Worker with the handlers below, the Api with keys required, a .NET client, and the page.</summary>
    async Task StartAsync()
    {
        await System.StartSchedulerAsync(TimerClusterTests.QuartzSettings);
        await System.StartWorkerAsync(w => w
            .Register("Ok", (string key) => key)
            .Register("Blocks", async (string key, CancellationToken token) =>
            {
                await _release.Task.WaitAsync(token);
                return key;
            })
            // Fails on its first run of a key, succeeds after (a retry).
            .Register("FailsOnce", (string key) =>
            {
                int run;
                lock (_runs)
                    run = _runs[key] = _runs.GetValueOrDefault(key) + 1;
                return run == 1 ? throw new InvalidOperationException($"first run of {key}") : key;
            }),
            ("AsyncTask:Tasks:FailsOnce:Attempts", "1"), ("Worker:StartedReportDelayMs", "0"), ("Worker:HeartbeatInterval", "00:00:01"));
        _api = await System.StartApiAsync(KeySettings);
        // The test's own API calls act as the operator.
        _api.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", OpsKey);
        _client = await System.StartClientAsync();
        _page = new DashboardPage(_browser.Driver, _api.Http.BaseAddress!, _browser.ScreenshotDir);
    }

    async Task<LoopbackServer> PeerAsync()
    {
        var peer = await LoopbackServer.StartAsync();
        _peers.Add(peer);
        return peer;
    }

    async Task<JsonElement> GetAsync(string path)
    {
        var response = await _api.Http.GetAsync(path);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.IsSuccessStatusCode, $"{path} answered {(int)response.StatusCode}: {body}");
        return body;
    }

    /// <summary>Polls <c>GET /tasks/{id}</c> (404 while the submission is on its way) until the task has <paramref name="status"/>.</summary>
    Task<JsonElement> StatusAsync(Guid id, string status) =>
        TestSystem.EventuallyAsync(async () =>
            {
                var response = await _api.Http.GetAsync($"/tasks/{id}");
                return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<JsonElement>() : default;
            },
            t => t.ValueKind == JsonValueKind.Object && t.GetProperty("status").GetString() == status, TimeSpan.FromSeconds(30), $"task {id} to be {status}");

    /// <summary>An HTTP task in group g (one at a time) whose callee accepts it and never confirms: it stays running.</summary>
    async Task<Guid> GroupTaskAsync(LoopbackServer peer, string path)
    {
        var response = await _api.Http.PostAsJsonAsync($"/task/new?callee={Uri.EscapeDataString(peer.Url("/" + path))}&group=g&parallels=1", new { path });
        var reply = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.IsSuccessStatusCode, reply.ToString());
        return Guid.Parse(reply.GetProperty("data").GetString()!);
    }

    /// <summary>A cron schedule firing at second 0 of every minute, calling back <paramref name="peer"/>.</summary>
    async Task<string> ScheduleAsync(LoopbackServer peer, string name)
    {
        var response = await _api.Http.PostAsJsonAsync("/v1/task", new
        {
            name,
            count = 0,
            cronJob = new { second = "0", minute = "*", hour = "*", dom = "*", month = "*", dow = "*" },
            startAt = 0,
            stopAt = 0,
            isMultipleEntry = true,
            callback = new { url = peer.Url("/cron"), method = "POST", @params = """{"n":1}""" },
        });
        var created = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {created}");
        Assert.Equal("ACTIVE", created.GetProperty("state").GetString());
        return created.GetProperty("id").GetString()!;
    }

    static By TaskRow(Guid id) => By.CssSelector($"#tasks-table tbody tr[data-task-id='{id}']");
    static By TaskRowStatus(Guid id) => By.CssSelector($"#tasks-table tbody tr[data-task-id='{id}'] .status");
    static By ScheduleRow(string id) => By.CssSelector($"#schedules-table tbody tr[data-schedule-id='{id}']");

    /// <summary>The ids of the task rows the list shows now (none for its "No task matches." row).</summary>
    List<string> ListedTaskIds() =>
        _page.All(By.CssSelector("#tasks-table tbody tr[data-task-id]")).Select(r => r.GetAttribute("data-task-id")!).ToList();

    [Fact]
    public async Task A_task_submitted_after_signing_in_appears_in_the_list_as_running_without_a_reload()
    {
        await StartAsync();
        await _page.SignInAsync(OpsKey);
        Assert.Equal("ops", _page.Visible(By.Id("user-name"))!.Text);
        await _page.NavAsync("tasks", "Tasks");
        await _page.TextAsync(By.CssSelector("#tasks-table tbody td.empty"), "No task matches.", "the empty task list");
        _page.MarkDocument();

        var id = await _client.SendTaskAsync(TaskSignature.Create("Blocks", "a"));

        await _page.TextAsync(TaskRowStatus(id), TaskStatuses.Running, $"task {id}'s row");
        _page.AssertSameDocument();
        Assert.Equal([id.ToString()], ListedTaskIds());
        Assert.Contains("Blocks", _page.Visible(TaskRow(id))!.Text);
        _page.Screenshot("tasks-running");
    }

    [Fact]
    public async Task Filtering_failures_then_retrying_one_from_its_page_shows_it_succeed()
    {
        await StartAsync();
        var ok = await _client.SendTaskAsync(TaskSignature.Create("Ok", "fine"));
        var failed = await _client.SendTaskAsync(TaskSignature.Create("FailsOnce", "b"));
        await StatusAsync(ok, TaskStatuses.Success);
        await StatusAsync(failed, TaskStatuses.Failure);

        await _page.SignInAsync(OpsKey);
        await _page.NavAsync("tasks", "Tasks");
        await _page.UntilAsync(_ => ListedTaskIds().Count == 2, "both tasks in the unfiltered list");

        await _page.ClickAsync(By.CssSelector("#filter-status option[value='FAILURE']"), "the FAILURE status filter");
        await _page.UntilAsync(_ => ListedTaskIds() is [var only] && only == failed.ToString(), "only the failed task to be listed");
        Assert.Equal(TaskStatuses.Failure, _page.Visible(TaskRowStatus(failed))!.Text);
        _page.Screenshot("tasks-filtered-failure");

        await _page.ClickAsync(By.CssSelector($"#tasks-table tr[data-task-id='{failed}'] a[href='#/tasks/{failed}']"), "the failed task's link");
        await _page.HeadingAsync("Task FailsOnce");
        await _page.TextAsync(By.Id("task-status"), TaskStatuses.Failure, "the task's status");
        Assert.Contains("first run of b", _page.Visible(By.Id("main"))!.Text);
        _page.Screenshot("task-failed");
        _page.MarkDocument();

        await _page.ClickAsync(By.Id("task-retry"), "Retry");

        await _page.TextAsync(By.Id("task-status"), TaskStatuses.Success, "the retried task's status");
        _page.AssertSameDocument();
        Assert.Contains($"Task {failed} retried", _page.Visible(By.Id("status-line"))?.Text ?? "");
        // Finished and successful: Retry and Cancel are gone, Delete stays.
        Assert.Empty(_page.All(By.Id("task-retry")));
        Assert.Empty(_page.All(By.Id("task-cancel")));
        Assert.NotNull(_page.Visible(By.Id("task-delete")));
        var task = await GetAsync($"/tasks/{failed}");
        Assert.Equal(TaskStatuses.Success, task.GetProperty("status").GetString());
        Assert.Equal("b", task.GetProperty("response").GetString());
        _page.Screenshot("task-retried");
    }

    [Fact]
    public async Task Cancelling_a_waiting_member_on_the_group_page_cancels_it_and_drops_its_row()
    {
        await StartAsync();
        var peer = await PeerAsync();
        var running = await GroupTaskAsync(peer, "hold");
        var waiting = await GroupTaskAsync(peer, "next");
        await peer.WaitForAsync("/hold", 1);
        await StatusAsync(running, TaskStatuses.Running);
        await StatusAsync(waiting, TaskStatuses.Waiting);

        await _page.SignInAsync(OpsKey);
        await _page.NavAsync("groups", "Groups");
        await _page.ClickAsync(By.CssSelector("#groups-table tr[data-group-name='g'] a"), "group g's link");
        await _page.HeadingAsync("Group g");
        var waitingRow = By.CssSelector($"#members-table tbody tr[data-task-id='{waiting}']");
        await _page.TextAsync(By.CssSelector($"#members-table tbody tr[data-task-id='{running}'] .state"), "running", "the first member's state");
        await _page.TextAsync(By.CssSelector($"#members-table tbody tr[data-task-id='{waiting}'] .state"), "waiting", "the second member's state");
        _page.Screenshot("group-before-cancel");
        _page.MarkDocument();

        await _page.ClickAsync(By.CssSelector($"#members-table tbody tr[data-task-id='{waiting}'] .member-cancel"), "the waiting member's Cancel");

        await _page.UntilAsync(_ => _page.All(waitingRow).Count == 0, "the cancelled member's row to leave the page");
        _page.AssertSameDocument();
        var cancelled = await StatusAsync(waiting, TaskStatuses.Cancelled);
        Assert.StartsWith("cancelled", cancelled.GetProperty("error").GetString());
        // The running member is untouched and still listed; the cancelled one never reached its callee.
        Assert.Equal([running.ToString()], _page.All(By.CssSelector("#members-table tbody tr[data-task-id]")).Select(r => r.GetAttribute("data-task-id")));
        Assert.Equal(TaskStatuses.Running, (await GetAsync($"/tasks/{running}")).GetProperty("status").GetString());
        Assert.Empty(peer.To("/next"));
        _page.Screenshot("group-after-cancel");
    }

    [Fact]
    public async Task Pausing_a_schedule_on_the_schedules_page_pauses_it()
    {
        await StartAsync();
        var peer = await PeerAsync();
        var id = await ScheduleAsync(peer, "nightly-report");

        await _page.SignInAsync(OpsKey);
        await _page.NavAsync("schedules", "Schedules");
        var state = By.CssSelector($"#schedules-table tbody tr[data-schedule-id='{id}'] .state");
        await _page.TextAsync(state, "ACTIVE", "the schedule's state");
        Assert.Contains("nightly-report", _page.Visible(ScheduleRow(id))!.Text);
        _page.MarkDocument();

        await _page.ClickAsync(By.CssSelector($"#schedules-table tbody tr[data-schedule-id='{id}'] .schedule-pause"), "Pause");

        await _page.TextAsync(state, "PAUSED", "the paused schedule's state");
        _page.AssertSameDocument();
        // A paused schedule offers Resume instead of Pause.
        await _page.UntilAsync(_ => _page.Visible(By.CssSelector($"#schedules-table tr[data-schedule-id='{id}'] .schedule-resume")) is not null, "Resume");
        Assert.Empty(_page.All(By.CssSelector($"#schedules-table tr[data-schedule-id='{id}'] .schedule-pause")));
        Assert.Equal("PAUSED", (await GetAsync($"/v1/task/{id}")).GetProperty("state").GetString());
        _page.Screenshot("schedules-paused");
    }

    [Fact]
    public async Task A_monitor_key_sees_everyones_tasks_and_schedules_but_no_action_button()
    {
        await StartAsync();
        var failed = await _client.SendTaskAsync(TaskSignature.Create("FailsOnce", "v"));
        await StatusAsync(failed, TaskStatuses.Failure);
        // The operator's schedule: a monitor key sees everyone's work.
        var schedule = await ScheduleAsync(await PeerAsync(), "viewer-schedule");

        await _page.SignInAsync(ViewerKey);
        Assert.Equal("viewer", _page.Visible(By.Id("user-name"))!.Text);
        Assert.Contains("(monitor, read)", _page.Visible(By.Id("user"))!.Text);

        await _page.NavAsync("tasks", "Tasks");
        await _page.ClickAsync(By.CssSelector("#filter-status option[value='FAILURE']"), "the FAILURE status filter");
        await _page.TextAsync(TaskRowStatus(failed), TaskStatuses.Failure, "the viewer's failed task");
        Assert.Empty(_page.All(By.CssSelector(".bulk button")));

        await _page.ClickAsync(By.CssSelector($"#tasks-table tr[data-task-id='{failed}'] a[href='#/tasks/{failed}']"), "the failed task's link");
        await _page.TextAsync(By.Id("task-status"), TaskStatuses.Failure, "the task's status");
        // Status and actions are drawn in the same refresh: with the status shown, any button would be too.
        Assert.Empty(_page.All(By.Id("task-retry")));
        Assert.Empty(_page.All(By.Id("task-cancel")));
        Assert.Empty(_page.All(By.Id("task-delete")));
        Assert.Empty(_page.All(By.CssSelector("#main button.action")));
        _page.Screenshot("viewer-task");

        await _page.NavAsync("schedules", "Schedules");
        await _page.TextAsync(By.CssSelector($"#schedules-table tbody tr[data-schedule-id='{schedule}'] .state"), "ACTIVE", "the viewer's schedule");
        Assert.Empty(_page.All(By.CssSelector(".schedule-pause")));
        Assert.Empty(_page.All(By.CssSelector(".schedule-resume")));
        Assert.Empty(_page.All(By.CssSelector(".schedule-fire")));
        Assert.DoesNotContain("Actions", _page.Visible(By.CssSelector("#schedules-table thead"))!.Text);
        _page.Screenshot("viewer-schedules");
    }

    [Fact]
    public async Task At_phone_width_the_tasks_page_does_not_scroll_sideways_and_the_nav_is_visible()
    {
        await StartAsync();
        var id = await _client.SendTaskAsync(TaskSignature.Create("Ok", "a-rather-long-argument-that-should-wrap-on-a-phone"));
        await StatusAsync(id, TaskStatuses.Success);
        _browser.Driver.Manage().Window.Size = new System.Drawing.Size(375, 800);

        await _page.SignInAsync(OpsKey);
        await _page.NavAsync("tasks", "Tasks");
        await _page.TextAsync(TaskRowStatus(id), TaskStatuses.Success, "the task's row");

        var innerWidth = Convert.ToInt64(_page.Script("return window.innerWidth;"));
        Assert.InRange(innerWidth, 300, 400); // the phone size took effect
        var scrollWidth = Convert.ToInt64(_page.Script("return document.documentElement.scrollWidth;"));
        Assert.True(scrollWidth <= innerWidth + 1, $"The document is {scrollWidth} px wide in a {innerWidth} px window: it scrolls sideways.");
        var nav = _page.Visible(By.Id("site-nav"));
        Assert.NotNull(nav);
        Assert.True(nav.Size.Width > 0 && nav.Size.Height > 0, "The nav has no size.");
        Assert.NotNull(_page.Visible(By.CssSelector("#site-nav a[data-nav='tasks']")));
        _page.Screenshot("phone-tasks");
    }

    [Fact]
    public async Task Every_page_loads_for_an_operator()
    {
        await StartAsync();
        var peer = await PeerAsync();
        var blocked = await _client.SendTaskAsync(TaskSignature.Create("Blocks", "pages"));
        var held = await GroupTaskAsync(peer, "hold");
        var schedule = await ScheduleAsync(peer, "every-minute");
        await StatusAsync(blocked, TaskStatuses.Running);
        await StatusAsync(held, TaskStatuses.Running);

        await _page.SignInAsync(OpsKey);
        // A page that could not load says so in a .load-error; none may be showing.
        async Task VisitAsync(string screenshot, Func<Task> loaded)
        {
            await loaded();
            var errors = _page.All(By.CssSelector(".load-error")).Where(e => e.Displayed).Select(e => e.Text).ToList();
            Assert.True(errors.Count == 0, $"{screenshot}: {string.Join("; ", errors)}");
            _page.Screenshot(screenshot);
        }

        await VisitAsync("overview", async () =>
        {
            await _page.NavAsync("overview", "Overview");
            await _page.UntilAsync(_ => _page.Visible(By.Id("count-RUNNING"))?.Text is "2", "two running tasks counted");
            await _page.UntilAsync(_ => _page.Visible(By.Id("workers-online"))?.Text is "1", "one worker online");
        });
        await VisitAsync("tasks", async () =>
        {
            await _page.NavAsync("tasks", "Tasks");
            await _page.TextAsync(TaskRowStatus(blocked), TaskStatuses.Running, "the blocked task's row");
        });
        await VisitAsync("task", async () =>
        {
            await _page.ClickAsync(TaskRow(blocked), "the blocked task's row");
            await _page.HeadingAsync("Task Blocks");
            await _page.TextAsync(By.Id("task-status"), TaskStatuses.Running, "the task's status");
            Assert.NotNull(_page.Visible(By.Id("task-progress")));
            Assert.NotNull(_page.Visible(By.Id("task-cancel")));
        });
        await VisitAsync("groups", async () =>
        {
            await _page.NavAsync("groups", "Groups");
            await _page.UntilAsync(_ => _page.Visible(By.CssSelector("#groups-table tr[data-group-name='g']")), "group g");
        });
        await VisitAsync("group", async () =>
        {
            await _page.RouteAsync("#/groups/g", "Group g");
            await _page.UntilAsync(_ => _page.Visible(By.CssSelector("#members-table tbody tr[data-task-id]")), "group g's member");
        });
        await VisitAsync("schedules", async () =>
        {
            await _page.NavAsync("schedules", "Schedules");
            await _page.TextAsync(By.CssSelector($"#schedules-table tbody tr[data-schedule-id='{schedule}'] .state"), "ACTIVE", "the schedule");
        });
        await VisitAsync("callbacks", async () =>
        {
            await _page.NavAsync("callbacks", "Callbacks and timers");
            await _page.TextAsync(By.CssSelector("#callbacks-table tbody td.empty"), "No active callback or timer.", "the empty callbacks table");
        });
        await VisitAsync("pull-queues", async () =>
        {
            await _page.NavAsync("pull-queues", "Pull queues");
            await _page.TextAsync(By.CssSelector("#pull-queues-table tbody td.empty"), "No pull queue.", "the empty pull queues table");
        });
        await VisitAsync("workers", async () =>
        {
            await _page.NavAsync("workers", "Workers");
            await _page.UntilAsync(_ => _page.Visible(By.CssSelector("#workers-table tbody tr[data-worker-id]")), "a worker's row");
        });
    }
}

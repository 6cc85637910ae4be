using Microsoft.Extensions.Options;

namespace TaskHub.Tests.Definitions;

/// <summary>A definition that cannot be run stops start-up, naming its file and field.</summary>
public sealed class BadDefinitionTests : DefinitionTest
{
    Task StartWorkerAsync((string, string?)[] settings) => System.StartWorkerAsync(w => w.Register("Noop", () => { }), WithFolder(settings));

    [Theory]
    [InlineData("""{"process": "Noop", "colour": "red"}""", "colour")]
    [InlineData("""{"process": "Noop", "worker_nums": -2}""", "worker_nums")]
    [InlineData("""{"process": "Noop", "attempt_after": -1}""", "attempt_after")]
    [InlineData("""{"name": "no process"}""", "process")]
    [InlineData("""{"process": {"url": "not a url"}}""", "process.url")]
    [InlineData("""{"process": "Noop", "event": {"finished": "X"}}""", "event.finished")]
    public async Task A_bad_definition_stops_the_scheduler_the_worker_and_the_api(string json, string field)
    {
        var file = Define("bad", json);

        foreach (var start in new Func<Task>[]
                 {
                     () => System.StartSchedulerAsync(WithFolder([])),
                     () => StartWorkerAsync([]),
                     () => System.StartApiAsync(WithFolder([])),
                 })
        {
            var error = await Assert.ThrowsAsync<OptionsValidationException>(start);
            Assert.Contains(file, error.Message);
            Assert.Contains($"field '{field}'", error.Message);
        }
    }

    [Theory]
    [InlineData("""{"process": "NoSuchHandler"}""", "process", "NoSuchHandler")]
    [InlineData("""{"process": "Noop", "event": {"success": "NoSuchHook"}}""", "event.success", "NoSuchHook")]
    public async Task A_process_or_hook_handler_the_worker_lacks_stops_the_worker(string json, string field, string handler)
    {
        var file = Define("missing", json);
        // The Scheduler and the Api run no handlers: they start.
        await System.StartSchedulerAsync(WithFolder([]));
        await System.StartApiAsync(WithFolder([]));

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => StartWorkerAsync([]));

        Assert.Contains(file, error.Message);
        Assert.Contains($"field '{field}'", error.Message);
        Assert.Contains($"'{handler}', which is not registered", error.Message);
    }

    [Fact]
    public async Task A_url_the_outbound_allowlist_refuses_stops_start_up()
    {
        var file = Define("local", new { process = new { url = "http://127.0.0.1:9/run" }, @event = new { error = "http://127.0.0.1:9/hook" } });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => System.StartSchedulerAsync(WithFolder([("Outbound:AllowLoopback", "false")])));

        Assert.Contains($"{file}: field 'process.url'", error.Message);
        Assert.Contains($"{file}: field 'event.error'", error.Message);
        Assert.Contains("loopback", error.Message);
    }
}

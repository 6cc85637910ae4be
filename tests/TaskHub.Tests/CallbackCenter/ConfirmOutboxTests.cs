using System.Net.Http.Json;
using System.Text.Json;
using TaskHub.Tests.Infrastructure;

namespace TaskHub.Tests.CallbackCenter;

/// <summary>
/// A callee's confirmation (<c>/task/end/{id}</c>) the Api's broker link does not take in time is kept in the
/// outbox and relayed by the Scheduler: the callee gets 200 at once and the task still succeeds, its callback once.
/// </summary>
public sealed class ConfirmOutboxTests : CallbackCenterTest
{
    [Fact]
    public async Task A_confirmation_the_broker_does_not_take_in_time_goes_through_the_outbox()
    {
        await StartTaskHubAsync(("Outbox:PollInterval", "00:00:00.200"));
        // An Api whose every publish is cut off at once, as one whose link to the broker is stuck. The callee (an unmapped
        // path) accepts.
        var stuck = await System.StartApiAsync(("Api:BrokerTimeout", "00:00:00"));
        var id = await PostAsync("/task/new", new { n = 1 }, ("callee", Peer.Url("/work")), ("callback", Peer.Url("/done")));
        var call = (await Peer.WaitForAsync("/work", 1))[0];
        var confirm = new Uri(call.Query["callback"].ToString());

        var answer = await stuck.Http.PostAsJsonAsync(confirm.PathAndQuery, new { ok = true, data = "done" });
        Assert.True(answer.IsSuccessStatusCode, await answer.Content.ReadAsStringAsync());

        var task = await TaskInStatusAsync(id, "SUCCESS");
        Assert.Equal("done", task.GetProperty("response").GetProperty("data").GetString());
        var callback = Assert.Single(await Peer.WaitForAsync("/done", 1));
        Assert.Equal("done", Json(callback.Body).GetProperty("data").GetString());
        // The relay deletes what it sent in batches, and the publish the deadline cut off may have gone as well: the row goes.
        await TestSystem.EventuallyAsync(() => System.CountAsync("SELECT count(*) FROM outbox_messages"), n => n == 0, TimeSpan.FromSeconds(15),
            "the confirmation's outbox row to be sent and deleted");
    }
}

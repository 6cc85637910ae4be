using TaskHub.Scheduler.Callbacks;
using TaskHub.Worker.HttpCallee;

namespace TaskHub.Tests.Unit;

public sealed class CallbackRulesTests
{
    [Theory]
    [InlineData("""{"ok":true,"poll":{"url":"http://x/s"}}""", "http://x/s", "GET", 1000)]
    [InlineData("""{"ok":true,"data":{"poll":{"url":"http://x/s","method":"post","interval":250}}}""", "http://x/s", "POST", 250)]
    [InlineData("""{"ok":true,"poll":{"url":"http://x/s","interval":1}}""", "http://x/s", "GET", 50)]
    public void A_poll_url_at_the_top_or_under_data_is_found(string body, string url, string method, int intervalMs)
    {
        var poll = CalleeResponse.FindPoll(body);
        Assert.NotNull(poll);
        Assert.Equal((url, method, intervalMs), (poll.Url, poll.Method.Method, (int)poll.Interval.TotalMilliseconds));
    }

    [Theory]
    [InlineData("""{"ok":true,"poll":{"url":""}}""")] // the seed's own answer: no polling
    [InlineData("""{"ok":true}""")]
    [InlineData("""{"poll":"http://x"}""")]
    [InlineData("not json")]
    [InlineData("")]
    public void No_poll_without_a_non_empty_url(string body) => Assert.Null(CalleeResponse.FindPoll(body));

    [Theory]
    [InlineData("""{"done":true}""", true)]
    [InlineData("""{"ok":true,"data":{"done":true,"value":1}}""", true)]
    [InlineData("""{"done":false}""", false)]
    [InlineData("""{"done":"true"}""", false)]
    [InlineData("""[1]""", false)]
    public void Done_means_a_literal_true(string body, bool done) => Assert.Equal(done, CalleeResponse.IsDone(body));

    [Theory]
    [InlineData("""{"data":true}""", true)]
    [InlineData("""{"data":1}""", true)]
    [InlineData("""{"data":"stop"}""", true)]
    [InlineData("""{"data":{}}""", true)]
    [InlineData("""{"data":[]}""", true)]
    [InlineData("""{"data":false}""", false)]
    [InlineData("""{"data":0}""", false)]
    [InlineData("""{"data":""}""", false)]
    [InlineData("""{"data":null}""", false)]
    [InlineData("""{"ok":true}""", false)]
    [InlineData("received", false)]
    public void An_interval_stops_on_a_javascript_truthy_data(string answer, bool stops) =>
        Assert.Equal(stops, FireCallbackConsumer.SaysStop(answer));
}

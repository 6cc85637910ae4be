using MassTransit;
using MassTransit.Context;
using TaskHub.Hosting.Health;

namespace TaskHub.Tests.Unit;

/// <summary>When a destination counts as stuck: only its own timeouts, none cleared by its own success, late enough.</summary>
public sealed class BrokerSendsTests
{
    sealed class Clock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }

    static readonly Uri Http = new("queue:taskhub.http");
    static readonly Uri HttpLong = new("rabbitmq://127.0.0.1:5672/vhost/taskhub.http?bind=true");
    static readonly Uri Task = new("queue:taskhub.task");

    static Task Sent(BrokerSends sends, Uri address) =>
        ((ISendObserver)sends).PostSend(new MessageSendContext<object>(new object()) { DestinationAddress = address });

    [Fact]
    public async Task Three_timeouts_to_one_queue_after_the_mark_and_no_success_there_make_it_stuck()
    {
        var clock = new Clock();
        var sends = new BrokerSends(clock);
        var mark = clock.Now.AddSeconds(20);

        sends.TimedOut(Http); // before the mark: the connection was not back long enough
        clock.Now = mark.AddSeconds(1);
        sends.TimedOut(Http);
        sends.TimedOut(Task);
        Assert.Null(sends.StuckSince(mark));
        sends.TimedOut(Http);
        Assert.Null(sends.StuckSince(mark));
        // Another queue's success says nothing of this one; the long form of the address is the same queue.
        await Sent(sends, Task);
        sends.TimedOut(HttpLong);
        Assert.Equal("send taskhub.http", sends.StuckSince(mark));

        await Sent(sends, HttpLong);
        Assert.Null(sends.StuckSince(mark));
    }

    [Fact]
    public async Task A_request_whose_destination_is_unknown_is_cleared_by_any_success()
    {
        var clock = new Clock();
        var sends = new BrokerSends(clock);
        for (var i = 0; i < 3; i++)
            sends.TimedOut("POST /task/new");
        Assert.Equal("request POST /task/new", sends.StuckSince(clock.Now));

        await Sent(sends, Task);
        Assert.Null(sends.StuckSince(clock.Now));
    }

    [Fact]
    public async Task The_watchdogs_probe_clears_only_its_own_timeouts()
    {
        var clock = new Clock();
        var sends = new BrokerSends(clock);
        sends.TimedOut("POST /task/new");
        sends.TimedOut("POST /task/new");
        sends.TimedOut(typeof(BrokerProbe));
        // A publish reaches the send observer too, addressed to its exchange.
        var probe = new MessageSendContext<BrokerProbe>(new BrokerProbe(clock.Now)) { DestinationAddress = new Uri("rabbitmq://h/v/TaskHub.Hosting.Health:BrokerProbe") };
        await ((IPublishObserver)sends).PostPublish(probe);
        await ((ISendObserver)sends).PostSend(probe);
        sends.TimedOut("POST /task/new");
        Assert.Equal("request POST /task/new", sends.StuckSince(clock.Now));
    }

    [Fact]
    public void Publishes_count_by_message_type()
    {
        var clock = new Clock();
        var sends = new BrokerSends(clock);
        sends.TimedOut(typeof(string));
        sends.TimedOut(typeof(int));
        sends.TimedOut(typeof(string));
        Assert.Null(sends.StuckSince(clock.Now));
        sends.TimedOut(typeof(string));
        Assert.Equal("publish System.String", sends.StuckSince(clock.Now));
    }
}

using MassTransit.Context;
using MassTransit;
using TaskHub.Hosting.Outbox;

namespace TaskHub.Scheduler.Outbox;

/// <summary>
/// The consume context a consumer behind the outbox sees: its sends and publishes are staged in
/// <see cref="StagedMessages"/> instead of going to the broker (as MassTransit's in-memory outbox
/// defers them, but as data, so they can be written with the state).
/// It is its own payload (<see cref="IStagingContext"/>): a payload added to the context would be the
/// received message's, shared by every retry of it, while each attempt stages afresh.
/// </summary>
sealed class StagingConsumeContext<T> : ConsumeContextProxy<T>, IStagingContext where T : class
{
    public StagingConsumeContext(ConsumeContext<T> context) : base(context)
    {
        var receive = new StagingReceiveContext(context.ReceiveContext, Staged);
        ReceiveContext = receive;
        PublishEndpointProvider = receive.PublishEndpointProvider;
    }

    public StagedMessages Staged { get; } = new();
}

/// <summary>Found with <c>TryGetPayload</c> by whatever writes the state the staged messages follow.</summary>
public interface IStagingContext
{
    StagedMessages Staged { get; }
}

sealed class StagingReceiveContext(ReceiveContext context, StagedMessages staged) : ReceiveContextProxy(context)
{
    public override ISendEndpointProvider SendEndpointProvider { get; } = new StagingSendEndpointProvider(staged, context.SendEndpointProvider);
    public override IPublishEndpointProvider PublishEndpointProvider { get; } = new StagingPublishEndpointProvider(staged, context.PublishEndpointProvider);
}

sealed class StagingSendEndpointProvider(StagedMessages staged, ISendEndpointProvider inner) : ISendEndpointProvider
{
    public ConnectHandle ConnectSendObserver(ISendObserver observer) => inner.ConnectSendObserver(observer);

    public Task<ISendEndpoint> GetSendEndpoint(Uri address) => Task.FromResult<ISendEndpoint>(new StagingSendEndpoint(staged, address));
}

sealed class StagingPublishEndpointProvider(StagedMessages staged, IPublishEndpointProvider inner) : IPublishEndpointProvider
{
    public ConnectHandle ConnectPublishObserver(IPublishObserver observer) => inner.ConnectPublishObserver(observer);

    // A fault MassTransit publishes for the consumed message follows no state change: it goes as it is.
    public Task<ISendEndpoint> GetPublishSendEndpoint<TMessage>() where TMessage : class =>
        typeof(TMessage).IsGenericType && typeof(TMessage).GetGenericTypeDefinition() == typeof(Fault<>)
            ? inner.GetPublishSendEndpoint<TMessage>()
            : Task.FromResult<ISendEndpoint>(new StagingSendEndpoint(staged, null));
}

/// <summary>
/// Stages each message for <c>destination</c> (null: publish). Send pipes are not kept: what they would
/// set (conversation headers) is not part of TaskHub's messages. Initializer sends (<c>Send&lt;T&gt;(object values)</c>)
/// are refused rather than staged without their type's values.
/// </summary>
sealed class StagingSendEndpoint(StagedMessages staged, Uri? destination) : ISendEndpoint
{
    Task Stage(object message, Type type)
    {
        staged.Add(destination is null ? OutboxMessage.Publish(message, type) : OutboxMessage.Send(destination, message, type));
        return Task.CompletedTask;
    }

    public ConnectHandle ConnectSendObserver(ISendObserver observer) => throw new NotSupportedException("staged sends are observed when the relay sends them");

    public Task Send<TMessage>(TMessage message, CancellationToken cancellationToken = default) where TMessage : class => Stage(message, typeof(TMessage));
    public Task Send<TMessage>(TMessage message, IPipe<SendContext<TMessage>> pipe, CancellationToken cancellationToken = default) where TMessage : class => Stage(message, typeof(TMessage));
    public Task Send<TMessage>(TMessage message, IPipe<SendContext> pipe, CancellationToken cancellationToken = default) where TMessage : class => Stage(message, typeof(TMessage));
    public Task Send(object message, CancellationToken cancellationToken = default) => Stage(message, message.GetType());
    public Task Send(object message, Type messageType, CancellationToken cancellationToken = default) => Stage(message, messageType);
    public Task Send(object message, IPipe<SendContext> pipe, CancellationToken cancellationToken = default) => Stage(message, message.GetType());
    public Task Send(object message, Type messageType, IPipe<SendContext> pipe, CancellationToken cancellationToken = default) => Stage(message, messageType);

    public Task Send<TMessage>(object values, CancellationToken cancellationToken = default) where TMessage : class => Refuse<TMessage>();
    public Task Send<TMessage>(object values, IPipe<SendContext<TMessage>> pipe, CancellationToken cancellationToken = default) where TMessage : class => Refuse<TMessage>();
    public Task Send<TMessage>(object values, IPipe<SendContext> pipe, CancellationToken cancellationToken = default) where TMessage : class => Refuse<TMessage>();

    static Task Refuse<TMessage>() => throw new NotSupportedException($"send a {typeof(TMessage).Name} record, not initializer values, from behind the outbox");
}

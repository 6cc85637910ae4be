using System.Text.Json;
using MassTransit;

namespace TaskHub.Hosting.Outbox;

/// <summary>
/// A message that must follow a state change: sent to <paramref name="Destination"/>, or published when
/// that is null. It is written in the same transaction as the change and sent once that commits.
/// </summary>
public sealed record OutboxMessage(Guid Id, Uri? Destination, Type MessageType, object Message)
{
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static OutboxMessage Send(Uri destination, object message, Type? type = null) =>
        new(NewId.NextGuid(), destination, type ?? message.GetType(), message);

    public static OutboxMessage Publish(object message, Type? type = null) =>
        new(NewId.NextGuid(), null, type ?? message.GetType(), message);

    public string Body => JsonSerializer.Serialize(Message, MessageType, Json);

    /// <summary>A row read back; only TaskHub's own message types are loaded.</summary>
    public static OutboxMessage Read(Guid id, string? destination, string typeName, string body)
    {
        var type = Type.GetType(typeName, throwOnError: true)!;
        if (type.Assembly.GetName().Name?.StartsWith("TaskHub.", StringComparison.Ordinal) != true)
            throw new InvalidOperationException($"outbox message {id} names a type outside TaskHub: {typeName}");
        return new(id, destination is null ? null : new Uri(destination), type, JsonSerializer.Deserialize(body, type, Json)!);
    }

    /// <summary>The type's name as stored: assembly-qualified without version, so an upgrade still reads old rows.</summary>
    public string TypeName => $"{MessageType.FullName}, {MessageType.Assembly.GetName().Name}";
}

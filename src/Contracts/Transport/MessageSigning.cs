using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TaskHub.Contracts.Messages;

namespace TaskHub.Contracts.Transport;

/// <summary>
/// A message that makes work run or records its outcome. Every TaskHub process signs these when it sends
/// them and verifies them before it does anything with one, so whoever can publish to RabbitMQ still
/// cannot run a handler or forge a result without a key.
/// </summary>
public interface ITaskMessage
{
    Guid TaskId { get; }
}

/// <summary>
/// The <c>Bus</c> section: <c>SigningKeys:&lt;id&gt;</c> are the keys a signature is checked with (32+
/// characters each), <c>SignWith</c> the id of the one this process signs with. Rotation: add the new key
/// everywhere, then sign with it everywhere, then remove the old one.
/// </summary>
public sealed class BusSigningOptions
{
    public const string Section = "Bus";

    /// <summary>The documented development key (id <c>dev</c>); any other environment refuses to start with it.</summary>
    public const string DevelopmentKey = "taskhub-development-bus-key-change-me";

    public Dictionary<string, string> SigningKeys { get; set; } = [];

    public string SignWith { get; set; } = "";
}

public sealed class BusSigningOptionsValidator(IHostEnvironment environment) : IValidateOptions<BusSigningOptions>
{
    public ValidateOptionsResult Validate(string? name, BusSigningOptions o)
    {
        const string s = BusSigningOptions.Section;
        var errors = new List<string>();
        if (o.SigningKeys.Count == 0)
            errors.Add($"{s}:SigningKeys must hold at least one key ({s}:SigningKeys:<id>); task messages are signed with it.");
        foreach (var (id, key) in o.SigningKeys)
        {
            if (key.Length < 32)
                errors.Add($"{s}:SigningKeys:{id} must be at least 32 characters.");
            else if (key == BusSigningOptions.DevelopmentKey && !environment.IsDevelopment())
                errors.Add($"{s}:SigningKeys:{id} is the documented development key; set a secret key outside the Development environment.");
        }
        if (!o.SigningKeys.ContainsKey(o.SignWith))
            errors.Add($"{s}:SignWith must name one of {s}:SigningKeys (was '{o.SignWith}').");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>Signs and checks task messages: HMAC-SHA256 over the message's JSON, in the header <c>TaskHub-Signature: &lt;key id&gt;:&lt;base64&gt;</c>.</summary>
public sealed class MessageSigner(IOptions<BusSigningOptions> options)
{
    public const string Header = "TaskHub-Signature";

    /// <summary>The keys' bytes, made once: every task message is signed or checked with one.</summary>
    readonly Dictionary<string, byte[]> _keys = options.Value.SigningKeys.ToDictionary(k => k.Key, k => Encoding.UTF8.GetBytes(k.Value));
    readonly string _signWith = options.Value.SignWith;

    /// <summary>The message as it is signed: the same bytes on both sides, whatever envelope carried it.</summary>
    static readonly JsonSerializerOptions Canonical = new(JsonSerializerDefaults.Web);

    public string Sign<T>(T message) where T : class => $"{_signWith}:{Convert.ToBase64String(Mac(_keys[_signWith], message))}";

    /// <summary>Why <paramref name="signature"/> does not sign <paramref name="message"/>, or null when it does.</summary>
    public string? Refusal<T>(T message, string? signature) where T : class
    {
        if (string.IsNullOrEmpty(signature))
            return "the message is not signed";
        var separator = signature.IndexOf(':');
        if (separator <= 0)
            return "the signature is malformed";
        var id = signature[..separator];
        if (!_keys.TryGetValue(id, out var key))
            return $"the message is signed with key '{id}', which is not (or no longer) a verification key";
        Span<byte> given = stackalloc byte[32];
        if (!Convert.TryFromBase64String(signature[(separator + 1)..], given, out var length) || length != 32)
            return "the signature is malformed";
        return CryptographicOperations.FixedTimeEquals(given, Mac(key, message)) ? null : "the signature does not match the message";
    }

    static byte[] Mac<T>(byte[] key, T message) where T : class =>
        HMACSHA256.HashData(key, JsonSerializer.SerializeToUtf8Bytes(message, typeof(T), Canonical));
}

/// <summary>Adds the signature to every task message sent or published.</summary>
public sealed class SignTaskMessageFilter<T>(MessageSigner signer) : IFilter<SendContext<T>>, IFilter<PublishContext<T>> where T : class
{
    public Task Send(SendContext<T> context, IPipe<SendContext<T>> next)
    {
        Sign(context);
        return next.Send(context);
    }

    void Sign(SendContext<T> context)
    {
        if (context.Message is ITaskMessage)
            context.Headers.Set(MessageSigner.Header, signer.Sign(context.Message));
    }

    public Task Send(PublishContext<T> context, IPipe<PublishContext<T>> next)
    {
        Sign(context);
        return next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("signTaskMessage");
}

/// <summary>
/// Refuses a task message whose signature is missing, forged, or made with a retired key before any
/// consumer sees it: the message goes to the error queue and its task (if there is one) fails with
/// <c>signature</c>, so nothing waits for work that will not run.
/// </summary>
public sealed class VerifyTaskMessageFilter<T>(MessageSigner signer, TimeProvider time, ILogger<MessageSigner> logger)
    : IFilter<ConsumeContext<T>> where T : class
{
    public async Task Send(ConsumeContext<T> context, IPipe<ConsumeContext<T>> next)
    {
        if (context.Message is ITaskMessage task
            && signer.Refusal(context.Message, context.Headers.Get<string>(MessageSigner.Header)) is { } refusal)
        {
            logger.LogWarning("Refused {MessageType} for task {TaskId}: {Refusal}", typeof(T).Name, task.TaskId, refusal);
            if (context.Message is not TaskFailed)
                await context.Publish(new TaskFailed(task.TaskId, 0, $"signature: {refusal}", time.GetUtcNow()));
            throw new MessageSignatureException($"{typeof(T).Name} for task {task.TaskId} refused: {refusal}");
        }
        await next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("verifyTaskMessage");
}

public sealed class MessageSignatureException(string message) : Exception(message);

/// <summary>
/// Every log line written while a task message is consumed carries the task's id (and name, when the
/// message has it) in its scope, beside the trace id the host adds.
/// </summary>
public sealed class TaskLogScopeFilter<T>(ILogger<TaskLogScopeFilter<T>> logger) : IFilter<ConsumeContext<T>> where T : class
{
    public async Task Send(ConsumeContext<T> context, IPipe<ConsumeContext<T>> next)
    {
        if (context.Message is not ITaskMessage task)
        {
            await next.Send(context);
            return;
        }
        // Never throws, whatever the message holds: a malformed one is its consumer's to fail (and fault).
        var scope = new Dictionary<string, object?> { ["TaskId"] = task.TaskId };
        var name = (context.Message as ExecuteTask)?.Signature?.Name ?? (context.Message as SubmitTask)?.Signature?.Name;
        if (name is not null)
            scope["TaskName"] = name;
        using (logger.BeginScope(scope))
            await next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("taskLogScope");
}

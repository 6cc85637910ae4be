namespace TaskHub.Api.CallbackCenter;

/// <summary>The seed's answer shape: <c>{"ok": true, "data": ...}</c>.</summary>
public sealed record CenterReply(bool Ok, object? Data);

namespace TaskHub.Tests.Infrastructure;

/// <summary>Base of integration tests: each test gets its own <see cref="TestSystem"/> (vhost and database), so no host of one test sees another's messages.</summary>
public abstract class SystemTest : IAsyncLifetime
{
    protected TestSystem System { get; } = new();

    public virtual Task InitializeAsync() => System.InitializeAsync();

    public virtual Task DisposeAsync() => System.DisposeAsync();
}

using Microsoft.Extensions.Options;
using Npgsql;
using TaskHub.Contracts.Options;
using TaskHub.Hosting.Persistence;

namespace TaskHub.Api.PullQueue;

/// <summary>
/// The pull queue's own connection pool, whose sessions never plan a sequential scan. Every pull queue
/// statement has an index that answers it, but a plan PostgreSQL caches for a prepared statement while
/// a table is empty (a fresh install, or a queue drained just before autovacuum looked) reads the
/// whole table on every execution once it has grown, until the statistics change. Planning each
/// execution afresh would avoid that too, at a fifth of the cycles (measured, issue 19).
/// </summary>
public sealed class PullQueueDatabase(IOptions<AsyncTaskOptions> options) : IAsyncDisposable
{
    public NpgsqlDataSource Source { get; } = TaskHubDatabase.CreateDataSource(options.Value.ResultBackend, "enable_seqscan=off");

    public ValueTask DisposeAsync() => Source.DisposeAsync();
}

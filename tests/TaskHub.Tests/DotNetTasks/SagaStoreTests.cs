using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using TaskHub.Contracts.Messages;
using TaskHub.Hosting.Outbox;
using TaskHub.Scheduler.Outbox;
using TaskHub.Scheduler.Persistence.Sagas;
using TaskHub.Scheduler.Persistence;
using TaskHub.Scheduler.Tasks;
using TaskHub.Tests.Infrastructure;

namespace TaskHub.Tests.DotNetTasks;

/// <summary>
/// The saga rows of concurrent events are loaded and written in shared round trips (PostgreSQL, real):
/// each caller must still get exactly its own outcome.
/// </summary>
public sealed class SagaStoreTests : SystemTest
{
    SagaStore<TaskState, TaskHubDbContext> store = null!;
    NpgsqlDataSource database = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        var options = new DbContextOptionsBuilder<TaskHubDbContext>();
        TaskHubDbContext.Configure(options, System.Database);
        database = NpgsqlDataSource.Create(System.Database);
        store = new SagaStore<TaskState, TaskHubDbContext>(new PooledDbContextFactory<TaskHubDbContext>(options.Options),
            new OutboxTable(database, Options.Create(new OutboxOptions()), TimeProvider.System));
    }

    public override async Task DisposeAsync()
    {
        await store.DisposeAsync();
        await database.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
        await base.DisposeAsync();
    }

    static TaskState NewTask(string name = "Noop") =>
        new() { CorrelationId = Guid.NewGuid(), CurrentState = "Waiting", Name = name, Queue = "q", CreatedAt = DateTimeOffset.UtcNow };

    [Fact]
    public async Task Concurrent_inserts_and_loads_each_get_their_own_row()
    {
        var tasks = Enumerable.Range(0, 200).Select(i => NewTask($"task-{i}")).ToArray();
        Assert.All(await Task.WhenAll(tasks.Select(t => store.InsertAsync(t))), Assert.True);
        Assert.Equal(200, await System.CountAsync("SELECT count(*) FROM tasks"));

        // Asked together: every task, one of them three times, and an id that does not exist.
        var ids = tasks.Select(t => t.CorrelationId).Concat([tasks[7].CorrelationId, tasks[7].CorrelationId, Guid.NewGuid()]).ToArray();
        var loaded = await Task.WhenAll(ids.Select(store.LoadAsync));

        for (var i = 0; i < 200; i++)
        {
            Assert.Equal(tasks[i].CorrelationId, loaded[i]!.CorrelationId);
            Assert.Equal($"task-{i}", loaded[i]!.Name);
            Assert.Equal(tasks[i].Version, loaded[i]!.Version);
        }
        Assert.Null(loaded[^1]);
        // Each caller changes its own copy.
        Assert.Equal("task-7", loaded[200]!.Name);
        Assert.Equal(3, new[] { loaded[7], loaded[200], loaded[201] }.Distinct(ReferenceEqualityComparer.Instance).Count());
    }

    [Fact]
    public async Task A_second_insert_of_an_id_is_refused_and_changes_nothing()
    {
        var first = NewTask("first");
        Assert.True(await store.InsertAsync(first));

        var second = NewTask("second");
        second.CorrelationId = first.CorrelationId;
        Assert.False(await store.InsertAsync(second));

        Assert.Equal(1, await System.CountAsync($"SELECT count(*) FROM tasks WHERE id = '{first.CorrelationId}' AND name = 'first'"));
    }

    [Fact]
    public async Task An_update_from_a_stale_copy_is_refused_and_the_newer_write_stays()
    {
        var task = NewTask();
        await store.InsertAsync(task);
        var a = (await store.LoadAsync(task.CorrelationId))!;
        var b = (await store.LoadAsync(task.CorrelationId))!;

        a.Name = "written by a";
        Assert.True(await store.UpdateAsync(a));
        Assert.NotEqual(b.Version, a.Version);
        b.Name = "written by b";
        Assert.False(await store.UpdateAsync(b));
        Assert.False(await store.DeleteAsync(b));

        Assert.Equal(1, await System.CountAsync($"SELECT count(*) FROM tasks WHERE id = '{task.CorrelationId}' AND name = 'written by a'"));
        var reloaded = (await store.LoadAsync(task.CorrelationId))!;
        Assert.Equal(a.Version, reloaded.Version);
        Assert.True(await store.DeleteAsync(reloaded));
        Assert.Null(await store.LoadAsync(task.CorrelationId));
    }

    [Fact]
    public async Task A_write_the_database_rejects_fails_alone_and_the_rest_of_its_batch_is_stored()
    {
        var good = Enumerable.Range(0, 50).Select(i => NewTask($"good-{i}")).ToArray();
        // current_state is varchar(64).
        var bad = NewTask();
        bad.CurrentState = new string('x', 100);

        var writes = good.Take(25).Select(t => store.InsertAsync(t)).Append(store.InsertAsync(bad)).Concat(good.Skip(25).Select(t => store.InsertAsync(t))).ToArray();
        var failure = await Assert.ThrowsAsync<PostgresException>(() => writes[25]);

        Assert.Equal(PostgresErrorCodes.StringDataRightTruncation, failure.SqlState);
        Assert.All(await Task.WhenAll(writes.Where((_, i) => i != 25)), Assert.True);
        Assert.Equal(50, await System.CountAsync("SELECT count(*) FROM tasks"));
        Assert.Equal(0u, bad.Version);
    }

    [Fact]
    public async Task Outbox_messages_are_written_with_their_row_and_not_at_all_when_the_write_loses_its_race()
    {
        var task = NewTask();
        var first = OutboxMessage.Publish(new ReleaseGroupSlot(task.CorrelationId, "g"));
        Assert.True(await store.InsertAsync(task, [first]));
        Assert.Equal(1, await System.CountAsync($"SELECT count(*) FROM outbox_messages WHERE id = '{first.Id}'"));

        // Two updates from the same loaded version: the second loses, and its message is not written.
        var stale = (await store.LoadAsync(task.CorrelationId))!;
        task.CurrentState = "Running";
        var won = OutboxMessage.Send(new Uri("queue:q"), new ExecuteTask(task.CorrelationId, new("Noop", []), null));
        Assert.True(await store.UpdateAsync(task, [won]));
        stale.CurrentState = "Succeeded";
        var lost = OutboxMessage.Publish(new ReleaseGroupSlot(task.CorrelationId, "g"));
        Assert.False(await store.UpdateAsync(stale, [lost]));

        Assert.Equal(2, await System.CountAsync("SELECT count(*) FROM outbox_messages"));
        Assert.Equal(0, await System.CountAsync($"SELECT count(*) FROM outbox_messages WHERE id = '{lost.Id}'"));
        // What was written reads back as the message that was staged.
        await using var read = database.CreateCommand("SELECT destination, message_type, body FROM outbox_messages WHERE id = $1");
        read.Parameters.AddWithValue(won.Id);
        await using var row = await read.ExecuteReaderAsync();
        Assert.True(await row.ReadAsync());
        var back = OutboxMessage.Read(won.Id, row.GetString(0), row.GetString(1), row.GetString(2));
        Assert.Equal(new Uri("queue:q"), back.Destination);
        Assert.Equal(task.CorrelationId, Assert.IsType<ExecuteTask>(back.Message).TaskId);
    }
}

using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace TaskHub.Scheduler.Persistence.Migrations;

/// <summary>
/// Delayed starts (issue 18, <c>Eta</c>/<c>Countdown</c>): a delayed task's due time (<c>start_at</c>) is its durable timer, and
/// <c>claimed_until</c> the Scheduler holding it in memory, as the callbacks' timers; the partial index keeps the timers' poll
/// off every other task.
/// </summary>
[DbContext(typeof(TaskHubDbContext))]
[Migration("20261202000020_DelayedStarts")]
public sealed class M0020_DelayedStarts : Migration
{
    protected override void Up(MigrationBuilder m) => m.Sql("""
        ALTER TABLE tasks ADD COLUMN start_at timestamptz, ADD COLUMN claimed_until timestamptz;
        CREATE INDEX tasks_delayed_start_at ON tasks (start_at) WHERE current_state = 'Delayed';
        """);

    protected override void Down(MigrationBuilder m) => m.Sql("""
        DROP INDEX tasks_delayed_start_at;
        ALTER TABLE tasks DROP COLUMN start_at, DROP COLUMN claimed_until;
        """);
}

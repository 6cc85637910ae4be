using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace TaskHub.Scheduler.Persistence.Migrations;

/// <summary>
/// <c>/callback/new</c> timers live on their own rows instead of Quartz: when each callback fires
/// next, and until when one Scheduler holds that fire in memory (see <c>CallbackTimers</c>).
/// </summary>
[DbContext(typeof(TaskHubDbContext))]
[Migration("20261123000007_CallbackTimers")]
public sealed class M0007_CallbackTimers : Migration
{
    protected override void Up(MigrationBuilder m)
    {
        m.Sql("""
            ALTER TABLE callbacks ADD COLUMN next_due_at timestamptz, ADD COLUMN claimed_until timestamptz;
            UPDATE callbacks SET next_due_at = created_at + make_interval(secs => coalesce(delay_ms, interval_ms, 0) / 1000.0)
                WHERE state = 'active';
            -- Pending fires in due order: what every Scheduler's poll reads.
            CREATE INDEX ix_callbacks_next_due ON callbacks (next_due_at) WHERE state = 'active';
            -- Callback timers armed on Quartz before this migration now fire from their rows.
            DELETE FROM qrtz_simple_triggers WHERE trigger_group = 'callback';
            DELETE FROM qrtz_triggers WHERE trigger_group = 'callback';
            DELETE FROM qrtz_job_details WHERE job_group = 'callback';
            """);
    }

    protected override void Down(MigrationBuilder m) => m.Sql("""
        DROP INDEX ix_callbacks_next_due;
        ALTER TABLE callbacks DROP COLUMN next_due_at, DROP COLUMN claimed_until;
        """);
}

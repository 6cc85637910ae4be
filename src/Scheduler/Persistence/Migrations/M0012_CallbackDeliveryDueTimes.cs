using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace TaskHub.Scheduler.Persistence.Migrations;

/// <summary>
/// A task callback's delivery is a due time: one attempt at a time, and between attempts the row waits,
/// not a message or a consumer slot. <c>next_attempt_at</c> is when the next attempt may start; while
/// one is running it is the end of that attempt's claim, so a Scheduler that died mid-attempt is taken
/// over when it lapses. The body is kept to deliver again.
/// </summary>
[DbContext(typeof(TaskHubDbContext))]
[Migration("20261201000012_CallbackDeliveryDueTimes")]
public sealed class M0012_CallbackDeliveryDueTimes : Migration
{
    protected override void Up(MigrationBuilder m) => m.Sql("""
        ALTER TABLE callback_deliveries ADD COLUMN body text, ADD COLUMN attempts int NOT NULL DEFAULT 0, ADD COLUMN next_attempt_at timestamptz;
        UPDATE callback_deliveries SET next_attempt_at = coalesce(claimed_until, now()) WHERE delivered_at IS NULL AND gave_up_at IS NULL;
        ALTER TABLE callback_deliveries DROP COLUMN claimed_until;
        CREATE INDEX ix_callback_deliveries_due ON callback_deliveries (next_attempt_at) WHERE delivered_at IS NULL AND gave_up_at IS NULL;
        """);

    protected override void Down(MigrationBuilder m) => m.Sql("""
        DROP INDEX ix_callback_deliveries_due;
        ALTER TABLE callback_deliveries ADD COLUMN claimed_until timestamptz;
        ALTER TABLE callback_deliveries DROP COLUMN body, DROP COLUMN attempts, DROP COLUMN next_attempt_at;
        """);
}

using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace TaskHub.Scheduler.Persistence.Migrations;

/// <summary>
/// A callback fire is claimed for as long as its delivery may take and settled when it is done, so
/// a fire whose Scheduler died mid-delivery is taken over once its claim lapses.
/// </summary>
[DbContext(typeof(TaskHubDbContext))]
[Migration("20261123000009_CallbackFireClaims")]
public sealed class M0009_CallbackFireClaims : Migration
{
    protected override void Up(MigrationBuilder m) => m.Sql("""
        ALTER TABLE callback_fires ADD COLUMN claimed_until timestamptz, ADD COLUMN settled_at timestamptz;
        UPDATE callback_fires SET settled_at = fired_at;
        CREATE INDEX ix_callback_fires_unsettled ON callback_fires (claimed_until) WHERE settled_at IS NULL;
        """);

    protected override void Down(MigrationBuilder m) => m.Sql("""
        DROP INDEX ix_callback_fires_unsettled;
        ALTER TABLE callback_fires DROP COLUMN claimed_until, DROP COLUMN settled_at;
        """);
}

using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace TaskHub.Scheduler.Persistence.Migrations;

/// <summary>
/// Rate limits (issue 20): per limited key (<c>task:&lt;name&gt;</c>, <c>group:&lt;name&gt;</c>, <c>host:&lt;host&gt;</c>) the
/// earliest time its next start may be (<c>next_at</c>), which every Worker advances in one statement as it reserves a start,
/// so the budget is the cluster's. A task held back shows until when and by what (<c>throttled_until</c>, <c>throttled_by</c>);
/// a task keeps the rate its request gave its group (<c>group_rate</c>) for a retry.
/// </summary>
[DbContext(typeof(TaskHubDbContext))]
[Migration("20261201000016_RateLimits")]
public sealed class M0016_RateLimits : Migration
{
    protected override void Up(MigrationBuilder m) => m.Sql("""
        CREATE TABLE rate_limits (
            key     text PRIMARY KEY,
            next_at timestamptz NOT NULL
        );
        ALTER TABLE tasks ADD COLUMN throttled_until timestamptz, ADD COLUMN throttled_by text, ADD COLUMN group_rate text;
        """);

    protected override void Down(MigrationBuilder m) => m.Sql("""
        DROP TABLE rate_limits;
        ALTER TABLE tasks DROP COLUMN throttled_until, DROP COLUMN throttled_by, DROP COLUMN group_rate;
        """);
}

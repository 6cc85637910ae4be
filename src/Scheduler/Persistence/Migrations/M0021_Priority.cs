using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace TaskHub.Scheduler.Persistence.Migrations;

/// <summary>
/// Priorities (issue 18): a task's signature priority (0–9), kept so that every send of its work (a stored retry, an
/// operator's retry, its group's dispatch) carries it. Numbered 21: 19 and 20 are taken by the workflow saga's.
/// </summary>
[DbContext(typeof(TaskHubDbContext))]
[Migration("20261202000021_Priority")]
public sealed class M0021_Priority : Migration
{
    protected override void Up(MigrationBuilder m) => m.Sql("ALTER TABLE tasks ADD COLUMN priority smallint NOT NULL DEFAULT 0;");

    protected override void Down(MigrationBuilder m) => m.Sql("ALTER TABLE tasks DROP COLUMN priority;");
}

using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace TaskHub.Scheduler.Persistence.Migrations;

/// <summary>
/// Each resource records the name of the API key that created it (null: created anonymously, by a .NET
/// producer on the bus, or before keys existed); a key that is not admin sees and manages only its own.
/// No index: every lookup by owner is also by id. A task also keeps the trace its submission came in
/// (<c>trace_parent</c>), so its callback is delivered in that trace even when the confirm came without one;
/// a callback keeps its request's, which its fires are delivered in; a pull-queue task keeps its put's,
/// which its acquire and reply link to.
/// </summary>
[DbContext(typeof(TaskHubDbContext))]
[Migration("20261201000013_Owners")]
public sealed class M0013_Owners : Migration
{
    protected override void Up(MigrationBuilder m) => m.Sql("""
        ALTER TABLE tasks ADD COLUMN owner text, ADD COLUMN trace_parent text;
        ALTER TABLE callbacks ADD COLUMN owner text, ADD COLUMN trace_parent text;
        ALTER TABLE cron_tasks ADD COLUMN owner text;
        ALTER TABLE queue_items ADD COLUMN trace_parent text;
        """);

    protected override void Down(MigrationBuilder m) => m.Sql("""
        ALTER TABLE tasks DROP COLUMN owner, DROP COLUMN trace_parent;
        ALTER TABLE callbacks DROP COLUMN owner, DROP COLUMN trace_parent;
        ALTER TABLE cron_tasks DROP COLUMN owner;
        ALTER TABLE queue_items DROP COLUMN trace_parent;
        """);
}

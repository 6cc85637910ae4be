using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace TaskHub.Scheduler.Persistence.Migrations;

/// <summary>
/// Workflows, first part (issue 18): the signatures a task sends when it succeeds (<c>on_success</c>) and when a run of it
/// fails (<c>on_error</c>), kept with the task from its submission so that a Scheduler that dies meanwhile loses none.
/// </summary>
[DbContext(typeof(TaskHubDbContext))]
[Migration("20261201000018_Followers")]
public sealed class M0018_Followers : Migration
{
    protected override void Up(MigrationBuilder m) => m.Sql("ALTER TABLE tasks ADD COLUMN on_success jsonb, ADD COLUMN on_error jsonb;");

    protected override void Down(MigrationBuilder m) => m.Sql("ALTER TABLE tasks DROP COLUMN on_success, DROP COLUMN on_error;");
}

using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace TaskHub.Scheduler.Persistence.Migrations;

/// <summary>Lets the sweeper find finished callbacks past the retention without scanning the table.</summary>
[DbContext(typeof(TaskHubDbContext))]
[Migration("20261123000008_Retention")]
public sealed class M0008_Retention : Migration
{
    protected override void Up(MigrationBuilder m) =>
        m.Sql("CREATE INDEX ix_callbacks_finished ON callbacks (updated_at) WHERE state <> 'active';");

    protected override void Down(MigrationBuilder m) => m.Sql("DROP INDEX ix_callbacks_finished;");
}

using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace TaskHub.Scheduler.Persistence.Migrations;

/// <summary>Lets the sweeper find a running callback's settled fires past the retention without scanning the table.</summary>
[DbContext(typeof(TaskHubDbContext))]
[Migration("20261123000010_FireRetention")]
public sealed class M0010_FireRetention : Migration
{
    protected override void Up(MigrationBuilder m) =>
        m.Sql("CREATE INDEX ix_callback_fires_settled ON callback_fires (settled_at) WHERE settled_at IS NOT NULL;");

    protected override void Down(MigrationBuilder m) => m.Sql("DROP INDEX ix_callback_fires_settled;");
}

using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace TaskHub.Scheduler.Persistence.Migrations;

[DbContext(typeof(TaskHubDbContext))]
[Migration("20261123000001_Tasks")]
public sealed class M0001_Tasks : Migration
{
    protected override void Up(MigrationBuilder m)
    {
        m.Sql("""
            CREATE TABLE tasks (
                id            uuid PRIMARY KEY,
                current_state varchar(64) NOT NULL,
                name          text NOT NULL,
                args          jsonb NOT NULL DEFAULT '[]',
                queue         text NOT NULL,
                current       integer NOT NULL DEFAULT 0,
                total         integer NOT NULL DEFAULT 0,
                message       text,
                progress_at   timestamptz,
                response      jsonb,
                error         text,
                attempts      integer NOT NULL DEFAULT 0,
                created_at    timestamptz NOT NULL,
                started_at    timestamptz,
                deadline      timestamptz,
                finished_at   timestamptz,
                expires_at    timestamptz
            );
            -- The sweeper's two scans: expired results, and started tasks past their deadline.
            CREATE INDEX ix_tasks_expires_at ON tasks (expires_at) WHERE expires_at IS NOT NULL;
            CREATE INDEX ix_tasks_deadline ON tasks (deadline) WHERE current_state = 'Running';
            """);
    }

    protected override void Down(MigrationBuilder m) => m.Sql("DROP TABLE tasks;");
}

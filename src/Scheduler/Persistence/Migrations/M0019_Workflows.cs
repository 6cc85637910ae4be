using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace TaskHub.Scheduler.Persistence.Migrations;

/// <summary>
/// Workflows (issue 18): chains, groups and chords as a saga of their own, each member's progress in <c>members</c>, and the
/// tasks' link to the workflow they are a member of (<c>workflow_id</c>, <c>workflow_index</c>).
/// </summary>
[DbContext(typeof(TaskHubDbContext))]
[Migration("20261202000019_Workflows")]
public sealed class M0019_Workflows : Migration
{
    protected override void Up(MigrationBuilder m) => m.Sql("""
        CREATE TABLE workflows (
            id uuid PRIMARY KEY,
            current_state varchar(64) NOT NULL,
            kind text NOT NULL,
            spec jsonb NOT NULL,
            input jsonb,
            members jsonb NOT NULL,
            owner text,
            callback_url text,
            parent_id uuid,
            parent_index integer NOT NULL DEFAULT 0,
            result jsonb,
            error text,
            created_at timestamptz NOT NULL,
            finished_at timestamptz,
            expires_at timestamptz
        );
        CREATE INDEX workflows_expires_at ON workflows (expires_at) WHERE expires_at IS NOT NULL;
        ALTER TABLE tasks ADD COLUMN workflow_id uuid, ADD COLUMN workflow_index integer NOT NULL DEFAULT 0;
        """);

    protected override void Down(MigrationBuilder m) => m.Sql("""
        DROP TABLE workflows;
        ALTER TABLE tasks DROP COLUMN workflow_id, DROP COLUMN workflow_index;
        """);
}

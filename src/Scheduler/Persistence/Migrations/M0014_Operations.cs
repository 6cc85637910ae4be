using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace TaskHub.Scheduler.Persistence.Migrations;

/// <summary>
/// What operators need (issue 16). A task keeps what a retry needs to run it again (<c>policy</c>, an
/// HTTP task's <c>http</c> call), the runs retries closed (<c>runs</c>) and the first attempt of the
/// current run (<c>run_from</c>). The task list pages newest first by (<c>created_at</c>, <c>id</c>),
/// alone or within a state or a name; the per-minute outcomes read <c>finished_at</c>; text searched in a name
/// or an error (<c>q</c>) is found by trigrams (pg_trgm, a trusted extension the database's owner may create),
/// only the failed tasks' errors indexed. Each index costs
/// every task's writes: bench/README says how much. Workers heartbeat into <c>workers</c>.
/// </summary>
[DbContext(typeof(TaskHubDbContext))]
[Migration("20261201000014_Operations")]
public sealed class M0014_Operations : Migration
{
    protected override void Up(MigrationBuilder m) => m.Sql("""
        ALTER TABLE tasks ADD COLUMN policy jsonb, ADD COLUMN http jsonb, ADD COLUMN runs jsonb, ADD COLUMN run_from integer NOT NULL DEFAULT 1;
        CREATE INDEX ix_tasks_created ON tasks (created_at DESC, id DESC);
        CREATE INDEX ix_tasks_state_created ON tasks (current_state, created_at DESC, id DESC);
        CREATE INDEX ix_tasks_name_created ON tasks (name, created_at DESC, id DESC);
        CREATE INDEX ix_tasks_group_created ON tasks (group_name, created_at DESC, id DESC) WHERE group_name IS NOT NULL;
        CREATE INDEX ix_tasks_finished_at ON tasks (finished_at) WHERE finished_at IS NOT NULL;
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE INDEX ix_tasks_name_trgm ON tasks USING gin (name gin_trgm_ops);
        CREATE INDEX ix_tasks_error_trgm ON tasks USING gin (error gin_trgm_ops) WHERE error IS NOT NULL;
        CREATE TABLE workers (
            id           text PRIMARY KEY,
            host         text NOT NULL,
            process_id   integer NOT NULL,
            queues       text[] NOT NULL,
            concurrency  integer NOT NULL,
            in_flight    integer NOT NULL,
            version      text NOT NULL,
            started_at   timestamptz NOT NULL,
            last_seen_at timestamptz NOT NULL,
            stopped_at   timestamptz
        );
        """);

    protected override void Down(MigrationBuilder m) => m.Sql("""
        DROP TABLE workers;
        DROP INDEX ix_tasks_created; DROP INDEX ix_tasks_state_created; DROP INDEX ix_tasks_name_created;
        DROP INDEX ix_tasks_group_created; DROP INDEX ix_tasks_finished_at; DROP INDEX ix_tasks_name_trgm; DROP INDEX ix_tasks_error_trgm;
        ALTER TABLE tasks DROP COLUMN policy, DROP COLUMN http, DROP COLUMN runs, DROP COLUMN run_from;
        """);
}

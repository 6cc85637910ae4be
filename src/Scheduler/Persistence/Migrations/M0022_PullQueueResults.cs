using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace TaskHub.Scheduler.Persistence.Migrations;

/// <summary>
/// Pull queue results out of the rows consumers scan (issue 19). Replied tasks stayed in
/// <c>queue_items</c> for their cache time, so with stale statistics a peek read every cached result
/// of its queue. Now <c>queue_items</c> holds only waiting and acquired tasks, a reply moves the task
/// to <c>queue_results</c>, and a peek reads an index of the waiting tasks alone, whatever the
/// planner believes about the table.
/// </summary>
[DbContext(typeof(TaskHubDbContext))]
[Migration("20261202000022_PullQueueResults")]
public sealed class M0022_PullQueueResults : Migration
{
    protected override void Up(MigrationBuilder m) => m.Sql("""
        CREATE TABLE queue_results (
            queue      text NOT NULL,
            id         text NOT NULL,
            -- The task's place and acquisition when it was replied, for /task/status.
            seq        bigint NOT NULL,
            lease      integer NOT NULL,
            info       jsonb NOT NULL,
            content    bytea NOT NULL,
            replied_at timestamptz NOT NULL,
            expires_at timestamptz NOT NULL,
            PRIMARY KEY (queue, id)
        );
        -- The sweep of expired results.
        CREATE INDEX ix_queue_results_expires_at ON queue_results (expires_at);

        INSERT INTO queue_results (queue, id, seq, lease, info, content, replied_at, expires_at)
        SELECT queue, id, seq, lease, result_info, result_content, replied_at, expires_at FROM queue_items WHERE state = 'replied';
        DELETE FROM queue_items WHERE state = 'replied';

        DROP INDEX ix_queue_items_pending;
        ALTER TABLE queue_items
            DROP CONSTRAINT queue_items_state_check,
            ADD CONSTRAINT queue_items_state_check CHECK (state IN ('ready', 'acquired')),
            DROP COLUMN result_info, DROP COLUMN result_content, DROP COLUMN replied_at, DROP COLUMN expires_at;
        -- Peek: the waiting tasks of a queue in put order, and nothing else.
        CREATE INDEX ix_queue_items_ready ON queue_items (queue, seq) WHERE state = 'ready';
        """);

    protected override void Down(MigrationBuilder m) => m.Sql("""
        DROP INDEX ix_queue_items_ready;
        ALTER TABLE queue_items
            ADD COLUMN result_info jsonb, ADD COLUMN result_content bytea, ADD COLUMN replied_at timestamptz, ADD COLUMN expires_at timestamptz,
            DROP CONSTRAINT queue_items_state_check,
            ADD CONSTRAINT queue_items_state_check CHECK (state IN ('ready', 'acquired', 'replied'));
        INSERT INTO queue_items (queue, id, seq, info, content, cache_result_seconds, state, lease, result_info, result_content,
            created_at, replied_at, expires_at)
        SELECT queue, id, seq, info, content, 0, 'replied', lease, info, content, replied_at, replied_at, expires_at FROM queue_results
        ON CONFLICT (queue, id) DO NOTHING;
        CREATE UNIQUE INDEX ix_queue_items_pending ON queue_items (queue, seq) WHERE state <> 'replied';
        CREATE INDEX ix_queue_items_expires_at ON queue_items (expires_at) WHERE expires_at IS NOT NULL;
        DROP TABLE queue_results;
        """);
}

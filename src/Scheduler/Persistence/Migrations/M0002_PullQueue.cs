using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace TaskHub.Scheduler.Persistence.Migrations;

/// <summary>
/// The pull queue of seed 004 (<c>/task/put</c>, <c>/task/peek</c>, ...). The Api reads and writes
/// these rows with plain SQL; one row is one task of one queue, from its put to the end of its
/// cached result.
/// </summary>
[DbContext(typeof(TaskHubDbContext))]
[Migration("20261123000002_PullQueue")]
public sealed class M0002_PullQueue : Migration
{
    protected override void Up(MigrationBuilder m)
    {
        m.Sql("""
            -- Put order across all queues; a task whose lease ran out is given a new number so that
            -- consumers peeking after their cursor see it again.
            CREATE SEQUENCE queue_items_seq;

            CREATE TABLE queue_items (
                queue                text NOT NULL,
                id                   text NOT NULL,
                seq                  bigint NOT NULL DEFAULT nextval('queue_items_seq'),
                -- A result forwarded by a reply (to <queue>-result or forward_result_to); replying to it removes it.
                is_result            boolean NOT NULL DEFAULT false,
                info                 jsonb NOT NULL,
                content              bytea NOT NULL,
                -- Where the reply's result goes; NULL when only a /task/call caller waits for it.
                forward_to           text,
                cache_result_seconds double precision NOT NULL,
                state                varchar(16) NOT NULL DEFAULT 'ready' CHECK (state IN ('ready', 'acquired', 'replied')),
                -- Number of the latest acquisition; a reply naming an older one is late and refused.
                lease                integer NOT NULL DEFAULT 0,
                lease_until          timestamptz,
                result_info          jsonb,
                result_content       bytea,
                created_at           timestamptz NOT NULL,
                replied_at           timestamptz,
                expires_at           timestamptz,
                PRIMARY KEY (queue, id)
            );
            ALTER SEQUENCE queue_items_seq OWNED BY queue_items.seq;

            -- Peek and stat: the unreplied tasks of a queue in put order.
            CREATE UNIQUE INDEX ix_queue_items_pending ON queue_items (queue, seq) WHERE state <> 'replied';
            -- Leases that may have run out, per queue.
            CREATE INDEX ix_queue_items_leases ON queue_items (queue, lease_until) WHERE state = 'acquired';
            -- The sweep of expired results.
            CREATE INDEX ix_queue_items_expires_at ON queue_items (expires_at) WHERE expires_at IS NOT NULL;
            """);
    }

    protected override void Down(MigrationBuilder m) => m.Sql("DROP TABLE queue_items;"); // drops its owned sequence too
}

using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace TaskHub.Scheduler.Persistence.Migrations;

/// <summary>The HTTP callback center (seed 000): HTTP tasks, concurrency groups, callback deliveries, timed callbacks.</summary>
[DbContext(typeof(TaskHubDbContext))]
[Migration("20261123000005_CallbackCenter")]
public sealed class M0005_CallbackCenter : Migration
{
    protected override void Up(MigrationBuilder m)
    {
        m.Sql("""
            ALTER TABLE tasks
                ADD COLUMN callee       text,
                ADD COLUMN callback_url text,
                ADD COLUMN group_name   text;

            -- The gate of each concurrency group. Its row is locked while a dispatch decides,
            -- so any number of Schedulers agree on who runs next.
            CREATE TABLE task_groups (
                name      text PRIMARY KEY,
                parallels integer NOT NULL DEFAULT 1
            );

            -- Tasks of a group in submission order (seq). The Api inserts the row when it accepts
            -- the task, so the order is the order of acceptance; the saga marks it ready.
            CREATE TABLE group_members (
                task_id       uuid PRIMARY KEY,
                group_name    text NOT NULL,
                seq           bigserial NOT NULL,
                state         text NOT NULL DEFAULT 'waiting', -- waiting | running | done
                ready         boolean NOT NULL DEFAULT false,
                dispatch      jsonb,
                submitted_at  timestamptz NOT NULL,
                dispatched_at timestamptz,
                released_at   timestamptz
            );
            CREATE INDEX ix_group_members_open ON group_members (group_name, seq) WHERE state <> 'done';

            -- One delivery of a finished task's outcome to its callback URL, claimed by one consumer at a time.
            CREATE TABLE callback_deliveries (
                task_id       uuid PRIMARY KEY,
                url           text NOT NULL,
                claimed_until timestamptz,
                delivered_at  timestamptz,
                gave_up_at    timestamptz
            );
            CREATE TABLE callback_attempts (
                id          bigserial PRIMARY KEY,
                task_id     uuid NOT NULL,
                attempt     integer NOT NULL,
                at          timestamptz NOT NULL,
                http_status integer,
                error       text
            );
            CREATE INDEX ix_callback_attempts_task ON callback_attempts (task_id, attempt);

            -- /callback/new: a call now, after a delay, every interval, or debounced by key.
            CREATE TABLE callbacks (
                id           uuid PRIMARY KEY,
                callee       text,
                callback     text NOT NULL,
                body         text NOT NULL,
                mode         text NOT NULL,          -- now | timeout | interval | debounce
                delay_ms     bigint,
                interval_ms  bigint,
                max_count    integer,
                debounce_key text,
                fired        integer NOT NULL DEFAULT 0,
                state        text NOT NULL DEFAULT 'active', -- active | done | cancelled
                created_at   timestamptz NOT NULL,
                updated_at   timestamptz NOT NULL
            );
            -- At most one open debounce window per key.
            CREATE UNIQUE INDEX ux_callbacks_open_debounce ON callbacks (debounce_key) WHERE mode = 'debounce' AND state = 'active';
            CREATE TABLE callback_fires (
                id          bigserial PRIMARY KEY,
                callback_id uuid NOT NULL,
                fire        integer NOT NULL,
                due_at      timestamptz NOT NULL,
                fired_at    timestamptz NOT NULL,
                http_status integer,
                error       text,
                UNIQUE (callback_id, due_at)
            );
            """);
    }

    protected override void Down(MigrationBuilder m) => m.Sql("""
        DROP TABLE callback_fires; DROP TABLE callbacks; DROP TABLE callback_attempts; DROP TABLE callback_deliveries;
        DROP TABLE group_members; DROP TABLE task_groups;
        ALTER TABLE tasks DROP COLUMN callee, DROP COLUMN callback_url, DROP COLUMN group_name;
        """);
}

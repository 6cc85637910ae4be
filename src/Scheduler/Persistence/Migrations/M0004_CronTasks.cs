using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace TaskHub.Scheduler.Persistence.Migrations;

/// <summary>Scheduled offline tasks (seed 003): their definitions, and the history of every fire with each delivery attempt.</summary>
[DbContext(typeof(TaskHubDbContext))]
[Migration("20261123000004_CronTasks")]
public sealed class M0004_CronTasks : Migration
{
    protected override void Up(MigrationBuilder m)
    {
        m.Sql("""
            CREATE TABLE cron_tasks (
                id                uuid PRIMARY KEY,
                name              text NOT NULL,
                kind              varchar(8) NOT NULL,   -- 'cron' or 'quick'
                cron_job          jsonb,                 -- the six classic fields as given (cron)
                cron_expression   text,                  -- their Quartz translation (cron)
                run_at            timestamptz,           -- quick
                count             integer NOT NULL,      -- fires allowed per definition; 0 = unlimited
                start_at          timestamptz,
                stop_at           timestamptz,
                is_multiple_entry boolean NOT NULL,
                callback_url      text NOT NULL,
                callback_method   varchar(8) NOT NULL,
                callback_params   text,
                version           integer NOT NULL,      -- bumped by each PUT; fires of older versions are dropped
                fire_count        integer NOT NULL DEFAULT 0,
                state             varchar(16) NOT NULL,  -- ACTIVE or COMPLETED (count reached)
                created_at        timestamptz NOT NULL,
                updated_at        timestamptz NOT NULL
            );

            CREATE TABLE cron_task_fires (
                token        uuid PRIMARY KEY,
                task_id      uuid NOT NULL REFERENCES cron_tasks (id) ON DELETE CASCADE,
                version      integer NOT NULL,
                scheduled_at timestamptz NOT NULL,
                fired_at     timestamptz NOT NULL,
                status       varchar(16) NOT NULL,       -- RUNNING, SUCCESS, FAILED or SKIPPED
                http_status  integer,                    -- of the last attempt
                error        text,                       -- of the last attempt
                attempts     jsonb NOT NULL DEFAULT '[]',
                delivered_at timestamptz,                -- when delivery ended, answered or given up
                reported_at  timestamptz,                -- when the receiver reported SUCCESS or FAILED
                -- One row per tick: a fire published twice (Scheduler crash, redelivery) is delivered once.
                CONSTRAINT ux_cron_task_fires_tick UNIQUE (task_id, version, scheduled_at)
            );
            -- History is read newest first, per task or across all.
            CREATE INDEX ix_cron_task_fires_task ON cron_task_fires (task_id, fired_at DESC);
            CREATE INDEX ix_cron_task_fires_fired_at ON cron_task_fires (fired_at DESC);
            """);
    }

    protected override void Down(MigrationBuilder m) => m.Sql("DROP TABLE cron_task_fires; DROP TABLE cron_tasks;");
}

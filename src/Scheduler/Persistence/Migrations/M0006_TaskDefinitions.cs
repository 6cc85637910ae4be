using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace TaskHub.Scheduler.Persistence.Migrations;

/// <summary>Declared task types (seed 001): their capacity, and their lifecycle hooks delivered once each, in order.</summary>
[DbContext(typeof(TaskHubDbContext))]
[Migration("20261123000006_TaskDefinitions")]
public sealed class M0006_TaskDefinitions : Migration
{
    protected override void Up(MigrationBuilder m)
    {
        m.Sql("""
            ALTER TABLE tasks ADD COLUMN hook_seq integer NOT NULL DEFAULT 0;
            -- A type's waiting tasks are counted on every add (its capacity, "size").
            CREATE INDEX ix_tasks_waiting_queue ON tasks (queue) WHERE current_state = 'Waiting';

            -- Tasks of a type the Api accepted that the Scheduler may not have recorded yet: they
            -- count against the type's size, and a repeated caller-chosen id finds its first task.
            CREATE TABLE task_admissions (
                task_id     uuid PRIMARY KEY,
                definition  text NOT NULL,
                admitted_at timestamptz NOT NULL
            );
            CREATE INDEX ix_task_admissions_definition ON task_admissions (definition);

            -- A task's hooks in the order its saga raised them (seq); the key makes each one once-only.
            -- They go with their task when its result expires.
            CREATE TABLE task_hooks (
                task_id      uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
                seq          integer NOT NULL,
                definition   text NOT NULL,
                event        text NOT NULL,
                target       text NOT NULL,
                payload      jsonb NOT NULL,
                recorded_at  timestamptz NOT NULL,
                attempts     integer NOT NULL DEFAULT 0,
                last_error   text,
                delivered_at timestamptz,
                gave_up_at   timestamptz,
                PRIMARY KEY (task_id, seq)
            );
            """);
    }

    protected override void Down(MigrationBuilder m) => m.Sql("""
        DROP TABLE task_hooks; DROP TABLE task_admissions;
        DROP INDEX ix_tasks_waiting_queue;
        ALTER TABLE tasks DROP COLUMN hook_seq;
        """);
}

using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace TaskHub.Scheduler.Persistence.Migrations;

/// <summary>
/// Attempts a Worker let go of without an outcome (it stopped, or lost its broker, mid-attempt). The broker may not have
/// kept that work message (a broker killed before it wrote the message to disk), so the outbox's resent copy must be
/// able to run an attempt some Worker had reported started: it may when the attempt is released here and not yet taken
/// (<c>taken_at</c>) by the broker's redelivery or another resent copy. See <c>TaskFence</c>.
/// </summary>
[DbContext(typeof(TaskHubDbContext))]
[Migration("20261203000023_ReleasedAttempts")]
public sealed class M0023_ReleasedAttempts : Migration
{
    protected override void Up(MigrationBuilder m) => m.Sql("""
        CREATE TABLE released_attempts (
            task_id     uuid NOT NULL,
            -- The attempt the work message starts with.
            attempt     integer NOT NULL,
            released_at timestamptz NOT NULL,
            taken_at    timestamptz,
            PRIMARY KEY (task_id, attempt)
        );
        """);

    protected override void Down(MigrationBuilder m) => m.Sql("DROP TABLE released_attempts;");
}

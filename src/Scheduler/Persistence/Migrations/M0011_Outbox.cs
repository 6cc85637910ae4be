using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace TaskHub.Scheduler.Persistence.Migrations;

/// <summary>
/// The transactional outbox: messages that must follow a state change are written in the change's own
/// transaction and deleted once the broker confirmed them. <c>locked_until</c> is the sending
/// Scheduler's lease; a row past it belongs to whichever Scheduler's relay polls next.
/// </summary>
[DbContext(typeof(TaskHubDbContext))]
[Migration("20261201000011_Outbox")]
public sealed class M0011_Outbox : Migration
{
    protected override void Up(MigrationBuilder m) => m.Sql("""
        CREATE TABLE outbox_messages (
            id uuid PRIMARY KEY,
            destination text,
            message_type text NOT NULL,
            body text NOT NULL,
            created_at timestamptz NOT NULL,
            locked_until timestamptz NOT NULL,
            attempts int NOT NULL DEFAULT 0);
        CREATE INDEX ix_outbox_messages_locked ON outbox_messages (locked_until);
        """);

    protected override void Down(MigrationBuilder m) => m.Sql("DROP TABLE outbox_messages;");
}

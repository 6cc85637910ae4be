using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace TaskHub.Scheduler.Persistence.Migrations;

/// <summary>
/// The answers to requests that carried an <c>Idempotency-Key</c> (issue 20), per API key (<c>owner</c>, '' when
/// anonymous): the request's hash, and once answered its status and body. A row without a status is a first
/// request still running. Kept until <c>expires_at</c> (<c>Api:IdempotencyWindow</c>).
/// </summary>
[DbContext(typeof(TaskHubDbContext))]
[Migration("20261201000015_IdempotencyKeys")]
public sealed class M0015_IdempotencyKeys : Migration
{
    protected override void Up(MigrationBuilder m) => m.Sql("""
        CREATE TABLE idempotency_keys (
            owner        text NOT NULL,
            key          text NOT NULL,
            request_hash bytea NOT NULL,
            status       integer,
            content_type text,
            response     text,
            created_at   timestamptz NOT NULL,
            expires_at   timestamptz NOT NULL,
            PRIMARY KEY (owner, key)
        );
        CREATE INDEX ix_idempotency_keys_expires_at ON idempotency_keys (expires_at);
        """);

    protected override void Down(MigrationBuilder m) => m.Sql("DROP TABLE idempotency_keys;");
}

using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace TaskHub.Scheduler.Persistence.Migrations;

/// <summary>
/// Deduplication windows (issue 20): per scope (<c>callback\n&lt;owner&gt;</c>, <c>task</c>) and fingerprint of what was
/// asked, the id of the work the first request created, kept until <c>expires_at</c>; a repeat within it gets that id.
/// </summary>
[DbContext(typeof(TaskHubDbContext))]
[Migration("20261201000017_Deduplications")]
public sealed class M0017_Deduplications : Migration
{
    protected override void Up(MigrationBuilder m) => m.Sql("""
        CREATE TABLE deduplications (
            scope       text NOT NULL,
            fingerprint bytea NOT NULL,
            id          uuid NOT NULL,
            expires_at  timestamptz NOT NULL,
            PRIMARY KEY (scope, fingerprint)
        );
        CREATE INDEX ix_deduplications_expires_at ON deduplications (expires_at);
        """);

    protected override void Down(MigrationBuilder m) => m.Sql("DROP TABLE deduplications;");
}

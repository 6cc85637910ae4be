using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;
using TaskHub.Hosting.Persistence;
using TaskHub.Scheduler.Tasks;
using TaskHub.Scheduler.Workflows;

namespace TaskHub.Scheduler.Persistence;

/// <summary>The shared schema. The Scheduler owns it and migrates it; the Api reads it with plain SQL.</summary>
public sealed class TaskHubDbContext(DbContextOptions<TaskHubDbContext> options) : DbContext(options)
{
    public DbSet<TaskState> Tasks => Set<TaskState>();
    public DbSet<WorkflowState> Workflows => Set<WorkflowState>();

    protected override void OnModelCreating(ModelBuilder model)
    {
        model.Entity<TaskState>(e =>
        {
            e.ToTable("tasks");
            e.HasKey(x => x.CorrelationId);
            e.Property(x => x.CorrelationId).HasColumnName("id");
            e.Property(x => x.CurrentState).HasColumnName("current_state").HasMaxLength(64);
            e.Property(x => x.Name).HasColumnName("name");
            e.Property(x => x.Args).HasColumnName("args").HasColumnType("jsonb");
            e.Property(x => x.Queue).HasColumnName("queue");
            e.Property(x => x.Priority).HasColumnName("priority");
            e.Property(x => x.Callee).HasColumnName("callee");
            e.Property(x => x.CallbackUrl).HasColumnName("callback_url");
            e.Property(x => x.GroupName).HasColumnName("group_name");
            e.Property(x => x.Owner).HasColumnName("owner");
            e.Property(x => x.TraceParent).HasColumnName("trace_parent");
            e.Property(x => x.Policy).HasColumnName("policy").HasColumnType("jsonb");
            e.Property(x => x.Http).HasColumnName("http").HasColumnType("jsonb");
            e.Property(x => x.Runs).HasColumnName("runs").HasColumnType("jsonb");
            e.Property(x => x.OnSuccess).HasColumnName("on_success").HasColumnType("jsonb");
            e.Property(x => x.OnError).HasColumnName("on_error").HasColumnType("jsonb");
            e.Property(x => x.WorkflowId).HasColumnName("workflow_id");
            e.Property(x => x.WorkflowIndex).HasColumnName("workflow_index");
            // Its claim (claimed_until) is the timer's, never written by the saga: it is not in the model.
            e.Property(x => x.StartAt).HasColumnName("start_at");
            e.Property(x => x.RunFrom).HasColumnName("run_from");
            e.Property(x => x.GroupRate).HasColumnName("group_rate");
            e.Property(x => x.ThrottledUntil).HasColumnName("throttled_until");
            e.Property(x => x.ThrottledBy).HasColumnName("throttled_by");
            e.Property(x => x.Current).HasColumnName("current");
            e.Property(x => x.Total).HasColumnName("total");
            e.Property(x => x.Message).HasColumnName("message");
            e.Property(x => x.ProgressAt).HasColumnName("progress_at");
            e.Property(x => x.Response).HasColumnName("response").HasColumnType("jsonb");
            e.Property(x => x.Error).HasColumnName("error");
            e.Property(x => x.Attempts).HasColumnName("attempts");
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
            e.Property(x => x.StartedAt).HasColumnName("started_at");
            e.Property(x => x.Deadline).HasColumnName("deadline");
            e.Property(x => x.FinishedAt).HasColumnName("finished_at");
            e.Property(x => x.ExpiresAt).HasColumnName("expires_at");
            e.Property(x => x.HookSeq).HasColumnName("hook_seq");
            e.Property(x => x.Version).IsRowVersion();
        });
        model.Entity<WorkflowState>(e =>
        {
            e.ToTable("workflows");
            e.HasKey(x => x.CorrelationId);
            e.Property(x => x.CorrelationId).HasColumnName("id");
            e.Property(x => x.CurrentState).HasColumnName("current_state").HasMaxLength(64);
            e.Property(x => x.Kind).HasColumnName("kind");
            e.Property(x => x.Spec).HasColumnName("spec").HasColumnType("jsonb");
            e.Property(x => x.Input).HasColumnName("input").HasColumnType("jsonb");
            e.Property(x => x.Members).HasColumnName("members").HasColumnType("jsonb");
            e.Property(x => x.Owner).HasColumnName("owner");
            e.Property(x => x.CallbackUrl).HasColumnName("callback_url");
            e.Property(x => x.ParentId).HasColumnName("parent_id");
            e.Property(x => x.ParentIndex).HasColumnName("parent_index");
            e.Property(x => x.Result).HasColumnName("result").HasColumnType("jsonb");
            e.Property(x => x.Error).HasColumnName("error");
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
            e.Property(x => x.FinishedAt).HasColumnName("finished_at");
            e.Property(x => x.ExpiresAt).HasColumnName("expires_at");
            e.Property(x => x.Version).IsRowVersion();
        });
    }

    public static void Configure(DbContextOptionsBuilder options, string connectionString) =>
        options.UseNpgsql(TaskHubDatabase.Tuned(connectionString), npgsql => npgsql.MigrationsHistoryTable("__ef_migrations"))
            // Migrations are hand-written SQL (no design-time tooling here), so there is no model snapshot to compare.
            .ConfigureWarnings(w => w.Ignore(RelationalEventId.PendingModelChangesWarning));
}

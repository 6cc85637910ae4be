using System.Text.Json.Serialization;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;
using TaskHub.Api.Auth;
using TaskHub.Api.CallbackCenter;
using TaskHub.Api.Cron;
using TaskHub.Api.Dashboard;
using TaskHub.Api.Definitions;
using TaskHub.Api.Operations;
using TaskHub.Api.Health;
using TaskHub.Hosting.Persistence;
using TaskHub.Hosting.Telemetry;
using TaskHub.Hosting.Health;
using TaskHub.Api.PullQueue;
using TaskHub.Api.Requests;
using TaskHub.Api.Tasks;
using TaskHub.Api.Workflows;
using TaskHub.Contracts.Client;
using TaskHub.Contracts.Options;
using TaskHub.Contracts.Outbound;
using TaskHub.Contracts.Transport;

namespace TaskHub.Api;

/// <summary>Everything the Api process serves; tests compose the same application on Kestrel.</summary>
public static class ApiApp
{
    public static WebApplicationBuilder AddTaskHubApi(this WebApplicationBuilder builder)
    {
        builder.AddTaskHubTelemetry("taskhub-api");
        var services = builder.Services;
        services.AddAsyncTaskOptions(builder.Configuration);
        services.AddTaskHubOutbound(builder.Configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.AddProblemDetails();
        services.AddOpenApi();
        services.AddRequestSchemas();
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter());
        });

        services.AddSingleton(sp => TaskHubDatabase.CreateDataSource(sp.GetRequiredService<IOptions<AsyncTaskOptions>>().Value.ResultBackend));
        services.AddSingleton<TaskReader>();
        services.AddSingleton<WorkflowReader>();
        // A confirmation the broker does not take in time is kept in the outbox for a Scheduler's relay.
        services.AddSingleton<TaskHub.Hosting.Outbox.OutboxTable>();
        services.AddSingleton<MonitoringReader>();
        services.AddScoped<TaskCommands>();
        services.AddSingleton<BrokerQueueReader>();
        services.AddHttpClient(BrokerQueueReader.ClientName, c => c.Timeout = TimeSpan.FromSeconds(3));
        services.AddOptions<OperationsOptions>().Bind(builder.Configuration.GetSection(OperationsOptions.Section))
            .ValidateDataAnnotations().ValidateOnStart();
        var development = builder.Environment.IsDevelopment();
        services.AddOptions<ApiOptions>().Bind(builder.Configuration.GetSection(ApiOptions.Section))
            .Validate(o => development || !string.IsNullOrWhiteSpace(o.PublicBaseUrl),
                "Api:PublicBaseUrl is required outside the development profile: the URL callees use to confirm tasks (the Host header is never trusted)")
            .Validate(o => string.IsNullOrWhiteSpace(o.PublicBaseUrl)
                    || Uri.TryCreate(o.PublicBaseUrl, UriKind.Absolute, out var url) && url.Scheme is "http" or "https",
                "Api:PublicBaseUrl must be an absolute http(s) URL such as https://taskhub.example.com")
            .Validate(o => o.MaxBodyBytes.Default > 0, "Api:MaxBodyBytes:Default must be a positive number of bytes")
            .Validate(o => o.MaxBodyBytes.PullQueue > 0, "Api:MaxBodyBytes:PullQueue must be a positive number of bytes")
            .Validate(o => o.IdempotencyWindow >= TimeSpan.FromMinutes(1) && o.IdempotencyWindow <= TimeSpan.FromDays(30),
                "Api:IdempotencyWindow must be between 1 min and 30 days")
            .ValidateOnStart();
        services.AddPullQueue(builder.Configuration);
        services.AddTaskDefinitionRoutes(builder.Configuration);

        services.AddTaskHubAuth(builder.Configuration);
        services.AddTaskHubBus(x => x.AddTaskClient());
        services.AddTaskHubHealthChecks(builder.Configuration);
        services.AddExceptionHandler<BadRequestExceptionHandler>();
        services.AddExceptionHandler<OutageExceptionHandler>();
        return builder;
    }

    public static WebApplication MapTaskHubApi(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages(Problems.WriteStatusCodePage);
        app.UseTaskHubAuth();
        app.UseDashboardCsrfCheck();
        app.MapOpenApi("/docs/{documentName}.json").AllowAnonymous();
        app.MapGet("/docs", () => TypedResults.Content(DocsPage, "text/html")).ExcludeFromDescription().AllowAnonymous();
        // 200 only when every check (RabbitMQ, PostgreSQL, the bus) is healthy.
        app.MapTaskHubHealth();
        // The Api's port is the public one: its metrics (task names and rates) take a read key.
        app.MapTaskHubMetrics()?.RequireAuthorization(Scopes.Read);
        app.MapTaskEndpoints();
        app.MapWorkflowEndpoints();
        app.MapDefinitionEndpoints();
        app.MapCronEndpoints();
        app.MapTaskNewEndpoints();
        app.MapCallbackEndpoints();
        app.MapPullQueueEndpoints();
        app.MapOperationsEndpoints();
        app.MapDashboard();
        return app;
    }

    const string DocsPage = """
        <!doctype html><html><head><meta charset="utf-8"><title>TaskHub API</title></head>
        <body><h1>TaskHub API</h1><p>OpenAPI document: <a href="/docs/v1.json">/docs/v1.json</a></p>
        <p>Load it into any OpenAPI viewer, or read it as JSON.</p></body></html>
        """;
}

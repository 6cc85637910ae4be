using TaskHub.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using TaskHub.Api.Definitions;
using TaskHub.Contracts.Definitions;

namespace TaskHub.Tests.Unit;

/// <summary>The definition loader alone: seed 001's file format, its defaults, and an error naming file and field for everything it refuses.</summary>
public sealed class TaskDefinitionLoaderTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("taskhub-loader-").FullName;
    readonly Dictionary<string, string> _environment = new(StringComparer.Ordinal);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    string? Env(string name) => _environment.GetValueOrDefault(name);

    string Write(string id, string json)
    {
        var file = Path.Combine(_folder, id + ".json");
        File.WriteAllText(file, json);
        return file;
    }

    TaskDefinitionCatalog Load(params (string Key, string? Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, s.Value)).Append(KeyValuePair.Create<string, string?>("TaskHub:Tasks:Path", _folder)))
            .Build();
        return TaskDefinitionLoader.Load(configuration.GetSection(TaskDefinitionOptions.Section), Env);
    }

    TaskDefinitionException Refused(string json, string id = "bad")
    {
        Write(id, json);
        return Assert.Throws<TaskDefinitionException>(() => Load());
    }

    [Fact]
    public void The_seeds_file_loads_with_its_comments_and_every_field()
    {
        Write("test", """
            {
              "name": "测试task",
              "worker_nums": 10,
              "attempts": 3,
              "attempt_after": 200,
              "timeout": 2,
              "size": 1000,
              "process": "scripts.task.Send", //必须的
              "event": {
                "next": "scripts.task.NextID",
                "add": "scripts.task.OnAdd",
                "success": "https://hooks.example.com/success",
                "error": "scripts.task.OnError",
                "progress": "scripts.task.OnProgress",
              }
            }
            """);

        var definition = Assert.Single(Load().All);

        Assert.Equal("test", definition.Id);
        Assert.Equal("测试task", definition.Name);
        Assert.Equal((10, 3, 200, 2, 1000), (definition.WorkerNums, definition.Attempts, definition.AttemptAfterMs, definition.TimeoutSeconds, definition.Size));
        Assert.Equal("scripts.task.Send", definition.Process.Handler);
        Assert.Equal("scripts.task.Send", definition.SignatureName);
        Assert.Equal("taskhub.def.test", definition.Queue);
        Assert.Equal(new TaskEventHooks("scripts.task.NextID", "scripts.task.OnAdd", "https://hooks.example.com/success",
            "scripts.task.OnError", "scripts.task.OnProgress"), definition.Events);
        Assert.True(TaskHooks.IsWebhook(definition.Events.Success!));
        Assert.False(TaskHooks.IsWebhook(definition.Events.Add!));
        Assert.Equal((3, 200, 2000), (definition.Policy.Attempts, definition.Policy.RetryDelayMs, definition.Policy.TimeoutMs));
    }

    [Fact]
    public void Only_a_process_is_required_and_the_rest_takes_the_seeds_defaults()
    {
        Write("minimal", """{"process": "Noop"}""");

        var definition = Assert.Single(Load().All);

        Assert.Equal("minimal", definition.Name);
        Assert.Equal((1, 1, 200, 300, 1024), (definition.WorkerNums, definition.Attempts, definition.AttemptAfterMs, definition.TimeoutSeconds, definition.Size));
        Assert.Equal(TaskEventHooks.None, definition.Events);
    }

    [Fact]
    public void A_rate_limit_is_a_count_per_unit_and_anything_else_is_refused_naming_it()
    {
        Write("limited", """{"process": "Noop", "rate_limit": "600/min"}""");
        var limit = Assert.Single(Load().All).RateLimit!.Value;
        Assert.Equal(("600/min", TimeSpan.FromMilliseconds(100)), (limit.ToString(), limit.Interval));

        foreach (var bad in new[] { "\"fast\"", "\"0/s\"", "\"5/day\"", "20" })
            Assert.Equal("rate_limit", Refused($$"""{"process": "Noop", "rate_limit": {{bad}}}""", "limited").Field);
    }

    [Fact]
    public void An_http_process_has_a_url_and_a_method()
    {
        Write("remote", """{"process": {"url": "https://api.example.com/run", "method": "put"}}""");
        Write("short", """{"process": "https://api.example.com/short"}""");

        var catalog = Load();

        Assert.True(catalog.TryGet("remote", out var remote));
        Assert.Equal(new Uri("https://api.example.com/run"), remote.Process.Url);
        Assert.Equal("PUT", remote.Process.Method);
        Assert.Null(remote.Process.Handler);
        Assert.Equal("remote", remote.SignatureName);
        Assert.True(catalog.TryGet("short", out var shorthand));
        Assert.Equal(("POST", new Uri("https://api.example.com/short")), (shorthand.Process.Method, shorthand.Process.Url));
    }

    [Fact]
    public void Env_references_are_replaced_in_strings_and_numbers()
    {
        _environment["CALLEE"] = "https://callee.example.com";
        _environment["POOL"] = "4";
        Write("env", """{"process": {"url": "$ENV.CALLEE/work"}, "worker_nums": "$ENV.POOL", "event": {"add": "$ENV.CALLEE/added"}}""");

        var definition = Assert.Single(Load().All);

        Assert.Equal(new Uri("https://callee.example.com/work"), definition.Process.Url);
        Assert.Equal(4, definition.WorkerNums);
        Assert.Equal("https://callee.example.com/added", definition.Events.Add);
    }

    [Fact]
    public void An_unset_env_reference_names_the_variable_and_the_field()
    {
        var error = Refused("""{"process": "Noop", "event": {"success": "$ENV.MISSING_HOOK"}}""");
        Assert.Contains("bad.json", error.Message);
        Assert.Equal("event.success", error.Field);
        Assert.Contains("$ENV.MISSING_HOOK", error.Message);
    }

    [Theory]
    [InlineData("""{"process": "Noop", "colour": "red"}""", "colour", "not a known field")]
    [InlineData("""{"process": "Noop", "event": {"finish": "X"}}""", "event.finish", "not a known field")]
    [InlineData("""{"process": {"url": "https://x.example.com", "verb": "GET"}}""", "process.verb", "not a known field")]
    [InlineData("""{"process": "Noop", "worker_nums": -2}""", "worker_nums", "negative")]
    [InlineData("""{"process": "Noop", "attempts": -1}""", "attempts", "negative")]
    [InlineData("""{"process": "Noop", "attempt_after": -200}""", "attempt_after", "negative")]
    [InlineData("""{"process": "Noop", "timeout": -5}""", "timeout", "negative")]
    [InlineData("""{"process": "Noop", "size": -1}""", "size", "negative")]
    [InlineData("""{"process": "Noop", "worker_nums": 0}""", "worker_nums", "between 1 and")]
    [InlineData("""{"process": "Noop", "size": 1.5}""", "size", "whole number")]
    [InlineData("""{"process": "Noop", "timeout": "soon"}""", "timeout", "whole number")]
    [InlineData("""{"process": "Noop", "attempts": 100, "timeout": 300}""", "timeout", "minutes")]
    [InlineData("""{"name": "no process"}""", "process", "is required")]
    [InlineData("""{"process": ""}""", "process", "must not be empty")]
    [InlineData("""{"process": 42}""", "process", "handler name")]
    [InlineData("""{"process": {"method": "POST"}}""", "process.url", "is required")]
    [InlineData("""{"process": {"url": "ftp://files.example.com/x"}}""", "process.url", "http(s) URL")]
    [InlineData("""{"process": {"url": "https://x.example.com", "method": "TRACE"}}""", "process.method", "one of")]
    [InlineData("""{"process": "Noop", "event": {"add": "ftp://hooks.example.com"}}""", "event.add", "http(s) URL")]
    [InlineData("""{"process": "Noop", "process": "Other"}""", "process", "given twice")]
    [InlineData("""["Noop"]""", "(root)", "JSON object")]
    [InlineData("""{"process": "Noop",""", "$", "not valid JSON")]
    public void A_bad_definition_is_refused_naming_its_file_and_field(string json, string field, string problem)
    {
        var error = Refused(json);

        Assert.Equal(field, error.Field);
        Assert.Equal(Path.Combine(_folder, "bad.json"), error.Origin);
        Assert.Contains(Path.Combine(_folder, "bad.json"), error.Message);
        Assert.Contains($"'{field}'", error.Message);
        Assert.Contains(problem, error.Message);
    }

    [Fact]
    public void A_file_name_that_cannot_name_a_queue_is_refused()
    {
        var error = Refused("""{"process": "Noop"}""", id: "bad name");
        Assert.Equal("id", error.Field);
        Assert.Contains("bad name.json", error.Message);
    }

    [Theory]
    [InlineData("batch")]
    [InlineData("Retry")]
    [InlineData("cancel")]
    public void A_type_named_as_a_literal_tasks_route_is_refused(string id)
    {
        // POST /tasks/batch, /tasks/retry and /tasks/cancel outrank POST /tasks/{name}: such a type could never be added.
        var error = Refused("""{"process": "Noop"}""", id: id);
        Assert.Equal("id", error.Field);
        Assert.Contains("route of its own", error.Message);
    }

    [Fact]
    public void Definitions_also_come_from_configuration_with_string_values()
    {
        var catalog = Load(
            ("TaskHub:Tasks:Definitions:mail:name", "Send mail"),
            ("TaskHub:Tasks:Definitions:mail:worker_nums", "3"),
            ("TaskHub:Tasks:Definitions:mail:process:url", "https://mail.example.com/send"),
            ("TaskHub:Tasks:Definitions:mail:event:success", "OnMailSent"));

        Assert.True(catalog.TryGet("mail", out var mail));
        Assert.Equal(("Send mail", 3, "POST"), (mail.Name, mail.WorkerNums, mail.Process.Method));
        Assert.Equal("OnMailSent", mail.Events.Success);
        Assert.Same(mail, catalog.ForQueue("taskhub.def.mail"));
        Assert.Null(catalog.ForQueue("taskhub.task"));
    }

    [Fact]
    public void A_bad_configured_definition_names_its_section_and_field()
    {
        var error = Assert.Throws<TaskDefinitionException>(() => Load(
            ("TaskHub:Tasks:Definitions:mail:process", "SendMail"),
            ("TaskHub:Tasks:Definitions:mail:size", "-3")));
        Assert.Contains("TaskHub:Tasks:Definitions:mail", error.Message);
        Assert.Equal("size", error.Field);
    }

    [Fact]
    public void A_type_defined_twice_is_refused_naming_both_places()
    {
        var file = Write("twice", """{"process": "Noop"}""");
        var error = Assert.Throws<TaskDefinitionException>(() => Load(("TaskHub:Tasks:Definitions:twice:process", "Noop")));
        Assert.Contains(file, error.Message);
        Assert.Contains("TaskHub:Tasks:Definitions:twice", error.Message);
    }

    [Fact]
    public void A_missing_folder_is_refused()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection([KeyValuePair.Create<string, string?>("TaskHub:Tasks:Path", Path.Combine(_folder, "nope"))]).Build();
        var error = Assert.Throws<TaskDefinitionException>(() => TaskDefinitionLoader.Load(configuration.GetSection(TaskDefinitionOptions.Section), Env));
        Assert.Equal("Path", error.Field);
        Assert.Contains("TaskHub:Tasks", error.Message);
    }

    [Fact]
    public void Caller_ids_map_to_the_same_task_id_per_type()
    {
        var id = DefinedTaskIds.From("mail", "order-42");

        Assert.Equal(id, DefinedTaskIds.From("mail", "order-42"));
        Assert.NotEqual(id, DefinedTaskIds.From("mail", "order-43"));
        Assert.NotEqual(id, DefinedTaskIds.From("sms", "order-42"));
        Assert.Equal(5, id.Version);
        // Two keys' "order-42" are two tasks.
        Assert.Equal(DefinedTaskIds.From("mail", "order-42", "alice"), DefinedTaskIds.From("mail", "order-42", "alice"));
        Assert.NotEqual(DefinedTaskIds.From("mail", "order-42", "alice"), DefinedTaskIds.From("mail", "order-42", "bob"));
        Assert.NotEqual(id, DefinedTaskIds.From("mail", "order-42", "alice"));
    }

    [Fact]
    public void The_repositorys_sample_definition_loads()
    {
        var root = TestSystem.RepoRoot;
        var definition = TaskDefinitionLoader.ParseFile(Path.Combine(root, "tasks", "test.json"), Env);
        Assert.Equal(("test", "SomeAsyncTask"), (definition.Id, definition.Process.Handler));
        Assert.Equal(["OnAdd", "OnSuccess", "OnError", "OnProgress"], definition.Events.All.Select(h => h.Target));
    }

    [Fact]
    public void Backoff_is_fixed_unless_the_file_asks_for_exponential()
    {
        Write("plain", """{"process": "H"}""");
        Write("growing", """{"process": "H", "attempts": 4, "attempt_after": 100, "backoff": "exponential"}""");
        var catalog = Load();
        Assert.False(catalog.All.Single(d => d.Id == "plain").ExponentialBackoff);
        Assert.True(catalog.All.Single(d => d.Id == "growing").Policy.ExponentialBackoff);
        Assert.Equal("backoff", Refused("""{"process": "H", "backoff": "sometimes"}""").Field);
    }
}


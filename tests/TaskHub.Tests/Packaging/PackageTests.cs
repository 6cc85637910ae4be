using System.Diagnostics;
using System.IO.Compression;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Xml.Linq;
using TaskHub.Contracts.Client;
using TaskHub.Contracts.Tasks;
using TaskHub.Testing;
using TaskHub.Tests.Infrastructure;

namespace TaskHub.Tests.Packaging;

/// <summary>
/// The .NET SDK as packages (issue 18): <c>dotnet pack</c> of the solution's built projects gives TaskHub.Client,
/// TaskHub.Hosting and TaskHub.Worker.Sdk, none of which takes ASP.NET Core (no dependency, no framework reference, no
/// assembly of it referenced by their code); samples/ builds against those packages, not the projects, and runs a chain
/// through a Scheduler of this test's system: its sender and its worker are processes of their own.
/// </summary>
public sealed class PackageTests : SystemTest
{
    static readonly string[] Packages = ["TaskHub.Client", "TaskHub.Hosting", "TaskHub.Worker.Sdk"];
    static readonly string[] Projects = ["src/Contracts/TaskHub.Contracts.csproj", "src/Hosting/TaskHub.Hosting.csproj", "src/WorkerSdk/TaskHub.Worker.Sdk.csproj"];

    readonly string _work = Path.Combine(Path.GetTempPath(), $"taskhub-packages-{Guid.NewGuid():N}");

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        try { Directory.Delete(_work, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    [Fact]
    public async Task Packages_take_no_AspNetCore_and_the_samples_run_a_chain_through_them()
    {
        // A version of this run's own: nothing restored from an earlier pack can stand in for these packages.
        var version = $"0.1.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Random.Shared.Next(1000, 9999)}";
        var feed = Path.Combine(_work, "feed");
        var configuration = Configuration();
        foreach (var project in Projects)
            await DotnetAsync(TestSystem.RepoRoot, "pack", project, "-c", configuration, "--no-build", $"-p:PackageVersion={version}", "-o", feed);

        foreach (var id in Packages)
        {
            using var package = ZipFile.OpenRead(Path.Combine(feed, $"{id}.{version}.nupkg"));
            var nuspec = XDocument.Load(package.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
            var dependencies = nuspec.Descendants().Where(e => e.Name.LocalName == "dependency").Select(e => (string)e.Attribute("id")!).ToList();
            Assert.NotEmpty(dependencies);
            Assert.DoesNotContain(dependencies, d => d.StartsWith("Microsoft.AspNetCore", StringComparison.OrdinalIgnoreCase));
            Assert.DoesNotContain(nuspec.Descendants(), e => e.Name.LocalName == "frameworkReference");
            var library = Assert.Single(package.Entries, e => e.FullName.StartsWith("lib/net10.0/", StringComparison.Ordinal) && e.Name.EndsWith(".dll", StringComparison.Ordinal));
            Assert.DoesNotContain(ReferencedAssemblies(library), a => a.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
        }

        // The samples as a service of its own would have them: copied out, their feed this run's.
        var samples = Path.Combine(_work, "samples");
        CopyTree(Path.Combine(TestSystem.RepoRoot, "samples"), samples);
        var config = Path.Combine(samples, "nuget.config");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"../artifacts/packages\"", $"\"{feed}\""));
        // Restored into a folder of this test's (the machine's cache lends what it already has), so no test version stays behind.
        var global = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } set ? set
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        await DotnetAsync(samples, "build", "Samples.sln", "-c", "Release", $"-p:TaskHubVersion={version}",
            $"-p:RestorePackagesPath={Path.Combine(_work, "packages")}", $"-p:RestoreFallbackFolders={global}");
        foreach (var sample in new[] { "ChainSender", "AddWorker" })
        {
            var runtime = File.ReadAllText(Path.Combine(samples, sample, "bin", "Release", "net10.0", $"{sample}.runtimeconfig.json"));
            Assert.DoesNotContain("Microsoft.AspNetCore", runtime);
            Assert.True(File.Exists(Path.Combine(samples, sample, "bin", "Release", "net10.0", "TaskHub.Contracts.dll")), $"{sample} has the client package's assembly");
        }

        // The samples end to end: a Scheduler of this system, the sample worker and the sample sender as processes.
        await System.StartSchedulerAsync();
        var queue = $"samples.add.{System.VirtualHost}";
        var environment = System.Settings(("Samples:Queue", queue), ("DOTNET_ENVIRONMENT", "Production"))
            .Where(s => s.Value is not null).Select(s => KeyValuePair.Create(s.Key.Replace(":", "__"), s.Value!)).ToList();
        await using var worker = ServiceProcess.Start("sample-worker", Path.Combine(samples, "AddWorker", "bin", "Release", "net10.0", "AddWorker.dll"),
            environment, Path.Combine(_work, "worker.log"));
        var client = await System.StartClientAsync();
        // The worker consumes its queue once it runs: a task of its own sent first says so.
        var probe = await client.SendTaskAsync(TaskSignature.Create("Add", 1, 1), new SendTaskOptions(Queue: queue));
        var probed = await client.WaitForResultAsync(probe, TimeSpan.FromSeconds(90));
        Assert.True(probed.Status == TaskStatuses.Success, $"the sample worker ran Add: {probed.Status} {probed.Error}; its log ends:\n{worker.LogTail()}");

        await using var sender = ServiceProcess.Start("sample-sender", Path.Combine(samples, "ChainSender", "bin", "Release", "net10.0", "ChainSender.dll"),
            environment, Path.Combine(_work, "sender.log"));
        var waited = Stopwatch.StartNew();
        while (!sender.HasExited && waited.Elapsed < TimeSpan.FromSeconds(90))
            await Task.Delay(200);
        Assert.True(sender.HasExited, $"the sample sender did not finish within 90 s; its log ends:\n{sender.LogTail()}");
        Assert.Contains("chain SUCCESS: 113", File.ReadAllText(sender.Log));
        Assert.Contains("chord SUCCESS: 110", File.ReadAllText(sender.Log));
    }

    /// <summary>The configuration the tests (and so the packed projects, built beside them) were built in.</summary>
    static string Configuration() => new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;

    static IReadOnlyList<string> ReferencedAssemblies(ZipArchiveEntry library)
    {
        using var bytes = new MemoryStream();
        using (var entry = library.Open())
            entry.CopyTo(bytes);
        bytes.Position = 0;
        using var pe = new PEReader(bytes);
        var metadata = pe.GetMetadataReader();
        return metadata.AssemblyReferences.Select(r => metadata.GetString(metadata.GetAssemblyReference(r).Name)).ToList();
    }

    static void CopyTree(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, file);
            if (relative.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
                continue;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(to, relative))!);
            File.Copy(file, Path.Combine(to, relative));
        }
    }

    static async Task DotnetAsync(string directory, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet", arguments)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["DOTNET_NOLOGO"] = "1", ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1" },
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{await output}\n{await error}");
    }
}

using System.Diagnostics;
using YamlDotNet.RepresentationModel;

namespace NeuralCore.Serving.Tests.Cluster;

/// <summary>
/// Checks the deployment files under <c>deploy/</c>: every nginx configuration passes <c>nginx -t</c> (skipped where
/// nginx is not installed), and the docker-compose file and Kubernetes manifests parse as YAML and hold together (probes
/// on the v2 health routes, every referenced Secret, ConfigMap, key, volume and file exists, the Service selects the
/// Deployment's pods on the container's port).
/// </summary>
public sealed class DeployConfigTests : IDisposable
{
    static readonly string Deploy = Path.Combine(ClusterTools.RepositoryRoot, "deploy");

    readonly string work = Directory.CreateTempSubdirectory("neuralcore-deploy-test-").FullName;

    public void Dispose() => Directory.Delete(work, recursive: true);

    // ------------------------------------------------------------------ nginx

    /// <summary>Runs <c>nginx -t</c> on <paramref name="config"/> with a private prefix and error log; returns its output.</summary>
    string NginxTest(string config)
    {
        var start = new ProcessStartInfo("nginx") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "-t", "-c", config, "-p", work + "/", "-e", Path.Combine(work, "error.log") }) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        string output = process.StandardError.ReadToEnd() + process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"nginx -t -c {config} failed: {output}");
        return output;
    }

    [NginxFact]
    public void LocalClusterNginxConfig_AsTheScriptRendersIt_PassesNginxTest()
    {
        // The same substitutions as deploy/local-cluster.sh's write_nginx_conf.
        string template = File.ReadAllText(Path.Combine(Deploy, "nginx", "local-cluster.conf.in"));
        Assert.Contains("@SERVERS@", template);
        string servers = "        server 127.0.0.1:18401 max_fails=1 fail_timeout=3s;\n        server 127.0.0.1:18402 max_fails=1 fail_timeout=3s;\n";
        string config = Path.Combine(work, "nginx.conf");
        File.WriteAllText(config, template.Replace("@STATE@", work).Replace("@PORT@", "18400").Replace("@SERVERS@", servers));
        File.Copy(Path.Combine(Deploy, "nginx", "neuralcore-proxy.conf"), Path.Combine(work, "neuralcore-proxy.conf"));
        Directory.CreateDirectory(Path.Combine(work, "tmp"));
        Assert.Contains("test is successful", NginxTest(config));
    }

    [NginxFact]
    public void DockerComposeNginxConfig_PassesNginxTest()
    {
        // nginx -t resolves upstream host names: the compose service name `modelserver` only exists inside Docker's
        // network, so it is checked as 127.0.0.1, and the include and pid paths point into the test's folder.
        string text = File.ReadAllText(Path.Combine(Deploy, "nginx", "docker-compose.conf"));
        Assert.Contains("server modelserver:8080", text);
        Assert.Contains("include /etc/nginx/neuralcore-proxy.conf;", text);
        string config = Path.Combine(work, "compose.conf");
        File.WriteAllText(config, text.Replace("server modelserver:8080", "server 127.0.0.1:8080")
            .Replace("/etc/nginx/neuralcore-proxy.conf", Path.Combine(Deploy, "nginx", "neuralcore-proxy.conf"))
            .Replace("pid /tmp/nginx.pid;", $"pid {work}/nginx.pid;"));
        Assert.Contains("test is successful", NginxTest(config));
    }

    [Fact]
    public void ProxyRules_RetryOnlyInferencePosts()
    {
        // non_idempotent (retrying a POST on the next replica) is allowed on the inference routes and nowhere else.
        string rules = File.ReadAllText(Path.Combine(Deploy, "nginx", "neuralcore-proxy.conf"));
        var locations = System.Text.RegularExpressions.Regex.Split(rules, "^location ", System.Text.RegularExpressions.RegexOptions.Multiline).Skip(1).ToList();
        Assert.Equal(3, locations.Count);
        foreach (var block in locations)
        {
            bool inference = block.Contains("/infer$", StringComparison.Ordinal) || block.Contains(":predict$", StringComparison.Ordinal);
            Assert.Equal(inference, block.Contains("non_idempotent", StringComparison.Ordinal));
            Assert.Contains("proxy_pass http://neuralcore;", block);
        }
    }

    // ------------------------------------------------------------------ YAML

    static List<YamlMappingNode> LoadDocuments(string path)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(path)) stream.Load(reader);
        return [.. stream.Documents.Select(d => Assert.IsType<YamlMappingNode>(d.RootNode))];
    }

    static YamlNode Get(YamlNode node, params string[] path)
    {
        foreach (var key in path)
        {
            var next = Find(node, key);
            Assert.True(next is not null, $"missing '{key}' (path {string.Join(".", path)})");
            node = next;
        }
        return node;
    }

    static string Text(YamlNode node, params string[] path) => Assert.IsType<YamlScalarNode>(Get(node, path)).Value!;

    /// <summary>The value of <paramref name="key"/>, also through YAML merge keys (<c>&lt;&lt;: *anchor</c>, as docker-compose uses them).</summary>
    static YamlNode? Find(YamlNode node, string key)
    {
        var map = Assert.IsType<YamlMappingNode>(node);
        if (map.Children.TryGetValue(new YamlScalarNode(key), out var value)) return value;
        return map.Children.TryGetValue(new YamlScalarNode("<<"), out var merged) ? Find(merged, key) : null;
    }

    [Fact]
    public void DockerCompose_ParsesAndHoldsTogether()
    {
        var compose = Assert.Single(LoadDocuments(Path.Combine(Deploy, "docker-compose.yml")));
        var services = Assert.IsType<YamlMappingNode>(Get(compose, "services"));
        foreach (var name in new[] { "postgres", "init", "modelserver", "lb" }) Get(services, name);
        // Replicas: no training of their own, PostgreSQL from the environment, a readiness health check.
        var command = Assert.IsType<YamlSequenceNode>(Get(services, "modelserver", "command")).Select(n => ((YamlScalarNode)n).Value).ToList();
        Assert.Contains("--no-train", command);
        Assert.Contains("/v2/health/ready", string.Join(" ", ((YamlSequenceNode)Get(services, "modelserver", "healthcheck", "test")).Select(n => ((YamlScalarNode)n).Value)));
        Assert.Contains("Database=registry", Text(services, "modelserver", "environment", "NEURALCORE_REGISTRY_DATABASE"));
        Assert.Equal("init", Assert.IsType<YamlSequenceNode>(Get(services, "init", "command")).Children[0].ToString());
        Assert.Equal("service_completed_successfully", Text(services, "modelserver", "depends_on", "init", "condition"));
        // The load balancer is published on loopback only, and mounts files that exist.
        foreach (var port in (YamlSequenceNode)Get(services, "lb", "ports"))
            Assert.StartsWith("127.0.0.1:", ((YamlScalarNode)port).Value);
        foreach (var volume in (YamlSequenceNode)Get(services, "lb", "volumes"))
        {
            string source = ((YamlScalarNode)volume).Value!.Split(':')[0];
            Assert.True(File.Exists(Path.Combine(Deploy, source)), $"the lb service mounts {source}, which does not exist under deploy/");
        }
        // Named volumes used by services are declared.
        var declared = ((YamlMappingNode)Get(compose, "volumes")).Children.Keys.Select(k => k.ToString()).ToHashSet();
        foreach (var name in new[] { "postgres", "modelserver" })
            foreach (var volume in (YamlSequenceNode)Get(services, name, "volumes"))
            {
                string source = ((YamlScalarNode)volume).Value!.Split(':')[0];
                Assert.True(declared.Contains(source), $"service {name} uses volume {source}, not declared");
            }
    }

    [Fact]
    public void KubernetesManifests_ParseAndHoldTogether()
    {
        string dir = Path.Combine(Deploy, "k8s");
        var kustomization = Assert.Single(LoadDocuments(Path.Combine(dir, "kustomization.yaml")));
        var files = ((YamlSequenceNode)Get(kustomization, "resources")).Select(n => ((YamlScalarNode)n).Value!).ToList();
        Assert.Equal(Directory.GetFiles(dir, "*.yaml").Select(Path.GetFileName).Where(f => f != "kustomization.yaml").Order(), files.Order());

        var documents = files.SelectMany(f => LoadDocuments(Path.Combine(dir, f))).ToList();
        foreach (var d in documents)
        {
            Assert.False(string.IsNullOrEmpty(Text(d, "apiVersion")));
            Assert.False(string.IsNullOrEmpty(Text(d, "metadata", "name")));
        }
        YamlMappingNode Kind(string kind) => Assert.Single(documents, d => Text(d, "kind") == kind);
        var configMap = Kind("ConfigMap");
        var secret = Kind("Secret");
        var deployment = Kind("Deployment");
        var service = Kind("Service");
        var pvc = Kind("PersistentVolumeClaim");
        Kind("Job");
        var configKeys = ((YamlMappingNode)Get(configMap, "data")).Children.Keys.Select(k => k.ToString()).ToHashSet();
        var secretKeys = ((YamlMappingNode)Get(secret, "stringData")).Children.Keys.Select(k => k.ToString()).ToHashSet();

        // Deployment: the selector matches the pod labels; probes on the v2 health routes, on the container's port.
        var podLabels = (YamlMappingNode)Get(deployment, "spec", "template", "metadata", "labels");
        foreach (var (key, value) in (YamlMappingNode)Get(deployment, "spec", "selector", "matchLabels"))
            Assert.Equal(value.ToString(), podLabels.Children[key].ToString());
        var container = (YamlMappingNode)((YamlSequenceNode)Get(deployment, "spec", "template", "spec", "containers"))[0];
        var port = (YamlMappingNode)((YamlSequenceNode)Get(container, "ports"))[0];
        Assert.Equal("/v2/health/ready", Text(container, "readinessProbe", "httpGet", "path"));
        Assert.Equal("/v2/health/live", Text(container, "livenessProbe", "httpGet", "path"));
        foreach (var probe in new[] { "readinessProbe", "livenessProbe" })
            Assert.Equal(Text(port, "name"), Text(container, probe, "httpGet", "port"));
        Assert.Equal("8080", Text(port, "containerPort"));   // the Dockerfile's entrypoint listens there

        // Every $(VAR) in the arguments comes from the ConfigMap; every secretKeyRef names a key of the Secret.
        var args = ((YamlSequenceNode)Get(container, "args")).Select(n => ((YamlScalarNode)n).Value!).ToList();
        Assert.Contains("--no-train", args);
        foreach (var arg in args.Where(a => a.StartsWith("$(", StringComparison.Ordinal)))
            Assert.Contains(arg[2..^1], configKeys);
        Assert.Equal(Text(configMap, "metadata", "name"), Text(((YamlSequenceNode)Get(container, "envFrom"))[0], "configMapRef", "name"));
        var jobContainer = (YamlMappingNode)((YamlSequenceNode)Get(Kind("Job"), "spec", "template", "spec", "containers"))[0];
        foreach (var env in ((YamlSequenceNode)Get(container, "env")).Concat((YamlSequenceNode)Get(jobContainer, "env")))
            if (Find(env, "valueFrom") is { } from && Find(from, "secretKeyRef") is { } reference)
            {
                Assert.Equal(Text(secret, "metadata", "name"), Text(reference, "name"));
                Assert.Contains(Text(reference, "key"), secretKeys);
            }

        // Volumes: the claim exists, secret items exist, every mount has a volume.
        var volumes = ((YamlSequenceNode)Get(deployment, "spec", "template", "spec", "volumes")).Cast<YamlMappingNode>().ToList();
        foreach (var mount in (YamlSequenceNode)Get(container, "volumeMounts"))
            Assert.Contains(volumes, v => Text(v, "name") == Text(mount, "name"));
        foreach (var v in volumes)
        {
            if (Find(v, "persistentVolumeClaim") is { } claim) Assert.Equal(Text(pvc, "metadata", "name"), Text(claim, "claimName"));
            if (Find(v, "secret") is { } s)
                foreach (var item in (YamlSequenceNode)Get(s, "items")) Assert.Contains(Text(item, "key"), secretKeys);
        }
        Assert.Equal("ReadWriteMany", ((YamlSequenceNode)Get(pvc, "spec", "accessModes"))[0].ToString());

        // Service: selects the Deployment's pods, on the container's named port.
        foreach (var (key, value) in (YamlMappingNode)Get(service, "spec", "selector"))
            Assert.Equal(value.ToString(), podLabels.Children[key].ToString());
        Assert.Equal(Text(port, "name"), Text(((YamlSequenceNode)Get(service, "spec", "ports"))[0], "targetPort"));
    }
}

/// <summary>A fact skipped, with the reason, where nginx is not installed.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class NginxFactAttribute : FactAttribute
{
    public NginxFactAttribute()
    {
        if (!File.Exists("/usr/sbin/nginx")) Skip = "nginx is not installed (.ci/run installs Debian's nginx)";
    }
}

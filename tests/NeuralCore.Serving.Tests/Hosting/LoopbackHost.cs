using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using NeuralCore.Serving.Hosting;
using NeuralCore.Serving.Registry;

namespace NeuralCore.Serving.Tests.Hosting;

/// <summary>A serving host on real Kestrel at 127.0.0.1 on a free port, and a client for it; disposing stops both.</summary>
internal sealed class LoopbackHost : IAsyncDisposable
{
    LoopbackHost(WebApplication app, HttpClient http)
    {
        App = app;
        Http = http;
    }

    /// <summary>The running host.</summary>
    public WebApplication App { get; }

    /// <summary>A client whose base address is the host's.</summary>
    public HttpClient Http { get; }

    /// <summary>Starts <see cref="ServingHost"/> over <paramref name="registry"/> with <paramref name="options"/>, bound to loopback only.</summary>
    public static async Task<LoopbackHost> StartAsync(ModelRegistry registry, ServingOptions options)
    {
        var app = ServingHost.Create(registry, options with { Urls = ["http://127.0.0.1:0"] });
        try
        {
            await app.StartAsync();
            string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            Assert.StartsWith("http://127.0.0.1:", address);
            return new LoopbackHost(app, new HttpClient { BaseAddress = new Uri(address) });
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}

using System.Net;
using System.Net.Sockets;
using System.Text;

namespace NeuralCore.Tests.Vision;

/// <summary>
/// A minimal HTTP/1.1 server on 127.0.0.1 (free port) serving fixed byte arrays by path, one request per
/// connection. Stops on dispose; every socket operation is bounded by a timeout.
/// </summary>
public sealed class LoopbackHttpServer : IDisposable
{
    readonly TcpListener listener = new(IPAddress.Loopback, 0);
    readonly Dictionary<string, byte[]> files;
    readonly CancellationTokenSource stop = new();
    readonly Task loop;
    int requests;

    public LoopbackHttpServer(Dictionary<string, byte[]> files)
    {
        this.files = files;
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        loop = Task.Run(Serve);
    }

    public int Port { get; }

    public string Url(string path) => $"http://127.0.0.1:{Port}/{path.TrimStart('/')}";

    public int Requests => Volatile.Read(ref requests);

    async Task Serve()
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await listener.AcceptTcpClientAsync(stop.Token); }
            catch (Exception) { return; }
            using (client)
            {
                try { await Answer(client); }
                catch (IOException) { }
                catch (OperationCanceledException) { }
            }
        }
    }

    async Task Answer(TcpClient client)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));
        var stream = client.GetStream();
        var request = new StringBuilder();
        var buffer = new byte[4096];
        while (!request.ToString().Contains("\r\n\r\n") && request.Length < 65536)
        {
            int n = await stream.ReadAsync(buffer, timeout.Token);
            if (n == 0) return;
            request.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
        Interlocked.Increment(ref requests);
        string path = request.ToString().Split(' ')[1].TrimStart('/');
        byte[] body;
        string status;
        if (files.TryGetValue(path, out var content)) { body = content; status = "200 OK"; }
        else { body = Encoding.ASCII.GetBytes("not found"); status = "404 Not Found"; }
        var head = Encoding.ASCII.GetBytes($"HTTP/1.1 {status}\r\nContent-Length: {body.Length}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n");
        await stream.WriteAsync(head, timeout.Token);
        await stream.WriteAsync(body, timeout.Token);
        await stream.FlushAsync(timeout.Token);
    }

    /// <summary>A loopback port nothing listens on (bound, then released).</summary>
    public static int ClosedPort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    public void Dispose()
    {
        stop.Cancel();
        listener.Stop();
        loop.Wait(TimeSpan.FromSeconds(10));
        stop.Dispose();
    }
}

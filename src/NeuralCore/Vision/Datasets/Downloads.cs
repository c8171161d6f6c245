using System.Net;
using System.Security.Cryptography;

namespace NeuralCore.Vision;

/// <summary>HTTP download with MD5 verification and progress, shared by the dataset readers.</summary>
internal static class Downloads
{
    /// <summary>
    /// Downloads <paramref name="url"/> to <paramref name="destination"/> (through a ".part" file, so an
    /// interrupted download never looks complete), checking the MD5 when <paramref name="md5"/> is given.
    /// </summary>
    /// <exception cref="IOException">The download failed; the message names the URL, the reason and <paramref name="hint"/>.</exception>
    /// <exception cref="InvalidDataException">The downloaded file's MD5 differs from <paramref name="md5"/>.</exception>
    internal static void Fetch(string url, string destination, string? md5, string dataset, string hint, IProgress<double>? progress)
    {
        string part = destination + ".part";
        string? actual;
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(destination))!);
            using var handler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(30), AutomaticDecompression = DecompressionMethods.None };
            using var client = new HttpClient(handler) { Timeout = TimeSpan.FromMinutes(2) };
            using var response = client.Send(new HttpRequestMessage(HttpMethod.Get, url), HttpCompletionOption.ResponseHeadersRead);
            if (!response.IsSuccessStatusCode)
                throw new IOException($"could not download {dataset} from {url}: the server answered {(int)response.StatusCode} {response.ReasonPhrase}. {hint}");
            long? total = response.Content.Headers.ContentLength;
            using var body = response.Content.ReadAsStream();
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
            using (var output = new FileStream(part, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            {
                var buffer = new byte[1 << 16];
                long received = 0;
                int n;
                while ((n = body.Read(buffer, 0, buffer.Length)) > 0)
                {
                    output.Write(buffer, 0, n);
                    hash.AppendData(buffer, 0, n);
                    received += n;
                    if (total is > 0) progress?.Report(Math.Min(1.0, (double)received / total.Value));
                }
                if (total is long expected && received != expected)
                    throw new IOException($"could not download {dataset} from {url}: the connection closed after {received} of {expected} bytes. {hint}");
            }
            actual = Convert.ToHexStringLower(hash.GetHashAndReset());
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException
                                   || (e is IOException && !e.Message.StartsWith("could not download", StringComparison.Ordinal)))
        {
            TryDelete(part);
            string reason = e is OperationCanceledException ? "the request timed out" : e.InnerException?.Message ?? e.Message;
            throw new IOException($"could not download {dataset} from {url}: {reason}. {hint}", e);
        }
        catch
        {
            TryDelete(part);
            throw;
        }
        if (md5 is not null && !string.Equals(actual, md5, StringComparison.OrdinalIgnoreCase))
        {
            TryDelete(part);
            throw new InvalidDataException(
                $"{dataset}: the file downloaded from {url} has MD5 {actual}, but {md5} was expected; it is corrupt or not the expected file and was deleted. {hint}");
        }
        File.Move(part, destination, overwrite: true);
        progress?.Report(1.0);
    }

    /// <summary>The lower-case hex MD5 of a file.</summary>
    internal static string Md5Of(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(MD5.HashData(stream));
    }

    static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: a leftover .part file is never mistaken for a finished download.
        }
        catch (UnauthorizedAccessException)
        {
            // As above.
        }
    }
}

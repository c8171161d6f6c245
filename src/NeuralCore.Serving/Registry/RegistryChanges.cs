namespace NeuralCore.Serving.Registry;

/// <summary>
/// Tells caches built on a <see cref="ModelRegistry"/> when what they read may have changed. <see cref="Generation"/>
/// grows on every write made through this registry instance, on every change notification from the database
/// (PostgreSQL <c>LISTEN</c>/<c>NOTIFY</c>: writes by other processes and hosts) and whenever the listening
/// connection is (re)established, since notifications may have been missed while it was down.
/// <see cref="Listening"/> says whether notifications are arriving; while false (SQLite, or the PostgreSQL
/// connection lost and being re-opened) caches must fall back to expiring their entries (polling).
/// </summary>
/// <remarks>The listener starts on the first <see cref="EnsureListening"/> call and stops when the registry is disposed.</remarks>
public sealed class RegistryChanges : IDisposable
{
    /// <summary>Wait between attempts to re-open a lost listening connection.</summary>
    public static readonly TimeSpan ReconnectDelay = TimeSpan.FromSeconds(1);

    readonly RegistryDatabase database;
    readonly CancellationTokenSource stop = new();
    readonly Lock gate = new();
    Task? listener;
    long generation;
    volatile bool listening;

    internal RegistryChanges(RegistryDatabase database) => this.database = database;

    /// <summary>Grows whenever the registry may have changed; a cached read taken at an older generation is stale.</summary>
    public long Generation => Interlocked.Read(ref generation);

    /// <summary>True while change notifications from other processes are being received.</summary>
    public bool Listening => listening;

    /// <summary>
    /// True when the database can send change notifications (PostgreSQL); false for SQLite, whose readers must poll
    /// for changes made by other processes.
    /// </summary>
    public bool CanListen => database.CanListen;

    /// <summary>Starts listening for other processes' changes, once; later calls do nothing. A no-op for SQLite.</summary>
    public void EnsureListening()
    {
        if (listener is not null || !database.CanListen) return;
        lock (gate)
        {
            if (listener is not null || stop.IsCancellationRequested) return;
            listener = Task.Run(ListenLoopAsync);
        }
    }

    /// <summary>Records a change made through this registry instance.</summary>
    internal void Bump() => Interlocked.Increment(ref generation);

    async Task ListenLoopAsync()
    {
        var token = stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await database.ListenAsync(
                    connected: () =>
                    {
                        listening = true;
                        Bump();   // changes made while not listening were not notified
                    },
                    changed: Bump,
                    token).ConfigureAwait(false);
            }
            catch (Exception) when (!token.IsCancellationRequested)
            {
                // Connection refused or lost: fall back to polling until it is back.
            }
            finally
            {
                listening = false;
            }
            try
            {
                await Task.Delay(ReconnectDelay, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    /// <summary>Stops listening (waits for the listening connection to close).</summary>
    public void Dispose()
    {
        Task? running;
        lock (gate)
        {
            if (stop.IsCancellationRequested) return;
            stop.Cancel();
            running = listener;
        }
        try
        {
            running?.Wait(TimeSpan.FromSeconds(10));
        }
        catch (AggregateException)
        {
        }
        stop.Dispose();
    }
}

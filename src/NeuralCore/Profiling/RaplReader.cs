using System.Globalization;

namespace NeuralCore.Profiling;

/// <summary>
/// The RAPL energy counters the Linux powercap interface exposes (<c>intel-rapl:N/energy_uj</c>; AMD processors use
/// the same tree on kernels from 5.8 on): each top-level package zone and every <c>dram</c> sub-zone. Counters wrap at
/// <c>max_energy_range_uj</c>; a zone that is missing or unreadable (the counters are root-only on most distributions)
/// is left out, and with no readable zone the reader is unavailable.
/// </summary>
internal sealed class RaplReader
{
    readonly (string Energy, long Range)[] zones;

    RaplReader((string, long)[] zones) => this.zones = zones;

    /// <summary>The zone directories read, for reports.</summary>
    public IEnumerable<string> Zones => zones.Select(z => Path.GetFileName(Path.GetDirectoryName(z.Energy)!));

    static readonly System.Collections.Concurrent.ConcurrentDictionary<string, (RaplReader? Reader, string Reason)> Opened = new(StringComparer.Ordinal);

    /// <summary>
    /// <see cref="TryOpen"/> done once per process for each root: the zones a machine exposes do not change while it runs,
    /// and meters started per request then skip the directory scan.
    /// </summary>
    public static RaplReader? Shared(string root, out string reason)
    {
        var (reader, why) = Opened.GetOrAdd(root, static r => (TryOpen(r, out var why), why));
        reason = why;
        return reader;
    }

    /// <summary>A reader over the readable zones under <paramref name="root"/>, or null with <paramref name="reason"/> saying why none is.</summary>
    public static RaplReader? TryOpen(string root, out string reason)
    {
        var found = new List<(string, long)>();
        IEnumerable<string> dirs;
        try
        {
            if (!Directory.Exists(root))
            {
                reason = $"{root} does not exist";
                return null;
            }
            dirs = Directory.EnumerateDirectories(root, "intel-rapl:*").Order(StringComparer.Ordinal).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            reason = $"{root} cannot be listed ({e.GetType().Name})";
            return null;
        }
        string last = "no intel-rapl zone";
        foreach (var dir in dirs)
        {
            var id = Path.GetFileName(dir)["intel-rapl:".Length..];
            bool package = !id.Contains(':');
            if (!package && ReadText(Path.Combine(dir, "name"))?.Trim() != "dram") continue;
            var energy = Path.Combine(dir, "energy_uj");
            try
            {
                ReadCounter(energy);
                var range = ReadCounter(Path.Combine(dir, "max_energy_range_uj"));
                found.Add((energy, range));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
                last = $"{energy}: {(e is UnauthorizedAccessException ? "permission denied" : e.GetType().Name)}";
            }
        }
        reason = found.Count == 0 ? last : "";
        return found.Count == 0 ? null : new RaplReader([.. found]);
    }

    /// <summary>The current value of every zone's counter, in µJ.</summary>
    public long[] Read() => zones.Select(z => ReadCounter(z.Energy)).ToArray();

    /// <summary>Joules between two readings of <see cref="Read"/>, counting one wrap of a counter that went down.</summary>
    public double JoulesBetween(long[] start, long[] end)
    {
        double micro = 0;
        for (int i = 0; i < zones.Length; i++) micro += Delta(start[i], end[i], zones[i].Range);
        return micro * 1e-6;
    }

    /// <summary>end − start of a counter that wraps to 0 after <paramref name="range"/>.</summary>
    internal static long Delta(long start, long end, long range) => end >= start ? end - start : range - start + end;

    static long ReadCounter(string path) =>
        long.Parse(File.ReadAllText(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture);

    static string? ReadText(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

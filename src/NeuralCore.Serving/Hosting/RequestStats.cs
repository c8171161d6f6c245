namespace NeuralCore.Serving.Hosting;

/// <summary>
/// Inference requests of the last <see cref="WindowSeconds"/> seconds, per second: count, non-2xx count and latency
/// percentiles, for the web console's live view (<c>GET /v1/stats</c>). Latencies fall into logarithmic buckets four
/// to an octave from 50 µs to about 52 s, so a reported percentile is within 9 % of the true one. Memory is fixed:
/// one slot per second of the window.
/// </summary>
internal sealed class RequestStats(TimeProvider time)
{
    /// <summary>Seconds kept.</summary>
    public const int WindowSeconds = 60;

    const double SmallestSeconds = 50e-6;
    const int BucketsPerOctave = 4;
    const int BucketCount = 80;

    sealed class Slot
    {
        public long Second = long.MinValue;
        public long Requests;
        public long Errors;
        public double TotalSeconds;
        public readonly long[] Buckets = new long[BucketCount];
    }

    readonly Slot[] slots = Enumerable.Range(0, WindowSeconds).Select(_ => new Slot()).ToArray();
    readonly Lock gate = new();
    long total;

    /// <summary>Records one answered request.</summary>
    public void Record(TimeSpan elapsed, int statusCode)
    {
        long second = time.GetUtcNow().ToUnixTimeSeconds();
        int bucket = Bucket(elapsed.TotalSeconds);
        lock (gate)
        {
            var slot = slots[(int)(second % WindowSeconds)];
            if (slot.Second != second) Reset(slot, second);
            slot.Requests++;
            if (statusCode is < 200 or > 299) slot.Errors++;
            slot.TotalSeconds += elapsed.TotalSeconds;
            slot.Buckets[bucket]++;
            total++;
        }
    }

    /// <summary>The last <see cref="WindowSeconds"/> seconds (oldest first, the current second last) and summaries.</summary>
    public StatsResponse Snapshot(int summarySeconds = 10)
    {
        long now = time.GetUtcNow().ToUnixTimeSeconds();
        var series = new StatsPoint[WindowSeconds];
        var recent = new long[BucketCount];
        long recentRequests = 0, recentErrors = 0;
        long grandTotal;
        lock (gate)
        {
            grandTotal = total;
            for (int i = 0; i < WindowSeconds; i++)
            {
                long second = now - (WindowSeconds - 1) + i;
                var slot = slots[(int)(second % WindowSeconds)];
                if (slot.Second != second)
                {
                    series[i] = new StatsPoint(second, 0, 0, null, null, null);
                    continue;
                }
                series[i] = new StatsPoint(second, slot.Requests, slot.Errors, Milliseconds(slot.TotalSeconds / slot.Requests),
                    Percentile(slot.Buckets, slot.Requests, 0.50), Percentile(slot.Buckets, slot.Requests, 0.99));
                // The summary leaves out the current, unfinished second.
                if (second < now && second >= now - summarySeconds)
                {
                    recentRequests += slot.Requests;
                    recentErrors += slot.Errors;
                    for (int b = 0; b < BucketCount; b++) recent[b] += slot.Buckets[b];
                }
            }
        }
        var summary = new StatsSummary(summarySeconds, recentRequests / (double)summarySeconds, recentErrors,
            Percentile(recent, recentRequests, 0.50), Percentile(recent, recentRequests, 0.99));
        return new StatsResponse(WindowSeconds, now, grandTotal, summary, series);
    }

    static void Reset(Slot slot, long second)
    {
        slot.Second = second;
        slot.Requests = slot.Errors = 0;
        slot.TotalSeconds = 0;
        Array.Clear(slot.Buckets);
    }

    internal static int Bucket(double seconds) =>
        seconds <= SmallestSeconds || !double.IsFinite(seconds) ? (double.IsPositiveInfinity(seconds) ? BucketCount - 1 : 0)
            : Math.Min(BucketCount - 1, (int)(Math.Log2(seconds / SmallestSeconds) * BucketsPerOctave));

    /// <summary>The geometric middle of a bucket, in seconds.</summary>
    internal static double Middle(int bucket) => SmallestSeconds * Math.Pow(2, (bucket + 0.5) / BucketsPerOctave);

    static double? Percentile(long[] buckets, long count, double q)
    {
        if (count == 0) return null;
        long rank = Math.Max(1, (long)Math.Ceiling(q * count));
        long seen = 0;
        for (int b = 0; b < BucketCount; b++)
        {
            seen += buckets[b];
            if (seen >= rank) return Milliseconds(Middle(b));
        }
        return Milliseconds(Middle(BucketCount - 1));
    }

    static double Milliseconds(double seconds) => Math.Round(seconds * 1000, 3);
}

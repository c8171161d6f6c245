namespace NeuralCore.Vision;

/// <summary>
/// Bounds on what extracting a downloaded <c>.tar.gz</c> archive may read and write. An archive that exceeds one is
/// refused with an <see cref="InvalidDataException"/> naming the entry and the limit, before the excess is allocated
/// or written. The defaults fit the CIFAR-10 binary archive (about 170 MB compressed, 8 files totalling about 185 MB)
/// with room to spare; raise them for larger archives.
/// </summary>
public sealed record ArchiveLimits
{
    /// <summary>The defaults: 64 entries, 64 MiB per entry, 256 MiB in all, 64 KiB of metadata per entry.</summary>
    public static ArchiveLimits Default { get; } = new();

    /// <summary>
    /// The most headers the archive may hold, counting files, directories, links and the metadata headers that
    /// carry long names or PAX records. Default 64 (CIFAR-10 has 9).
    /// </summary>
    public int MaxEntries { get; init; } = 64;

    /// <summary>The largest size one entry may declare, in bytes. Default 64 MiB (a CIFAR-10 batch is 30,730,000).</summary>
    public long MaxEntryBytes { get; init; } = 64L << 20;

    /// <summary>
    /// The most data bytes all entries together may declare, whether extracted or skipped. Default 256 MiB
    /// (CIFAR-10 holds about 185 MB).
    /// </summary>
    public long MaxTotalBytes { get; init; } = 256L << 20;

    /// <summary>
    /// The largest metadata block one entry may carry: a GNU long name or long link name, or a PAX extended header.
    /// Default 64 KiB. Metadata is held in memory, so this bounds what a header can make the reader allocate.
    /// </summary>
    public int MaxMetadataBytes { get; init; } = 64 << 10;

    /// <summary>The longest entry path, in UTF-16 characters, after long-name and PAX records apply. Default 4096.</summary>
    public int MaxPathLength { get; init; } = 4096;

    /// <summary>Throws when a limit is not positive.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A limit is zero or negative.</exception>
    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxEntries);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxEntryBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxTotalBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxMetadataBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxPathLength);
    }
}

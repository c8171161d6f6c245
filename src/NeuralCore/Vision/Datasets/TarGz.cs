using System.Formats.Tar;
using System.IO.Compression;

namespace NeuralCore.Vision;

/// <summary>Extracts .tar.gz archives with System.Formats.Tar, refusing entries that would land outside the target.</summary>
internal static class TarGz
{
    /// <summary>Extracts the directories and regular files of <paramref name="archive"/> under <paramref name="destination"/>.</summary>
    /// <exception cref="InvalidDataException">The archive is corrupt, or an entry's path escapes <paramref name="destination"/>.</exception>
    internal static void Extract(string archive, string destination)
    {
        string root = Path.GetFullPath(destination);
        string rootWithSeparator = Path.EndsInDirectorySeparator(root) ? root : root + Path.DirectorySeparatorChar;
        Directory.CreateDirectory(root);
        try
        {
            using var file = File.OpenRead(archive);
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            using var reader = new TarReader(gzip);
            while (reader.GetNextEntry() is { } entry)
            {
                if (entry.EntryType is not (TarEntryType.Directory or TarEntryType.RegularFile or TarEntryType.V7RegularFile))
                    continue; // links, devices and metadata entries are never needed and could point anywhere
                string target = Path.GetFullPath(Path.Combine(root, entry.Name));
                if (!target.StartsWith(rootWithSeparator, StringComparison.Ordinal) && target != root)
                    throw new InvalidDataException($"Archive '{archive}': entry '{entry.Name}' would be extracted outside '{root}'; refusing to extract it.");
                if (entry.EntryType == TarEntryType.Directory)
                {
                    Directory.CreateDirectory(target);
                    continue;
                }
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                entry.ExtractToFile(target, overwrite: true);
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException
                                   && !e.Message.StartsWith("Archive '", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"Archive '{archive}' is not a valid .tar.gz file ({e.Message}). Delete it and download it again.", e);
        }
    }
}

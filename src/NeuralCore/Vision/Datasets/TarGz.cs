using System.IO.Compression;
using System.Text;

namespace NeuralCore.Vision;

/// <summary>
/// Extracts .tar.gz archives with a bounded reader of its own: ustar, GNU (long names, base-256 numbers) and PAX
/// (path, linkpath and size records) headers. Only directories and regular files are written; every path must stay
/// under the destination, and links are never created (one whose target would leave the destination refuses the
/// archive). Every size is checked against <see cref="ArchiveLimits"/> before anything is allocated or written.
/// </summary>
/// <remarks>
/// Header layout (POSIX.1-1988 ustar, as extended by GNU tar and POSIX.1-2001 pax): 512-byte blocks; a header block
/// holds name[100] at 0, size[12] at 124 (octal, or base-256 when the first byte has its high bit set), chksum[8] at
/// 148, typeflag at 156, linkname[100] at 157, magic[6] at 257 and, for POSIX ustar, prefix[155] at 345. The entry's
/// data follows, padded to a whole block. An all-zero block ends the archive.
/// </remarks>
internal static class TarGz
{
    const int BlockSize = 512;

    // Entry names and link targets echoed in messages are cut to this many characters.
    const int ShownNameLength = 200;

    // The longest file name (one path component) common file systems accept, in bytes.
    const int MaxNameComponentBytes = 255;

    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Extracts the directories and regular files of <paramref name="archive"/> under <paramref name="destination"/>.</summary>
    /// <param name="archive">The .tar.gz file.</param>
    /// <param name="destination">The directory to extract into; created when missing.</param>
    /// <param name="limits">The bounds on the archive; <see cref="ArchiveLimits.Default"/> when null.</param>
    /// <exception cref="InvalidDataException">
    /// The archive is corrupt, exceeds a limit, or an entry's path or link target escapes <paramref name="destination"/>;
    /// the message names the archive, the entry and the problem.
    /// </exception>
    /// <exception cref="IOException">Reading the archive or writing a file failed.</exception>
    internal static void Extract(string archive, string destination, ArchiveLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(archive);
        using var file = File.OpenRead(archive);
        Extract(file, archive, destination, limits);
    }

    /// <summary>Extracts the .tar.gz read from <paramref name="compressed"/>, named <paramref name="archiveName"/> in messages.</summary>
    /// <exception cref="InvalidDataException">As for <see cref="Extract(string, string, ArchiveLimits?)"/>.</exception>
    internal static void Extract(Stream compressed, string archiveName, string destination, ArchiveLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(compressed);
        ArgumentNullException.ThrowIfNull(destination);
        limits ??= ArchiveLimits.Default;
        limits.Validate();
        string root = Path.GetFullPath(destination);
        Directory.CreateDirectory(root);
        var reader = new Reader(compressed, archiveName, limits);
        try
        {
            while (reader.Next() is { } entry)
            {
                switch (entry.Kind)
                {
                    case EntryKind.Directory:
                        CreateDirectories(reader, root, Target(reader, root, entry.Name));
                        reader.SkipData();
                        break;
                    case EntryKind.File:
                        WriteFile(reader, root, Target(reader, root, entry.Name));
                        break;
                    case EntryKind.HardLink:
                        // Links are not created, but one reaching outside the destination marks a hostile archive.
                        Target(reader, root, entry.LinkName!, "link target");
                        reader.SkipData();
                        break;
                    case EntryKind.SymbolicLink:
                        CheckSymbolicLink(reader, root, entry);
                        reader.SkipData();
                        break;
                    default:
                        reader.SkipData(); // devices, FIFOs, sparse and vendor entries are never needed
                        break;
                }
            }
        }
        catch (PathTooLongException e)
        {
            throw reader.Fail($"the path is too long for this file system under '{root}'", e);
        }
        catch (InvalidDataException e) when (!reader.IsOwn(e))
        {
            // GZipStream's own errors say nothing of where in the archive they happened.
            throw reader.Fail($"corrupt gzip data ({e.Message})", e);
        }
    }

    static string Target(Reader reader, string root, string name, string what = "path")
    {
        if (name.Length == 0) throw reader.Fail($"empty {what}");
        CheckText(reader, name, what);
        if (name.Contains('\\'))
            throw reader.Fail($"the {what} '{Shown(name)}' holds a backslash, which some systems read as a directory separator");
        if (name[0] == '/' || Path.IsPathRooted(name))
            throw reader.Fail($"the {what} '{Shown(name)}' is absolute; refusing to extract outside the destination");
        var parts = name.Split('/');
        if (parts.Contains(".."))
            throw reader.Fail($"the {what} '{Shown(name)}' contains '..'; refusing to extract outside the destination");
        if (parts.FirstOrDefault(p => Encoding.UTF8.GetByteCount(p) > MaxNameComponentBytes) is { } longPart)
            throw reader.Fail($"the {what} has a component of {Encoding.UTF8.GetByteCount(longPart)} bytes, more than file systems allow ({MaxNameComponentBytes})");
        string target = Path.GetFullPath(Path.Combine(root, name));
        if (!IsUnder(root, target))
            throw reader.Fail($"the {what} '{Shown(name)}' would be extracted outside '{root}'; refusing to extract it");
        return target;
    }

    static void CheckText(Reader reader, string text, string what)
    {
        if (text.Length > reader.Limits.MaxPathLength)
            throw reader.Fail($"the {what} is {text.Length} characters long, more than the limit of {reader.Limits.MaxPathLength}");
        foreach (char c in text)
            if (char.IsControl(c))
                throw reader.Fail($"the {what} '{Shown(text)}' holds control character U+{(int)c:X4}");
    }

    static bool IsUnder(string root, string path)
    {
        string rootWithSeparator = Path.EndsInDirectorySeparator(root) ? root : root + Path.DirectorySeparatorChar;
        return path == root || path == rootWithSeparator || path.StartsWith(rootWithSeparator, StringComparison.Ordinal);
    }

    static void CheckSymbolicLink(Reader reader, string root, Entry entry)
    {
        string link = entry.LinkName!;
        CheckText(reader, link, "link target");
        if (link.Length > 0 && (link[0] == '/' || Path.IsPathRooted(link)))
            throw reader.Fail($"symbolic link to the absolute path '{Shown(link)}'; refusing the archive");
        string linkDirectory = Path.GetDirectoryName(Target(reader, root, entry.Name)) ?? root;
        string resolved = Path.GetFullPath(Path.Combine(linkDirectory, link));
        if (!IsUnder(root, resolved))
            throw reader.Fail($"symbolic link to '{Shown(link)}' points outside the destination; refusing the archive");
    }

    // Creates target and its missing parents under root, refusing to go through an existing file or symbolic link.
    static void CreateDirectories(Reader reader, string root, string target)
    {
        string relative = Path.GetRelativePath(root, target);
        if (relative == ".") return;
        string current = root;
        foreach (var part in relative.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            current = Path.Combine(current, part);
            var info = new DirectoryInfo(current);
            if (info.LinkTarget is not null)
                throw reader.Fail($"'{Shown(current)}' already exists as a symbolic link; refusing to extract through it");
            if (File.Exists(current))
                throw reader.Fail($"the directory '{Shown(current)}' would replace a file extracted or present there");
            if (!info.Exists) info.Create();
        }
    }

    static void WriteFile(Reader reader, string root, string target)
    {
        if (target == root || Path.EndsInDirectorySeparator(target))
            throw reader.Fail("a regular file entry names a directory");
        CreateDirectories(reader, root, Path.GetDirectoryName(target)!);
        if (Directory.Exists(target))
            throw reader.Fail($"the file would replace the directory '{Shown(target)}'");
        // Deleting first removes a symbolic link itself instead of writing through it.
        File.Delete(target);
        var output = new FileStream(target, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        bool complete = false;
        try
        {
            reader.CopyData(output);
            complete = true;
        }
        finally
        {
            output.Dispose();
            if (!complete) File.Delete(target); // never leave a truncated file that looks extracted
        }
    }

    /// <summary>An entry name or link target as echoed in messages: control characters replaced, at most 200 characters.</summary>
    internal static string Shown(string name)
    {
        var shown = new StringBuilder(Math.Min(name.Length, ShownNameLength) + 1);
        foreach (char c in name.Length > ShownNameLength ? name[..ShownNameLength] : name)
            shown.Append(char.IsControl(c) || char.IsSurrogate(c) ? '?' : c);
        if (name.Length > ShownNameLength) shown.Append('…');
        return shown.ToString();
    }

    enum EntryKind { File, Directory, HardLink, SymbolicLink, Other }

    sealed record Entry(EntryKind Kind, string Name, string? LinkName, long Size);

    /// <summary>Reads tar headers and data from the decompressed stream, enforcing the limits.</summary>
    sealed class Reader(Stream compressed, string archive, ArchiveLimits limits)
    {
        const string OwnMarker = "NeuralCore.TarGz";

        readonly GZipStream data = new(compressed, CompressionMode.Decompress, leaveOpen: true);
        readonly byte[] header = new byte[BlockSize];
        readonly byte[] buffer = new byte[1 << 16];
        int headers;
        long totalBytes;
        long remaining;     // data bytes of the current entry not yet read
        int padding;        // bytes after them up to the block boundary
        string where = "header 1";
        string? lastEntry;
        bool anyBlock;

        public ArchiveLimits Limits => limits;

        public bool IsOwn(Exception e) => e.Data.Contains(OwnMarker);

        public InvalidDataException Fail(string problem, Exception? inner = null)
        {
            var e = new InvalidDataException($"Archive '{archive}', {where}: {problem}. Delete it and download it again.", inner);
            e.Data[OwnMarker] = true;
            return e;
        }

        /// <summary>The next file, directory, link or other entry, with metadata headers applied; null at the end.</summary>
        public Entry? Next()
        {
            SkipData();
            string? longName = null, longLink = null, paxPath = null, paxLink = null;
            long? paxSize = null;
            while (true)
            {
                if (!ReadHeaderBlock()) return null;
                if (header.AsSpan().IndexOfAnyExcept((byte)0) < 0) return null; // end-of-archive marker
                headers++;
                where = $"header {headers}" + (lastEntry is null ? "" : $" (after entry '{lastEntry}')");
                if (headers > limits.MaxEntries)
                    throw Fail($"the archive holds more than {limits.MaxEntries} entries, the limit");
                CheckChecksum();
                byte type = header[156];
                long size = ParseNumber(header.AsSpan(124, 12), "size");
                switch (type)
                {
                    case (byte)'L':
                        longName = ReadNameData(ReadMetadata(size, "GNU long name"), "GNU long name");
                        continue;
                    case (byte)'K':
                        longLink = ReadNameData(ReadMetadata(size, "GNU long link name"), "GNU long link name");
                        continue;
                    case (byte)'x':
                        ParsePax(ReadMetadata(size, "PAX extended header"), ref paxPath, ref paxLink, ref paxSize);
                        continue;
                    case (byte)'g':
                        string? ignoredPath = null, ignoredLink = null;
                        long? ignoredSize = null;
                        ParsePax(ReadMetadata(size, "PAX global header"), ref ignoredPath, ref ignoredLink, ref ignoredSize);
                        continue;
                }

                string name = paxPath ?? longName ?? HeaderName();
                lastEntry = Shown(name);
                where = $"entry '{lastEntry}'";
                if (paxSize is long declared) size = declared;
                if (size > limits.MaxEntryBytes)
                    throw Fail($"the entry declares {size} bytes, more than the per-entry limit of {limits.MaxEntryBytes}");
                if (size > limits.MaxTotalBytes - totalBytes)
                    throw Fail($"the entries declare more than {limits.MaxTotalBytes} bytes in all, the limit");
                totalBytes += size;
                BeginData(size);
                var kind = type switch
                {
                    (byte)'0' or 0 or (byte)'7' => name.EndsWith('/') ? EntryKind.Directory : EntryKind.File,
                    (byte)'5' => EntryKind.Directory,
                    (byte)'1' => EntryKind.HardLink,
                    (byte)'2' => EntryKind.SymbolicLink,
                    _ => EntryKind.Other,
                };
                string? link = kind is EntryKind.HardLink or EntryKind.SymbolicLink
                    ? paxLink ?? longLink ?? Text(header.AsSpan(157, 100), "link name")
                    : null;
                return new Entry(kind, name, link, size);
            }
        }

        public void CopyData(Stream output)
        {
            while (remaining > 0)
            {
                int n = Read(buffer.AsSpan(0, (int)Math.Min(buffer.Length, remaining)));
                output.Write(buffer, 0, n);
                remaining -= n;
            }
        }

        public void SkipData()
        {
            CopyData(Stream.Null);
            while (padding > 0)
            {
                padding -= Read(buffer.AsSpan(0, padding));
            }
        }

        void BeginData(long size)
        {
            remaining = size;
            padding = (int)((BlockSize - size % BlockSize) % BlockSize);
        }

        // Reads at least one byte; the archive ending inside an entry is an error.
        int Read(Span<byte> span)
        {
            int n = data.Read(span);
            if (n == 0) throw Fail("the archive ends inside the entry's data (truncated)");
            return n;
        }

        bool ReadHeaderBlock()
        {
            int n = data.ReadAtLeast(header, BlockSize, throwOnEndOfStream: false);
            if (n == 0 && !anyBlock) throw Fail("the archive is empty: no tar header");
            if (n == 0) return false; // ended without the end-of-archive marker: accepted, as tar does
            anyBlock = true;
            if (n < BlockSize) throw Fail($"the archive ends inside a header ({n} of {BlockSize} bytes; truncated)");
            return true;
        }

        byte[] ReadMetadata(long size, string what)
        {
            if (size > limits.MaxMetadataBytes)
                throw Fail($"a {what} of {size} bytes exceeds the limit of {limits.MaxMetadataBytes}");
            var bytes = new byte[size];
            BeginData(size);
            int filled = 0;
            while (filled < bytes.Length) filled += Read(bytes.AsSpan(filled));
            remaining = 0;
            SkipData();
            return bytes;
        }

        void CheckChecksum()
        {
            long stored = ParseNumber(header.AsSpan(148, 8), "checksum");
            long unsigned = 0, signed = 0;
            for (int i = 0; i < BlockSize; i++)
            {
                byte b = i is >= 148 and < 156 ? (byte)' ' : header[i];
                unsigned += b;
                signed += (sbyte)b;
            }
            if (stored != unsigned && stored != signed)
                throw Fail($"header checksum {stored} does not match the header's {unsigned}: the data is corrupt or not a tar archive");
        }

        // Octal digits (optionally space-padded, ending at a space or NUL), or GNU base-256 when the high bit is set.
        long ParseNumber(ReadOnlySpan<byte> field, string what)
        {
            if ((field[0] & 0x80) != 0)
            {
                if (field[0] == 0xFF) throw Fail($"negative {what} field (base-256)");
                long value = field[0] & 0x7F;
                foreach (byte b in field[1..])
                {
                    if (value > (long.MaxValue >> 8)) throw Fail($"{what} field (base-256) overflows a 64-bit integer");
                    value = (value << 8) | b;
                }
                return value;
            }
            int i = 0;
            while (i < field.Length && field[i] == ' ') i++;
            long octal = 0;
            for (; i < field.Length && field[i] is not (0 or (byte)' '); i++)
            {
                if (field[i] is < (byte)'0' or > (byte)'7')
                    throw Fail($"{what} field holds '{Shown(Encoding.Latin1.GetString(field))}', not an octal number");
                octal = octal * 8 + (field[i] - '0'); // at most 12 digits: cannot overflow
            }
            for (; i < field.Length; i++)
                if (field[i] is not (0 or (byte)' '))
                    throw Fail($"{what} field holds '{Shown(Encoding.Latin1.GetString(field))}', not an octal number");
            return octal;
        }

        string HeaderName()
        {
            string name = Text(header.AsSpan(0, 100), "name");
            // POSIX ustar (magic "ustar\0") splits long paths into prefix/name; GNU ("ustar  ") uses the bytes otherwise.
            if (header.AsSpan(257, 6).SequenceEqual("ustar\0"u8))
            {
                string prefix = Text(header.AsSpan(345, 155), "name prefix");
                if (prefix.Length > 0) name = prefix + "/" + name;
            }
            return name;
        }

        string Text(ReadOnlySpan<byte> field, string what)
        {
            int end = field.IndexOf((byte)0);
            return Decode(end < 0 ? field : field[..end], what);
        }

        string ReadNameData(byte[] bytes, string what)
        {
            int end = Array.IndexOf(bytes, (byte)0);
            return Decode(end < 0 ? bytes : bytes.AsSpan(0, end), what);
        }

        string Decode(ReadOnlySpan<byte> bytes, string what)
        {
            try
            {
                return StrictUtf8.GetString(bytes);
            }
            catch (DecoderFallbackException)
            {
                throw Fail($"the {what} is not valid UTF-8");
            }
        }

        // PAX records: "<length> <key>=<value>\n", the decimal length counting the whole record.
        void ParsePax(byte[] bytes, ref string? path, ref string? link, ref long? size)
        {
            int at = 0;
            while (at < bytes.Length)
            {
                int space = Array.IndexOf(bytes, (byte)' ', at);
                if (space <= at || space - at > 10) throw Fail($"malformed PAX record at byte {at}: no length");
                long length = 0;
                for (int i = at; i < space; i++)
                {
                    if (bytes[i] is < (byte)'0' or > (byte)'9') throw Fail($"malformed PAX record at byte {at}: bad length");
                    length = length * 10 + (bytes[i] - '0');
                }
                if (length < space - at + 4 || length > bytes.Length - at || bytes[at + length - 1] != '\n')
                    throw Fail($"malformed PAX record at byte {at}: its length {length} does not fit the header");
                var record = bytes.AsSpan(space + 1, (int)(at + length - 1 - (space + 1)));
                int equals = record.IndexOf((byte)'=');
                if (equals <= 0) throw Fail($"malformed PAX record at byte {at}: no key");
                string key = Decode(record[..equals], "PAX key");
                var value = record[(equals + 1)..];
                switch (key)
                {
                    case "path":
                        path = Decode(value, "PAX path");
                        break;
                    case "linkpath":
                        link = Decode(value, "PAX link path");
                        break;
                    case "size":
                        size = ParsePaxSize(value);
                        break;
                }
                at += (int)length;
            }
        }

        long ParsePaxSize(ReadOnlySpan<byte> value)
        {
            if (value.Length is 0 or > 18) throw Fail("PAX size record is empty or longer than 18 digits");
            long size = 0;
            foreach (byte b in value)
            {
                if (b is < (byte)'0' or > (byte)'9') throw Fail("PAX size record is not a decimal number");
                size = size * 10 + (b - '0');
            }
            return size;
        }
    }
}

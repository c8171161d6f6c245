using System.Security.Cryptography;

namespace NeuralCore.Serving.Registry;

/// <summary>
/// Model files stored by content: the file whose bytes hash to <c>abcdef...</c> (SHA-256, lowercase hex) lives at
/// <c>blobs/ab/cdef...</c>. Files are staged under <c>blobs/incoming</c>, hashed, then moved into place and made read-only.
/// </summary>
internal sealed class BlobStore
{
    readonly string root;
    readonly string incoming;

    public BlobStore(string root)
    {
        this.root = Path.GetFullPath(root);
        incoming = Path.Combine(this.root, "incoming");
        Directory.CreateDirectory(incoming);
    }

    /// <summary>A fresh path under the staging folder (same file system as the store, so the final move is a rename).</summary>
    public string StagingPath() => Path.Combine(incoming, $"{Guid.NewGuid():N}.safetensors");

    /// <summary>Where the file with this hash is stored.</summary>
    public string PathOf(string sha256) => Path.Combine(root, sha256[..2], sha256[2..]);

    /// <summary>SHA-256 (lowercase hex) and length of a file's bytes.</summary>
    public static (string Sha256, long Size) Hash(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return (Convert.ToHexStringLower(SHA256.HashData(stream)), stream.Length);
    }

    /// <summary>
    /// Moves a staged file into place under its hash; returns true when this call created the stored file (false when
    /// identical content was already stored, and the staged copy is removed).
    /// </summary>
    public bool Commit(string staged, string sha256)
    {
        string target = PathOf(sha256);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        if (File.Exists(target))
        {
            File.Delete(staged);
            return false;
        }
        File.Move(staged, target);
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(target, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        return true;
    }

    /// <summary>Moves a stored file to the staging folder and returns its new path (null when it was not stored).</summary>
    public string? SetAside(string sha256)
    {
        string path = PathOf(sha256);
        if (!File.Exists(path)) return null;
        string aside = StagingPath();
        File.Move(path, aside);
        return aside;
    }

    /// <summary>Undoes <see cref="SetAside"/>.</summary>
    public void PutBack(string aside, string sha256)
    {
        if (!File.Exists(PathOf(sha256))) File.Move(aside, PathOf(sha256));
    }

    /// <summary>Removes a stored file, if present.</summary>
    public void Delete(string sha256)
    {
        string path = PathOf(sha256);
        if (!File.Exists(path)) return;
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Delete(path);
    }
}

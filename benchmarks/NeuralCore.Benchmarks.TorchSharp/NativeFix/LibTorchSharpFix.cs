using System.Runtime.InteropServices;

namespace NeuralCore.Benchmarks.Comparison.NativeFix;

/// <summary>
/// Makes TorchSharp's native library loadable on a system whose libstdc++ is older than the one it was linked
/// against. TorchSharp 0.107's <c>libLibTorchSharp.so</c> lists <c>GLIBCXX_3.4.32</c> among the versions it
/// needs from <c>libstdc++.so.6</c>, only for the symbol <c>_ZSt21ios_base_library_initv</c>, which no
/// relocation binds (it is never called). Debian 12's libstdc++ defines versions up to <c>GLIBCXX_3.4.30</c>,
/// so the dynamic loader refuses the library ("version `GLIBCXX_3.4.32' not found").
/// <para>
/// The fix marks each such requirement weak (<c>VER_FLG_WEAK</c> in its Vernaux entry), which the loader
/// accepts when the version is missing. It only touches the copy of the library in this program's own
/// output folder (<see cref="AppContext.BaseDirectory"/>), never the package cache; it only weakens versions
/// that the system libstdc++ lacks and that no relocation uses; it writes a new file and renames it over the
/// old one (so a hard link or symbolic link to another copy is never written through); and it is idempotent.
/// It must run before any TorchSharp type loads the native library, in every process that uses TorchSharp
/// (BenchmarkDotNet runs each benchmark in a child process with its own output folder).
/// </para>
/// </summary>
internal static class LibTorchSharpFix
{
    const string LibraryName = "libLibTorchSharp.so";
    const string StdCxxSoname = "libstdc++.so.6";

    static readonly Lock gate = new();
    static IReadOnlyList<string>? done;

    /// <summary>
    /// Applies the fix once per process (later calls return the first call's report). Returns what it found and
    /// did, one line each.
    /// </summary>
    public static IReadOnlyList<string> EnsureLoadable()
    {
        lock (gate)
            return done ??= Apply();
    }

    static IReadOnlyList<string> Apply()
    {
        var log = new List<string>();
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            log.Add($"{RuntimeInformation.OSDescription} {RuntimeInformation.ProcessArchitecture}: not linux-x64, nothing to check.");
            return log;
        }

        string baseDir = Path.GetFullPath(AppContext.BaseDirectory);
        string? library = new[]
            {
                Path.Combine(baseDir, "runtimes", "linux-x64", "native", LibraryName),
                Path.Combine(baseDir, LibraryName),
            }.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException($"{LibraryName} was not found under {baseDir} (runtimes/linux-x64/native/ or the folder itself); was the TorchSharp-cpu package restored?");

        string stdcxx = SystemStdCxxPath();
        var available = new ElfImage(File.ReadAllBytes(stdcxx)).VersionDefinitions();

        byte[] bytes = File.ReadAllBytes(library);
        var elf = new ElfImage(bytes);
        var missing = elf.VersionRequirements()
            .Where(r => r.File == StdCxxSoname && !available.Contains(r.Version))
            .ToList();
        log.Add($"{library}: needs {elf.VersionRequirements().Count(r => r.File == StdCxxSoname)} versions of {StdCxxSoname}; " +
                $"{stdcxx} lacks {(missing.Count == 0 ? "none of them" : string.Join(", ", missing.Select(r => r.Version)))}.");

        var toWeaken = missing.Where(r => !r.IsWeak).ToList();
        foreach (var r in missing.Where(r => r.IsWeak))
            log.Add($"{r.Version}: already weak, nothing to do.");
        if (toWeaken.Count == 0) return log;

        var bound = elf.VersionIndicesUsedByRelocations();
        foreach (var r in toWeaken)
        {
            if (bound.Contains(r.Index))
                throw new InvalidOperationException(
                    $"{library} binds symbols of {r.Version} (version index {r.Index}) through relocations, and {stdcxx} does not define " +
                    $"that version: weakening the requirement would only move the failure to the first call. Use a system with a newer libstdc++.");
            bytes[r.FlagsOffset] |= (byte)ElfImage.VerFlagWeak; // vna_flags is little-endian; the weak bit is in its low byte
        }

        // Re-read the patched image: it must still parse and now show every missing version as weak.
        var check = new ElfImage(bytes).VersionRequirements();
        if (check.Any(r => r.File == StdCxxSoname && !available.Contains(r.Version) && !r.IsWeak))
            throw new InvalidOperationException($"Patching {library} did not take effect; the file was left unchanged.");

        string temp = library + ".weakened.tmp";
        try
        {
            File.WriteAllBytes(temp, bytes);
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(temp, File.GetUnixFileMode(library));
            File.Move(temp, library, overwrite: true);
        }
        finally
        {
            File.Delete(temp); // nothing left behind if writing or renaming failed (no-op after the rename)
        }
        foreach (var r in toWeaken)
            log.Add($"{r.Version}: marked the requirement weak (VER_FLG_WEAK in its .gnu.version_r entry; no relocation uses it) in this copy.");
        return log;
    }

    /// <summary>The file the dynamic loader resolves <c>libstdc++.so.6</c> to in this process.</summary>
    static string SystemStdCxxPath()
    {
        if (!NativeLibrary.TryLoad(StdCxxSoname, out var handle))
            throw new DllNotFoundException($"{StdCxxSoname} could not be loaded; TorchSharp needs the C++ runtime.");
        try
        {
            // /proc/self/maps lists the mapped file by its real path (after symbolic links).
            foreach (string line in File.ReadLines("/proc/self/maps"))
            {
                int slash = line.IndexOf('/');
                if (slash >= 0 && Path.GetFileName(line[slash..]).StartsWith("libstdc++.so", StringComparison.Ordinal))
                    return line[slash..];
            }
        }
        finally
        {
            NativeLibrary.Free(handle);
        }
        throw new FileNotFoundException($"{StdCxxSoname} loaded but does not appear in /proc/self/maps.");
    }
}

using System.Reflection;
using System.Runtime.InteropServices;

namespace NeuralCore.Gpu;

/// <summary>
/// ILGPU imports the driver libraries as "cuda" and "OpenCL", which .NET looks for as libcuda.so and
/// libOpenCL.so. Machines with only a GPU driver installed often ship just the versioned libcuda.so.1 and
/// libOpenCL.so.1, and then no device would be found, silently. This resolver falls back to those names.
/// </summary>
internal static class NativeLibraryResolver
{
    static int installed;

    public static void Install()
    {
        if (Interlocked.Exchange(ref installed, 1) != 0) return;
        try
        {
            NativeLibrary.SetDllImportResolver(typeof(ILGPU.Context).Assembly, Resolve);
        }
        catch (InvalidOperationException)
        {
            // ILGPU installed its own resolver (it does under WSL); keep it.
        }
    }

    static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        string[] candidates = name switch
        {
            "cuda" or "nvcuda" => OperatingSystem.IsWindows() ? ["nvcuda.dll"] : ["libcuda.so", "libcuda.so.1"],
            "OpenCL" => OperatingSystem.IsWindows() ? ["OpenCL.dll"] : OperatingSystem.IsMacOS() ? [] : ["libOpenCL.so", "libOpenCL.so.1"],
            _ => [],
        };
        foreach (var c in candidates)
            if (NativeLibrary.TryLoad(c, out var handle)) return handle;
        return IntPtr.Zero;
    }
}

using System.Runtime.InteropServices;

namespace NeuralCore.Distributed;

/// <summary>
/// The few Open MPI entry points this package calls, bound at run time from <c>libmpi.so.40</c> (Open MPI 4.x's
/// ABI). In Open MPI the handles <c>MPI_Comm</c>, <c>MPI_Datatype</c> and <c>MPI_Op</c> are pointers to global
/// objects (<c>MPI_COMM_WORLD</c> is <c>&amp;ompi_mpi_comm_world</c>), so they are looked up as exported symbols.
/// The library is opened with <c>RTLD_GLOBAL</c>: Open MPI's plugins resolve symbols against it.
/// </summary>
internal sealed unsafe class MpiNative
{
    public const int ThreadFunneled = 1;
    public static readonly nint InPlace = 1;

    public readonly nint CommWorld, Float, Double, Int, LongLong, OpSum, OpMax, OpMin;
    public readonly delegate* unmanaged<int*, nint, int, int*, int> InitThread;
    public readonly delegate* unmanaged<int*, int> Initialized;
    public readonly delegate* unmanaged<int*, int> Finalized;
    public readonly delegate* unmanaged<int> Finalize;
    public readonly delegate* unmanaged<nint, int*, int> CommRank;
    public readonly delegate* unmanaged<nint, int*, int> CommSize;
    public readonly delegate* unmanaged<void*, void*, int, nint, nint, nint, nint*, int> Iallreduce;
    public readonly delegate* unmanaged<void*, int, nint, int, nint, nint*, int> Ibcast;
    public readonly delegate* unmanaged<void*, int, nint, void*, int, nint, nint, nint*, int> Iallgather;
    public readonly delegate* unmanaged<void*, void*, int, nint, nint, nint, nint*, int> IreduceScatterBlock;
    public readonly delegate* unmanaged<nint, nint*, int> Ibarrier;
    public readonly delegate* unmanaged<nint*, int*, void*, int> Test;
    public readonly delegate* unmanaged<nint, int, int> Abort;

    static MpiNative? loaded;
    static readonly object Gate = new();

    MpiNative(nint lib)
    {
        CommWorld = Symbol(lib, "ompi_mpi_comm_world");
        Float = Symbol(lib, "ompi_mpi_float");
        Double = Symbol(lib, "ompi_mpi_double");
        Int = Symbol(lib, "ompi_mpi_int");
        LongLong = Symbol(lib, "ompi_mpi_long_long_int");
        OpSum = Symbol(lib, "ompi_mpi_op_sum");
        OpMax = Symbol(lib, "ompi_mpi_op_max");
        OpMin = Symbol(lib, "ompi_mpi_op_min");
        InitThread = (delegate* unmanaged<int*, nint, int, int*, int>)Symbol(lib, "MPI_Init_thread");
        Initialized = (delegate* unmanaged<int*, int>)Symbol(lib, "MPI_Initialized");
        Finalized = (delegate* unmanaged<int*, int>)Symbol(lib, "MPI_Finalized");
        Finalize = (delegate* unmanaged<int>)Symbol(lib, "MPI_Finalize");
        CommRank = (delegate* unmanaged<nint, int*, int>)Symbol(lib, "MPI_Comm_rank");
        CommSize = (delegate* unmanaged<nint, int*, int>)Symbol(lib, "MPI_Comm_size");
        Iallreduce = (delegate* unmanaged<void*, void*, int, nint, nint, nint, nint*, int>)Symbol(lib, "MPI_Iallreduce");
        Ibcast = (delegate* unmanaged<void*, int, nint, int, nint, nint*, int>)Symbol(lib, "MPI_Ibcast");
        Iallgather = (delegate* unmanaged<void*, int, nint, void*, int, nint, nint, nint*, int>)Symbol(lib, "MPI_Iallgather");
        IreduceScatterBlock = (delegate* unmanaged<void*, void*, int, nint, nint, nint, nint*, int>)Symbol(lib, "MPI_Ireduce_scatter_block");
        Ibarrier = (delegate* unmanaged<nint, nint*, int>)Symbol(lib, "MPI_Ibarrier");
        Test = (delegate* unmanaged<nint*, int*, void*, int>)Symbol(lib, "MPI_Test");
        Abort = (delegate* unmanaged<nint, int, int>)Symbol(lib, "MPI_Abort");
    }

    /// <summary>Opens Open MPI once per process.</summary>
    /// <exception cref="CommunicatorException">The library or one of its symbols is missing.</exception>
    public static MpiNative Load()
    {
        lock (Gate)
        {
            if (loaded is not null) return loaded;
            const int RtldNow = 2, RtldGlobal = 0x100;
            nint lib = 0;
            string? error = null;
            foreach (var name in new[] { "libmpi.so.40", "libmpi.so" })
            {
                lib = dlopen(name, RtldNow | RtldGlobal);
                if (lib != 0) break;
                error ??= Marshal.PtrToStringUTF8(dlerror());
            }
            if (lib == 0)
                throw new CommunicatorException(
                    $"Open MPI's library libmpi.so.40 could not be loaded ({error}). Install Open MPI 4 (Debian: apt-get install openmpi-bin libopenmpi-dev) or run without mpirun for a single process.");
            return loaded = new MpiNative(lib);
        }
    }

    static nint Symbol(nint lib, string name) =>
        NativeLibrary.TryGetExport(lib, name, out var address) ? address
            : throw new CommunicatorException($"libmpi does not export {name}: this package needs Open MPI 4.x (libmpi.so.40).");

    [DllImport("libc", EntryPoint = "dlopen")]
    static extern nint dlopen([MarshalAs(UnmanagedType.LPUTF8Str)] string file, int mode);

    [DllImport("libc", EntryPoint = "dlerror")]
    static extern nint dlerror();
}

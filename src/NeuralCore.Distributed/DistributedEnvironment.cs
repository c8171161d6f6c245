namespace NeuralCore.Distributed;

/// <summary>
/// Where this process stands in a distributed job, read from the launcher's environment: Open MPI's
/// <c>mpirun</c> sets <c>OMPI_COMM_WORLD_RANK</c>, <c>OMPI_COMM_WORLD_SIZE</c> and <c>OMPI_COMM_WORLD_LOCAL_RANK</c>
/// (PMIx launchers <c>PMIX_RANK</c>). Without them the process is a world of one and MPI is not loaded, so a program
/// runs the same with or without <c>mpirun</c> (and on a machine without Open MPI).
/// </summary>
public static class DistributedEnvironment
{
    /// <summary>Whether this process was started by an MPI launcher.</summary>
    public static bool IsMpiLaunch =>
        Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is not null || Environment.GetEnvironmentVariable("PMIX_RANK") is not null;

    /// <summary>This process's rank as the launcher set it (0 without a launcher).</summary>
    public static int Rank => Read("OMPI_COMM_WORLD_RANK") ?? Read("PMIX_RANK") ?? 0;

    /// <summary>Number of processes as the launcher set it (1 without a launcher).</summary>
    public static int WorldSize => Read("OMPI_COMM_WORLD_SIZE") ?? 1;

    /// <summary>This process's index among the ranks on its machine (to pick a GPU); 0 without a launcher.</summary>
    public static int LocalRank => Read("OMPI_COMM_WORLD_LOCAL_RANK") ?? 0;

    /// <summary>
    /// The communicator for this process: an <see cref="MpiCommunicator"/> under an MPI launcher, otherwise a world
    /// of one (<see cref="InProcessCommunicator"/>). Dispose it before the program ends.
    /// </summary>
    /// <param name="timeout">Longest time a collective may take; null for <see cref="Communicator.DefaultTimeout"/>.</param>
    /// <exception cref="CommunicatorException">Launched by MPI but Open MPI cannot be loaded or initialised.</exception>
    public static Communicator CreateCommunicator(TimeSpan? timeout = null) =>
        IsMpiLaunch ? new MpiCommunicator(timeout) : InProcessCommunicator.Create(1, timeout)[0];

    static int? Read(string name) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), System.Globalization.NumberStyles.Integer,
            System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : null;
}

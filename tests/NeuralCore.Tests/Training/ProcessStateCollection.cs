namespace NeuralCore.Tests.Training;

/// <summary>
/// Tests that change process-wide state (Console.Out, the working directory) run alone, so no other test's output
/// lands in theirs and no relative path of another test moves.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessStateCollection
{
    public const string Name = "ProcessState";
}

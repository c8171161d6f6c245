namespace NeuralCore.Tests.Training;

/// <summary>
/// Tests that change process-wide state (Console.Out, the working directory, the default random generator) run
/// alone, so no other test's output lands in theirs, no relative path of another test moves, and no other test
/// draws from the default generator between their draws.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessStateCollection
{
    public const string Name = "ProcessState";
}

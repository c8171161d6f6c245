namespace NeuralCore.Fuzz;

/// <summary>
/// One reader under fuzzing: its seed corpus (valid files the library writes), how to run one input, which
/// exceptions are its documented refusals, and optional format-aware mutations.
/// </summary>
public abstract class FuzzTarget
{
    /// <summary>The name used on the command line and for corpus and crasher folders.</summary>
    public abstract string Name { get; }

    /// <summary>Valid inputs made by the library itself.</summary>
    public abstract IReadOnlyList<byte[]> Seeds();

    /// <summary>
    /// Runs the reader on <paramref name="input"/>. Returns normally when it loaded; throws what the reader threw
    /// otherwise. <paramref name="scratch"/> is an empty-or-reused directory for files the reader needs on disk.
    /// </summary>
    public abstract void Execute(byte[] input, string scratch);

    /// <summary>Whether <paramref name="e"/> is a documented refusal. Files: <see cref="InvalidDataException"/>.</summary>
    public virtual bool IsRefusal(Exception e) => e.GetType() == typeof(InvalidDataException);

    /// <summary>A format-aware mutation, or null to use a generic one.</summary>
    public virtual byte[]? MutateStructured(Mutator mutator, byte[] input) => null;

    /// <summary>How often (0 to 1) <see cref="MutateStructured"/> is tried instead of a generic mutation.</summary>
    public virtual double StructuredShare => 0.5;

    /// <summary>The most bytes one case may allocate on the running thread.</summary>
    public virtual long AllocationBound => 64L << 20;

    /// <summary>The longest one case may take.</summary>
    public virtual TimeSpan TimeBound => TimeSpan.FromSeconds(2);

    /// <summary>
    /// Turns a stored or compressed input into the form mutated and minimized (for example, gunzipped), or returns
    /// it unchanged.
    /// </summary>
    public virtual byte[] Unwrap(byte[] input) => input;

    /// <summary>The inverse of <see cref="Unwrap"/>.</summary>
    public virtual byte[] Wrap(byte[] raw) => raw;
}

using System.Globalization;

namespace NeuralCore.Tests.Samples;

/// <summary>
/// Redirects <see cref="Console.Out"/> into a buffer until disposed, then echoes what was captured to the original
/// writer (so the test log still shows the sample's output). Process-wide: only for tests in a non-parallel collection.
/// </summary>
internal sealed class ConsoleCapture : IDisposable
{
    readonly TextWriter original = Console.Out;
    readonly StringWriter buffer = new(CultureInfo.InvariantCulture);

    public ConsoleCapture() => Console.SetOut(buffer);

    /// <summary>Everything written so far.</summary>
    public string Text => buffer.ToString();

    public void Dispose()
    {
        Console.SetOut(original);
        original.Write(buffer.ToString());
    }
}

namespace NeuralCore.Autograd;

/// <summary>Per-thread switch for graph recording.</summary>
internal static class GradMode
{
    [ThreadStatic] static int disabledDepth;

    public static bool Enabled => disabledDepth == 0;

    public static IDisposable Disable()
    {
        disabledDepth++;
        return new Restore();
    }

    sealed class Restore : IDisposable
    {
        bool done;

        public void Dispose()
        {
            if (done) return;
            done = true;
            disabledDepth--;
        }
    }
}

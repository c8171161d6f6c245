using System.Globalization;
using System.Text;

namespace NeuralCore;

/// <summary>
/// Keeps exception messages short whatever they quote: text taken from files (tensor names, keys, paths, JSON) or
/// lists supplied by callers. A hostile file must not be able to make a message megabytes long.
/// </summary>
internal static class MessageText
{
    /// <summary>Most characters of one quoted string kept in a message.</summary>
    public const int MaxQuoted = 200;

    /// <summary>Most items of a list shown in a message.</summary>
    public const int MaxListed = 10;

    /// <summary>
    /// <paramref name="text"/> unchanged when it has at most <paramref name="max"/> characters; otherwise its first
    /// <paramref name="max"/> characters (never half a surrogate pair) followed by "... (N more characters)".
    /// </summary>
    public static string Clip(string? text, int max = MaxQuoted)
    {
        if (text is null) return "null";
        if (text.Length <= max) return text;
        int keep = char.IsHighSurrogate(text[max - 1]) ? max - 1 : max;
        return string.Create(CultureInfo.InvariantCulture, $"{text.AsSpan(0, keep)}... ({text.Length - keep} more characters)");
    }

    /// <summary>
    /// The first <paramref name="max"/> items, each clipped with <see cref="Clip"/>, joined by
    /// <paramref name="separator"/>, then "... and N more" when the list is longer; "(none)" when it is empty.
    /// </summary>
    public static string List(IEnumerable<string> items, string separator = ", ", int max = MaxListed)
    {
        ArgumentNullException.ThrowIfNull(items);
        var sb = new StringBuilder();
        int count = 0;
        foreach (var item in items)
        {
            if (count < max)
            {
                if (count > 0) sb.Append(separator);
                sb.Append(Clip(item));
            }
            count++;
        }
        if (count == 0) return "(none)";
        if (count > max) sb.Append(CultureInfo.InvariantCulture, $"{separator}... and {count - max} more");
        return sb.ToString();
    }
}

using System.Text;
using System.Text.RegularExpressions;

namespace NeuralCore.Fuzz;

/// <summary>
/// Seeded edits of JSON text that keep most of it well-formed, so they reach the code behind the parser: numbers
/// made huge, negative or fractional; values of the wrong type; deep nesting; lone surrogates and control characters
/// in strings; duplicated, deleted and renamed keys; and stray structural characters.
/// </summary>
public static partial class JsonMutator
{
    static readonly string[] WrongTypes =
    [
        "null", "true", "false", "\"x\"", "\"\"", "[]", "{}", "[0,0]", "[1,2,3]", "[-1,-1]", "[2147483647,2147483647]",
        "{\"type\":\"Sequential\",\"layers\":[]}", "\"F16\"", "\"I8\"", "\"BOOL\"", "\"F64\"", "\"__metadata__\"", "\"NaN\"",
    ];

    static readonly string[] Strings =
    [
        "\"\\ud800\"", "\"\\udc00x\"", "\"a\\ud800\\u0041\"", "\"\\ud83d\\ude00\"", "\"\\u0000\"", "\"\\n\\t\"", "\"..\\/..\\/x\"",
        "\"Linear\"", "\"Conv2d\"", "\"Dense\"", "\"Sequential\"", "\"Flatten\"", "\"LayerNorm\"", "\"BatchNorm2d\"", "\"ReLU\"",
        "\"Softmax\"", "\"None\"", "\"Relu\"", "\"2024-01-01T00:00:00Z\"", "\"9999-12-31T23:59:59.9999999+14:00\"", "\"not a date\"",
    ];

    const string InsertedChars = "{}[],:\"\\ 0-.e";

    /// <summary>One random edit of <paramref name="json"/>.</summary>
    public static string Mutate(Random rng, string json)
    {
        if (json.Length == 0) return "{}";
        var tokens = Tokens().Matches(json);
        if (tokens.Count == 0) return json + InsertedChars[rng.Next(InsertedChars.Length)];
        var t = tokens[rng.Next(tokens.Count)];
        switch (rng.Next(10))
        {
            case 0:
            case 1:
                return Replace(json, t, Mutator.InterestingNumbers[rng.Next(Mutator.InterestingNumbers.Length)]);
            case 2:
                return Replace(json, t, WrongTypes[rng.Next(WrongTypes.Length)]);
            case 3:
                return Replace(json, t, Strings[rng.Next(Strings.Length)]);
            case 4:
            {
                // Duplicate a "key": value pair whose value is a scalar or a flat array/object (a duplicate key).
                var pairs = Pairs().Matches(json);
                if (pairs.Count == 0) return json;
                var p = pairs[rng.Next(pairs.Count)];
                return json.Insert(p.Index, p.Value + ",");
            }
            case 5:
            {
                var pairs = Pairs().Matches(json);
                if (pairs.Count == 0) return json;
                var p = pairs[rng.Next(pairs.Count)];
                return json.Remove(p.Index, p.Length);
            }
            case 6:
            {
                // Nest a value deeply; now and then far deeper than any parser's default limit.
                int depth = rng.Next(4) == 0 ? 1 + rng.Next(5000) : 1 + rng.Next(80);
                bool arrays = rng.Next(2) == 0;
                string open = arrays ? new string('[', depth) : string.Concat(Enumerable.Repeat("{\"a\":", depth));
                string close = new(arrays ? ']' : '}', depth);
                return json[..t.Index] + open + t.Value + close + json[(t.Index + t.Length)..];
            }
            case 7:
            {
                // Swap two tokens (keys become values and the reverse, shapes and offsets trade places).
                var u = tokens[rng.Next(tokens.Count)];
                if (u.Index == t.Index) return json;
                var (first, second) = t.Index < u.Index ? (t, u) : (u, t);
                if (first.Index + first.Length > second.Index) return json;
                return json[..first.Index] + second.Value + json[(first.Index + first.Length)..second.Index] + first.Value +
                       json[(second.Index + second.Length)..];
            }
            case 8:
            {
                int at = rng.Next(json.Length);
                return rng.Next(2) == 0 ? json.Remove(at, 1) : json.Insert(at, InsertedChars[rng.Next(InsertedChars.Length)].ToString());
            }
            default:
            {
                // Long strings and long numbers.
                int length = rng.Next(2) == 0 ? 1 + rng.Next(300) : 1 + rng.Next(100_000);
                string value = rng.Next(2) == 0 ? "\"" + new string('x', length) + "\"" : new string('9', length);
                return Replace(json, t, value);
            }
        }
    }

    /// <summary>One random edit of UTF-8 JSON bytes (decoded leniently), re-encoded as UTF-8.</summary>
    public static byte[] Mutate(Random rng, byte[] json) => Encoding.UTF8.GetBytes(Mutate(rng, Encoding.UTF8.GetString(json)));

    static string Replace(string json, Match t, string value) => json[..t.Index] + value + json[(t.Index + t.Length)..];

    [GeneratedRegex("\"(?:[^\"\\\\]|\\\\.)*\"|-?\\d+(?:\\.\\d+)?(?:[eE][-+]?\\d+)?|true|false|null")]
    private static partial Regex Tokens();

    [GeneratedRegex("\"(?:[^\"\\\\]|\\\\.)*\"\\s*:\\s*(?:\"(?:[^\"\\\\]|\\\\.)*\"|-?[\\d.eE+-]+|true|false|null|\\[[^\\[\\]{}]*\\]|\\{[^{}]*\\})")]
    private static partial Regex Pairs();
}

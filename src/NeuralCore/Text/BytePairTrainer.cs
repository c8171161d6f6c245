namespace NeuralCore.Text;

// Learns byte-pair merges over the pre-tokenized chunks of a text: each distinct chunk is held once with its count, and
// pair counts are kept up to date incrementally, so a merge only revisits the chunks that contain its pair.
internal static class BytePairTrainer
{
    public static List<(int Left, int Right)> Learn(string text, int merges, int minFrequency)
    {
        var chunkCounts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var chunk in BytePairTokenizer.PreTokenize(text))
            chunkCounts[chunk] = chunkCounts.GetValueOrDefault(chunk) + 1;
        var words = new List<List<int>>(chunkCounts.Count);
        var counts = new List<long>(chunkCounts.Count);
        foreach (var (chunk, count) in chunkCounts)
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(chunk);
            if (bytes.Length < 2) continue;
            words.Add([.. bytes.Select(b => (int)b)]);
            counts.Add(count);
        }

        var pairCounts = new Dictionary<long, long>();
        var pairWords = new Dictionary<long, HashSet<int>>();
        for (int w = 0; w < words.Count; w++) AddPairs(words[w], counts[w], w, pairCounts, pairWords);

        var learned = new List<(int, int)>(merges);
        for (int m = 0; m < merges; m++)
        {
            long best = -1, bestCount = 0;
            foreach (var (pair, count) in pairCounts)
                if (count > bestCount || (count == bestCount && count > 0 && pair < best))
                    (best, bestCount) = (pair, count);
            if (best < 0 || bestCount < minFrequency) break;
            int left = (int)(best >> 32), right = (int)(best & 0xFFFFFFFF), id = 256 + m;
            foreach (int w in pairWords[best].ToArray())
            {
                var word = words[w];
                if (!Contains(word, left, right)) continue;
                AddPairs(word, -counts[w], -1, pairCounts, pairWords);
                Merge(word, left, right, id);
                AddPairs(word, counts[w], w, pairCounts, pairWords);
            }
            pairCounts.Remove(best);
            pairWords.Remove(best);
            learned.Add((left, right));
        }
        return learned;
    }

    public static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    static bool Contains(List<int> word, int left, int right)
    {
        for (int i = 0; i + 1 < word.Count; i++)
            if (word[i] == left && word[i + 1] == right) return true;
        return false;
    }

    // Replaces non-overlapping occurrences of (left, right), left to right, by id.
    public static void Merge(List<int> word, int left, int right, int id)
    {
        int write = 0;
        for (int read = 0; read < word.Count; read++)
        {
            if (read + 1 < word.Count && word[read] == left && word[read + 1] == right)
            {
                word[write++] = id;
                read++;
            }
            else word[write++] = word[read];
        }
        word.RemoveRange(write, word.Count - write);
    }

    // Adds count (negative to remove) for every adjacent pair of the word; wordIndex ≥ 0 records where the pair occurs.
    static void AddPairs(List<int> word, long count, int wordIndex, Dictionary<long, long> pairCounts, Dictionary<long, HashSet<int>> pairWords)
    {
        for (int i = 0; i + 1 < word.Count; i++)
        {
            long key = Key(word[i], word[i + 1]);
            long updated = pairCounts.GetValueOrDefault(key) + count;
            if (updated == 0) pairCounts.Remove(key);
            else pairCounts[key] = updated;
            if (wordIndex >= 0)
            {
                if (!pairWords.TryGetValue(key, out var set)) pairWords[key] = set = [];
                set.Add(wordIndex);
            }
        }
    }
}

/// "Did you mean" for misspelt keys, by edit distance.
public enum Suggestion {
    /// The closest candidate within a distance that still looks like a typo, or nil.
    public static func closest(to word: String, in candidates: [String]) -> String? {
        // An abbreviation ("prod" for "production") is a likelier intent than any edit.
        if word.count >= 3, let prefixed = candidates.first(where: { $0.lowercased().hasPrefix(word.lowercased()) }) {
            return prefixed
        }
        let limit = max(2, word.count / 3)
        let scored = candidates.map { ($0, distance(word.lowercased(), $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= limit else { return nil }
        return best.0
    }

    /// Levenshtein distance. Config keys are short, so the quadratic table is fine.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}

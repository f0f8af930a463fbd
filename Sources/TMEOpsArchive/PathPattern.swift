import Foundation

/// A path glob as Docker writes them in `.dockerignore` (and tmeops in `build.forbid`): `/`-separated
/// segments matched with fnmatch(3) (`*`, `?`, `[...]`, `\` escapes), where a `**` segment matches any
/// number of segments.
///
/// Segment matching is libc's fnmatch, the well-kept implementation; only the `**` rule and Docker's
/// cleaning of patterns (leading `/` and `./` dropped, `..` resolved) are written here.
public struct PathPattern: Sendable, Equatable, CustomStringConvertible {
    public let text: String
    let segments: [String]

    public init(_ text: String) {
        self.text = text
        segments = Self.clean(text).split(separator: "/").map(String.init)
    }

    public var description: String { text }

    /// Like Go's filepath.Clean, then without a leading `/`: the context root is the pattern root.
    public static func clean(_ pattern: String) -> String {
        var stack: [Substring] = []
        for component in pattern.split(separator: "/", omittingEmptySubsequences: true) {
            if component == "." { continue }
            if component == ".." {
                if !stack.isEmpty { stack.removeLast() }
                continue
            }
            stack.append(component)
        }
        return stack.joined(separator: "/")
    }

    /// Whether the pattern matches `path` itself (a relative, `/`-separated path).
    public func matches(_ path: String) -> Bool {
        let parts = path.split(separator: "/").map(String.init)
        return Self.match(segments[...], parts[...])
    }

    /// Whether the pattern matches `path` or one of the folders above it (Docker's rule: excluding a
    /// folder excludes what is in it).
    public func matchesOrParentMatches(_ path: String) -> Bool {
        let parts = path.split(separator: "/").map(String.init)
        for length in stride(from: parts.count, through: 1, by: -1) where Self.match(segments[...], parts[0..<length]) {
            return true
        }
        return false
    }

    private static func match(_ pattern: ArraySlice<String>, _ path: ArraySlice<String>) -> Bool {
        guard let first = pattern.first else { return path.isEmpty }
        if first == "**" {
            let rest = pattern.dropFirst()
            // A trailing ** needs something to match, as in Docker ("foo/**" is what is inside foo).
            if rest.isEmpty { return !path.isEmpty }
            for skip in 0...path.count where match(rest, path.dropFirst(skip)) { return true }
            return false
        }
        guard let segment = path.first, fnmatch(first, segment, 0) == 0 else { return false }
        return match(pattern.dropFirst(), path.dropFirst())
    }
}

/// The rules of a `.dockerignore` file: the last pattern that matches decides; `!` re-includes.
public struct DockerIgnore: Sendable {
    public struct Rule: Sendable, Equatable {
        public let pattern: PathPattern
        public let reinclude: Bool
    }

    public let rules: [Rule]

    public init(text: String) {
        var rules: [Rule] = []
        for raw in text.split(whereSeparator: \.isNewline) {
            var line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            var reinclude = false
            if line.hasPrefix("!") {
                reinclude = true
                line = String(line.dropFirst()).trimmingCharacters(in: .whitespaces)
            }
            if PathPattern.clean(line).isEmpty { continue }
            rules.append(Rule(pattern: PathPattern(line), reinclude: reinclude))
        }
        self.rules = rules
    }

    init(rules: [Rule]) { self.rules = rules }

    /// The same rules with `paths` always kept, as the docker CLI keeps the Dockerfile and .dockerignore.
    public func keeping(_ paths: [String]) -> DockerIgnore {
        DockerIgnore(rules: rules + paths.map { Rule(pattern: PathPattern($0), reinclude: true) })
    }

    /// The same rules with `paths` always left out, whatever came before.
    public func excluding(_ paths: [String]) -> DockerIgnore {
        DockerIgnore(rules: rules + paths.map { Rule(pattern: PathPattern($0), reinclude: false) })
    }

    /// Whether `path` (relative to the context) is left out.
    public func excludes(_ path: String) -> Bool {
        var excluded = false
        for rule in rules where rule.pattern.matchesOrParentMatches(path) {
            excluded = !rule.reinclude
        }
        return excluded
    }

    /// Whether some `!` rule might re-include something below the excluded folder `path`, so that it must
    /// be walked; otherwise it is skipped whole (a node_modules of 50,000 files costs nothing).
    public func mayReinclude(under path: String) -> Bool {
        let folder = path.split(separator: "/").map(String.init)
        return rules.contains { rule in
            guard rule.reinclude else { return false }
            let segments = rule.pattern.segments
            if segments.contains("**") { return true }
            guard segments.count > folder.count else { return false }
            return zip(segments, folder).allSatisfy { fnmatch($0, $1, 0) == 0 }
        }
    }
}

import Foundation

/// How an env file is read. The same file means different things to different tools: `docker run
/// --env-file` keeps every character after `=` (quotes included), while docker compose (and tmeops's
/// own `.tmeops/secrets.env`) strips quotes, reads escapes in double quotes, `export KEY=` and inline
/// comments. A container must get the values the tool that made the running one gave it.
public enum EnvFileFormat: String, Codable, Sendable, CaseIterable {
    case compose
    case docker
}

/// Reads env files (`KEY=value` lines) in either format. Written by hand because the rules are a dozen
/// lines each and no package here reads them; each rule is tested against what the tool itself does.
public enum DotEnv {
    /// The pairs of `text`, in order. `compose` (the default) is the format of `.tmeops/secrets.env`.
    public static func parse(_ text: String, file: String, format: EnvFileFormat = .compose) throws -> [(key: String, value: String)] {
        switch format {
        case .compose: return try parseCompose(text, file: file)
        case .docker: return try parseDocker(text, file: file)
        }
    }

    /// docker's `--env-file`: a line is `KEY=value` taken as it is (leading blanks of the line dropped);
    /// `#` lines and blank lines are skipped. A bare `KEY` (value from the docker CLI's own environment)
    /// has no meaning on a server and is refused.
    static func parseDocker(_ text: String, file: String) throws -> [(key: String, value: String)] {
        var pairs: [(String, String)] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = String(rawLine.drop { $0 == " " || $0 == "\t" })
            if line.hasSuffix("\r") { line.removeLast() }
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigError(
                    file: file, line: index + 1, column: 1,
                    message: "'\(line.prefix(40))' has no '=': docker would take its value from the environment of whoever runs it; write KEY=value")
            }
            let key = String(line[..<equals])
            guard isVariableName(key) else { throw invalidName(key, file: file, line: index + 1) }
            pairs.append((key, String(line[line.index(after: equals)...])))
        }
        return pairs
    }

    /// compose's `env_file`: `export ` allowed, blanks around `=` ignored, `'single'` quotes literal,
    /// `"double"` quotes with `\n \t \r \" \\ \$` escapes and spanning lines, ` #` starts a comment after
    /// an unquoted value or after the closing quote.
    static func parseCompose(_ text: String, file: String) throws -> [(key: String, value: String)] {
        var pairs: [(String, String)] = []
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
        }
        var index = 0
        while index < lines.count {
            let number = index + 1
            var line = lines[index].trimmingCharacters(in: .whitespaces)
            index += 1
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigError(file: file, line: number, column: 1, message: "expected KEY=value, found a line without '='")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            guard isVariableName(key) else { throw invalidName(key, file: file, line: number) }
            var rest = Substring(line[line.index(after: equals)...].drop { $0 == " " || $0 == "\t" })
            guard let quote = rest.first, quote == "\"" || quote == "'" else {
                // Unquoted: up to a ` #` comment, trailing blanks dropped.
                var value = String(rest)
                if let hash = value.range(of: " #") ?? value.range(of: "\t#") { value = String(value[..<hash.lowerBound]) }
                pairs.append((key, value.trimmingCharacters(in: .whitespaces)))
                continue
            }
            rest = rest.dropFirst()
            var value = ""
            var closed = false
            var escaped = false
            while !closed {
                for character in rest {
                    if closed {
                        break
                    } else if escaped {
                        switch character {
                        case "n": value.append("\n")
                        case "t": value.append("\t")
                        case "r": value.append("\r")
                        case "\"", "\\", "$": value.append(character)
                        default:
                            value.append("\\")
                            value.append(character)
                        }
                        escaped = false
                    } else if quote == "\"" && character == "\\" {
                        escaped = true
                    } else if character == quote {
                        closed = true
                    } else {
                        value.append(character)
                    }
                }
                if closed { break }
                // The quote spans lines: the newline belongs to the value.
                guard index < lines.count else {
                    throw ConfigError(file: file, line: number, column: 1, message: "the value of \(key) opens a \(quote) quote that is never closed")
                }
                value.append("\n")
                rest = Substring(lines[index])
                index += 1
            }
            pairs.append((key, value))
        }
        return pairs
    }

    static func invalidName(_ key: String, file: String, line: Int) -> ConfigError {
        ConfigError(
            file: file, line: line, column: 1, message: "'\(key)' is not a valid variable name (letters, digits and _, not starting with a digit)")
    }

    /// `pairs` as lines a POSIX shell runs with `.`: `export KEY='value'`, every value single-quoted, so
    /// no character in it (newlines, quotes, `$`) is interpreted.
    public static func shellExports(_ pairs: [(key: String, value: String)]) -> String {
        pairs.map { "export \($0.key)='\($0.value.replacingOccurrences(of: "'", with: "'\\''"))'\n" }.joined()
    }

    static func isVariableName<S: StringProtocol>(_ name: S) -> Bool {
        guard let first = name.first, first == "_" || first.isLetter, first.isASCII else { return false }
        return name.allSatisfy { ($0.isLetter || $0.isNumber || $0 == "_") && $0.isASCII }
    }
}

import Foundation

/// Reads `.tmeops/secrets.env`: `KEY=value` lines, `#` comments, optional `export `, single or double
/// quotes. Written by hand because the format is five rules long and no package here reads it.
public enum DotEnv {
    public static func parse(_ text: String, file: String) throws -> [(key: String, value: String)] {
        var pairs: [(String, String)] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasSuffix("\r") { line.removeLast() }
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigError(file: file, line: index + 1, column: 1, message: "expected KEY=value, found a line without '='")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            guard isVariableName(key) else {
                throw ConfigError(
                    file: file, line: index + 1, column: 1, message: "'\(key)' is not a valid variable name (letters, digits and _, not starting with a digit)")
            }
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
                if first == "\"" { value = value.replacingOccurrences(of: "\\n", with: "\n").replacingOccurrences(of: "\\\"", with: "\"") }
            } else if let hash = value.range(of: " #") {
                value = value[..<hash.lowerBound].trimmingCharacters(in: .whitespaces)
            }
            pairs.append((key, value))
        }
        return pairs
    }

    static func isVariableName<S: StringProtocol>(_ name: S) -> Bool {
        guard let first = name.first, first == "_" || first.isLetter, first.isASCII else { return false }
        return name.allSatisfy { ($0.isLetter || $0.isNumber || $0 == "_") && $0.isASCII }
    }
}

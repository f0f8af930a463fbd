/// A SQL file cut into statements, each with the line it starts on, so that an error names the file
/// and line at fault and `CREATE INDEX CONCURRENTLY` can run on its own.
///
/// Written here because no package on this machine splits PostgreSQL scripts (libpq runs a whole string
/// and reports a position only for syntax errors). It follows the lexer rules psql uses to find
/// statement ends: `--` and nested `/* */` comments, '…' strings (with '' and, after E, backslash
/// escapes), "…" identifiers, and $tag$…$tag$ bodies. Semicolons inside parentheses end nothing
/// (CREATE RULE … (a; b)), nor do those inside the BEGIN ATOMIC … END body of a CREATE [OR REPLACE]
/// FUNCTION or PROCEDURE (psql's heuristic: in such a statement, outside parentheses, BEGIN opens a
/// block, CASE within one opens another, END closes one).
public struct SQLScript: Sendable, Equatable {
    public struct Statement: Sendable, Equatable {
        /// The statement text, without its terminating semicolon, comments kept.
        public let text: String
        /// 1-based line of its first non-blank, non-comment character.
        public let line: Int
    }

    public let statements: [Statement]

    public init(_ source: String) {
        var statements: [Statement] = []
        let chars = Array(source.unicodeScalars)
        var index = 0
        var line = 1
        var current = String.UnicodeScalarView()
        var startLine: Int?
        var depth = 0
        // The statement's first words, as far as they tell CREATE [OR REPLACE] FUNCTION|PROCEDURE, and
        // how deep in BEGIN … END blocks of such a statement the scan is.
        var words: [String] = []
        var beginDepth = 0

        func flush() {
            let text = String(current).trimmingWhitespace()
            if let startLine, !Self.isOnlyComments(text) { statements.append(Statement(text: text, line: startLine)) }
            current = String.UnicodeScalarView()
            startLine = nil
            words = []
            beginDepth = 0
        }
        func routineDefinition() -> Bool {
            guard words.first == "create", words.count >= 2 else { return false }
            if words[1] == "function" || words[1] == "procedure" { return true }
            return words.count >= 4 && words[1] == "or" && words[2] == "replace" && (words[3] == "function" || words[3] == "procedure")
        }
        func append(_ scalar: Unicode.Scalar) {
            current.append(scalar)
            if scalar == "\n" { line += 1 }
        }
        func peek(_ offset: Int) -> Unicode.Scalar? { index + offset < chars.count ? chars[index + offset] : nil }

        while index < chars.count {
            let c = chars[index]
            if c == "-" && peek(1) == "-" {
                while index < chars.count && chars[index] != "\n" {
                    append(chars[index])
                    index += 1
                }
                continue
            }
            if c == "/" && peek(1) == "*" {
                var nesting = 0
                repeat {
                    if chars[index] == "/" && peek(1) == "*" {
                        nesting += 1
                        append("/")
                        append("*")
                        index += 2
                    } else if chars[index] == "*" && peek(1) == "/" {
                        nesting -= 1
                        append("*")
                        append("/")
                        index += 2
                    } else {
                        append(chars[index])
                        index += 1
                    }
                } while nesting > 0 && index < chars.count
                continue
            }
            if !c.properties.isWhitespace && startLine == nil && c != ";" { startLine = line }
            switch c {
            case "'":
                let escapes = index > 0 && (chars[index - 1] == "E" || chars[index - 1] == "e")
                append(c)
                index += 1
                while index < chars.count {
                    let s = chars[index]
                    append(s)
                    index += 1
                    if escapes && s == "\\" && index < chars.count {
                        append(chars[index])
                        index += 1
                    } else if s == "'" {
                        if index < chars.count && chars[index] == "'" {
                            append("'")
                            index += 1
                        } else {
                            break
                        }
                    }
                }
            case "\"":
                append(c)
                index += 1
                while index < chars.count {
                    let s = chars[index]
                    append(s)
                    index += 1
                    if s == "\"" { break }
                }
            case "$":
                // $tag$ where tag is empty or an identifier not starting with a digit ($1 is a parameter).
                var end = index + 1
                while end < chars.count && (chars[end].properties.isAlphabetic || chars[end] == "_" || ("0"..."9").contains(chars[end])) { end += 1 }
                let isTag =
                    end < chars.count && chars[end] == "$" && !(index + 1 < chars.count && ("0"..."9").contains(chars[index + 1]))
                    && !(index > 0 && (chars[index - 1].properties.isAlphabetic || chars[index - 1] == "_"))
                guard isTag else {
                    append(c)
                    index += 1
                    break
                }
                let tag = Array(chars[index...end])
                for scalar in tag { append(scalar) }
                index = end + 1
                while index < chars.count {
                    if chars[index] == "$" && index + tag.count <= chars.count && Array(chars[index..<index + tag.count]) == tag {
                        for scalar in tag { append(scalar) }
                        index += tag.count
                        break
                    }
                    append(chars[index])
                    index += 1
                }
            case "(":
                depth += 1
                append(c)
                index += 1
            case ")":
                depth = max(0, depth - 1)
                append(c)
                index += 1
            case _ where c.properties.isAlphabetic || c == "_":
                var word = String.UnicodeScalarView()
                while index < chars.count
                    && (chars[index].properties.isAlphabetic || chars[index] == "_" || chars[index] == "$" || ("0"..."9").contains(chars[index]))
                {
                    word.append(chars[index])
                    append(chars[index])
                    index += 1
                }
                let lower = String(word).lowercased()
                if words.count < 4 { words.append(lower) }
                if depth == 0 && routineDefinition() {
                    if lower == "begin" {
                        beginDepth += 1
                    } else if lower == "case" && beginDepth >= 1 {
                        beginDepth += 1
                    } else if lower == "end" && beginDepth > 0 {
                        beginDepth -= 1
                    }
                }
            case ";" where depth == 0 && beginDepth == 0:
                index += 1
                flush()
            default:
                append(c)
                index += 1
            }
        }
        flush()
        self.statements = statements
    }

    static func isOnlyComments(_ text: String) -> Bool {
        SQLScript.stripComments(text).allSatisfy(\.isWhitespace)
    }

    /// The text with `--` and `/* */` comments removed (strings are not comments, but a statement made
    /// only of comments has none).
    public static func stripComments(_ text: String) -> String {
        var out = ""
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> Substring in
            if let range = line.range(of: "--") { return line[..<range.lowerBound] }
            return line
        }.joined(separator: "\n")[...]
        while let open = lines.range(of: "/*") {
            out += lines[..<open.lowerBound]
            guard let close = lines.range(of: "*/", range: open.upperBound..<lines.endIndex) else { return out }
            lines = lines[close.upperBound...]
        }
        return out + lines
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}

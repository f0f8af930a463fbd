/// Quoting for the POSIX shell that runs an SSH exec request on the server.
///
/// SSH sends a command as one string that the remote user's shell parses, so every argument that
/// reaches it goes through ``quote(_:)``: nothing is ever interpolated unquoted.
public enum ShellQuote {
    /// `word` as one shell word: unchanged when it holds only safe characters, else in single quotes
    /// with each `'` written as `'\''`.
    public static func quote(_ word: String) -> String {
        if word.isEmpty { return "''" }
        var safe = word.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "@%+=:,./-_".unicodeScalars.contains(scalar))
        }
        // `NAME=value` unquoted at the head of a command is an assignment, not an argument: quoted, it is a word.
        if safe, let equals = word.firstIndex(of: "="), word[..<equals].range(of: #"^[A-Za-z_][A-Za-z0-9_]*$"#, options: .regularExpression) != nil {
            safe = false
        }
        if safe { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// An argv as one command line whose shell parse gives back exactly `argv`.
    public static func command(_ argv: [String]) -> String {
        argv.map(quote).joined(separator: " ")
    }
}

/// A problem in `tmeops.yml` (or the files it draws on), located as `file:line:column` where the
/// position is known, with the dotted key path and the next step.
public struct ConfigError: OperatorError, Equatable {
    public let file: String
    public let line: Int?
    public let column: Int?
    /// Dotted key path such as `environments.production.ssh.port`; empty for the file as a whole.
    public let keyPath: String
    public let message: String

    public init(file: String, line: Int? = nil, column: Int? = nil, keyPath: String = "", message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.keyPath = keyPath
        self.message = message
    }

    public var exitStatus: ExitStatus { .usage }

    public var location: String {
        var text = file
        if let line { text += ":\(line)" }
        if let line, line > 0, let column { text += ":\(column)" }
        return text
    }

    public var description: String {
        keyPath.isEmpty ? "\(location): \(message)" : "\(location): \(keyPath): \(message)"
    }
}

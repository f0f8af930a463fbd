/// The process exit codes every tmeops command uses (listed in the README and `tmeops --help`).
public enum ExitStatus: Int32, Sendable {
    case success = 0
    /// The command failed.
    case failure = 1
    /// The command line or the configuration is wrong; nothing was changed.
    case usage = 2
    /// A check ran and found a problem (drift, failed validation).
    case checkFailed = 3
    /// A deploy changed production, failed, and production was put back as it was.
    case rolledBack = 4
    /// A deploy changed production, failed, and production could not be put back: the error names the
    /// command that restores it.
    case notRestored = 5
}

/// An error a tmeops command reports to the operator: one paragraph naming the thing at fault
/// and the next step, and the exit status it maps to.
public protocol OperatorError: Error, CustomStringConvertible {
    var exitStatus: ExitStatus { get }
}

/// A plain operator-facing error for cases that need no type of their own.
public struct TMEOpsError: OperatorError, Equatable {
    public let message: String
    public let exitStatus: ExitStatus

    public init(_ message: String, exitStatus: ExitStatus = .failure) {
        self.message = message
        self.exitStatus = exitStatus
    }

    public var description: String { message }

    /// A usage error (exit 2): the command line or environment choice is wrong.
    public static func usage(_ message: String) -> TMEOpsError { TMEOpsError(message, exitStatus: .usage) }
}

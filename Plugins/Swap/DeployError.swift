import BackupPlugin
import Foundation
import ImagePlugin
import SchemaPlugin
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import TMEOpsSSH
import TransferPlugin
import ValidatePlugin

/// A deploy that failed: before production changed (exit 1), after it changed and was put back
/// (`rolledBack`, exit 4), or after it changed and could not be put back (`notRestored`, exit 5).
public struct DeployError: OperatorError {
    public let message: String
    public let rolledBack: Bool
    /// Production changed and is not back as it was; the message says which command restores it.
    public var notRestored: Bool
    /// The failing container's last log lines (stderr first, redacted), kept in the release ledger.
    public var evidence: [String]

    public init(message: String, rolledBack: Bool, notRestored: Bool = false, evidence: [String] = []) {
        self.message = message
        self.rolledBack = rolledBack
        self.notRestored = notRestored
        self.evidence = evidence
    }

    public var description: String {
        evidence.isEmpty ? message : message + "\n  the last log lines of the failing container:\n" + evidence.map { "    \($0)" }.joined(separator: "\n")
    }
    public var exitStatus: ExitStatus { notRestored ? .notRestored : rolledBack ? .rolledBack : .failure }
}

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

/// What a failed deploy (or rollback) left production as: one of three states, never two flags.
public enum ProductionAfterFailure: Sendable, Equatable {
    /// Production was never changed (exit 1).
    case unchanged
    /// It changed and was put back as it was, and checked healthy (exit 4).
    case putBack
    /// It changed and is not back as it was; the message names the command that restores it (exit 5).
    case notRestored

    /// After a put-back: `.putBack` when what was put back passed its health gate, else `.notRestored`.
    public static func afterPutBack(healthy: Bool) -> Self { healthy ? .putBack : .notRestored }

    public var exitStatus: ExitStatus {
        switch self {
        case .unchanged: .failure
        case .putBack: .rolledBack
        case .notRestored: .notRestored
        }
    }
}

/// A deploy that failed, with what it left production as (`production`, which sets the exit status).
public struct DeployError: OperatorError {
    public let message: String
    public var production: ProductionAfterFailure
    /// The failing container's last log lines (stderr first, redacted), kept in the release ledger.
    public var evidence: [String]

    public init(message: String, production: ProductionAfterFailure, evidence: [String] = []) {
        self.message = message
        self.production = production
        self.evidence = evidence
    }

    public var description: String {
        evidence.isEmpty ? message : message + "\n  the last log lines of the failing container:\n" + evidence.map { "    \($0)" }.joined(separator: "\n")
    }
    public var exitStatus: ExitStatus { production.exitStatus }
}

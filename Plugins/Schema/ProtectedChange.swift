import Foundation
import TMEOpsCore

/// What `migrate apply` holds while it changes a protected environment's database: the environment's
/// deploy lock (so no deploy and no second operator changes it at the same time) and a backup taken
/// under that lock, before the first statement runs.
///
/// The lock and the backups live in plugins that depend on this one, so the composition root supplies
/// the function that takes them (`take`); without it a protected environment is refused, never changed
/// unguarded.
public enum ProtectedChange {
    public struct Held {
        /// The id of the backup taken first.
        public var backup: String
        /// The host whose deploy lock is held, when the environment is reached over ssh.
        public var lockHost: String?
        /// Records the outcome in the host's audit log and releases the lock.
        public var finish: (_ outcome: String, _ detail: String) -> Void

        public init(backup: String, lockHost: String?, finish: @escaping (String, String) -> Void) {
            self.backup = backup
            self.lockHost = lockHost
            self.finish = finish
        }
    }

    /// Takes the lock, then the backup; throws (holding nothing) when either fails.
    nonisolated(unsafe) public static var take: ((LoadedConfig, EnvironmentConfig, CommandContext, _ purpose: String) throws -> Held)?

    /// Protects `environment` when it is protected; nil when it is not.
    static func protect(_ config: LoadedConfig, _ environment: EnvironmentConfig, context: CommandContext, purpose: String) throws -> Held? {
        guard let reason = ProtectedConfig.reason(environment) else { return nil }
        guard let take else {
            throw TMEOpsError(
                "\(purpose) on '\(environment.name)' needs its deploy lock and a backup first (\(reason)), and this build of tmeops cannot take them; nothing was changed"
            )
        }
        return try take(config, environment, context, purpose)
    }
}

import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsDocker
import TMEOpsPostgres
import TMEOpsSSH

/// Takes a backup of an environment's database before a command changes it. Offered by the backup
/// plugin; `schema sync` asks for it through `context.registry.service(PreChangeBackups.self)`.
public protocol PreChangeBackups: Sendable {
    /// Backs up `environment`'s database, labelled `label`; returns the backup's id.
    func backup(_ environment: EnvironmentConfig, label: String, context: CommandContext) throws -> String
}

/// What a change to a protected environment holds while it runs: the environment's deploy lock (so no
/// deploy and no second operator changes it at once) and a backup taken under that lock.
public struct ProtectedChangeHold {
    /// The id of the backup taken first.
    public var backup: String
    /// The host whose deploy lock is held, when the environment is reached over SSH.
    public var lockHost: String?
    /// Records the outcome in the host's audit log and releases the lock.
    public var finish: (_ outcome: String, _ detail: String) -> Void

    public init(backup: String, lockHost: String?, finish: @escaping (String, String) -> Void) {
        self.backup = backup
        self.lockHost = lockHost
        self.finish = finish
    }
}

/// Takes the deploy lock, then a backup, before a change to a protected environment; throws holding
/// nothing when either fails. Offered by the deploy plugin (which owns the lock's expiry and composes
/// the backup); `migrate apply` asks for it through the registry.
public protocol ChangeProtection: Sendable {
    func take(config: LoadedConfig, environment: EnvironmentConfig, context: CommandContext, purpose: String) throws -> ProtectedChangeHold
}

/// Compares a database's schema with an expected one (`validate.expect_schema`: a snapshot file or an
/// environment). Offered by the schema plugin; validation asks for it through the registry.
public protocol SchemaDriftCheck: Sendable {
    /// How `connection`'s schema differs from `expected`, one line per difference; empty when they match.
    func differences(_ connection: PostgresConnection, expected: String, context: CommandContext) throws -> [String]
}

/// How many releases an environment keeps (`deploy.keep_releases`). Offered by the deploy plugin, which
/// owns the `deploy` section; `image prune` asks for it so that it never removes a kept release's image.
public protocol ReleaseRetention: Sendable {
    func keepReleases(_ environment: EnvironmentConfig) throws -> Int
}

/// The releases kept when no plugin says otherwise.
public enum ReleaseRetentionDefault {
    public static let keep = 5
}

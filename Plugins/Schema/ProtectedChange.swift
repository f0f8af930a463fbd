import Foundation
import TMEOpsCore
import TMEOpsHosts
import TMEOpsPostgres

/// What `migrate apply` holds while it changes a protected environment's database: the environment's
/// deploy lock (so no deploy and no second operator changes it at the same time) and a backup taken
/// under that lock, before the first statement runs.
///
/// The lock's expiry and the backups belong to other plugins, so the deploy plugin offers the
/// `ChangeProtection` service that takes them; without it a protected environment is refused, never
/// changed unguarded.
public enum ProtectedChange {
    /// Protects `environment` when it is protected; nil when it is not.
    static func protect(_ config: LoadedConfig, _ environment: EnvironmentConfig, context: CommandContext, purpose: String) throws -> ProtectedChangeHold? {
        guard let reason = ProtectedConfig.reason(environment) else { return nil }
        guard let protection = context.registry.service(ChangeProtection.self) else {
            throw TMEOpsError(
                "\(purpose) on '\(environment.name)' needs its deploy lock and a backup first (\(reason)), and this build of tmeops cannot take them; nothing was changed"
            )
        }
        return try protection.take(config: config, environment: environment, context: context, purpose: purpose)
    }
}

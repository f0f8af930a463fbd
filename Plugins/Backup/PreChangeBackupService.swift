import TMEOpsCore
import TMEOpsHosts

/// The backup a command takes before it changes a database (`schema sync`), offered to the other
/// plugins as the `PreChangeBackups` service.
struct PreChangeBackupService: PreChangeBackups {
    func backup(_ environment: EnvironmentConfig, label: String, context: CommandContext) throws -> String {
        try BackupService.create(environment, context: context, options: .init(label: label)).id
    }
}

import ArgumentParser
import BackupPlugin
import ImagePlugin
import SchemaPlugin
import TMEOpsCore
import TMEOpsHosts
import TransferPlugin
import ValidatePlugin

/// The deploy pipeline: container swap with automatic rollback, locks, releases and recovery.
public enum SwapPlugin: Plugin {
    public static let description = PluginDescription(
        id: "swap",
        summary: "The deploy pipeline: swap containers, roll back, lock, record releases, recover.",
        examples: [
            PluginExample("tmeops deploy -e production --dry-run", "Print the plan: steps, migrations, image layers; change nothing."),
            PluginExample("tmeops deploy -e production --message hotfix", "Run the whole runbook with automatic rollback."),
            PluginExample("tmeops rollback -e production", "Return to the previous release's image and container."),
            PluginExample("tmeops lock status -e production", "Who holds the deploy lock, since when, and why."),
        ])

    public static let commands: [any ParsableCommand.Type] = [
        DeployCommand.self, RollbackCommand.self, RecoverCommand.self, ReleasesCommand.self, AuditCommand.self, LockCommand.self, TestInstanceCommand.self,
    ]
    public static let configSections: [any ConfigSection.Type] = [TestInstanceConfig.self, DeployConfig.self]
    public static let services = [
        PluginService(ChangeProtection.self, ProtectedChanges()), PluginService(ReleaseRetention.self, DeployReleaseRetention()),
    ]
}

import ArgumentParser
import BackupPlugin
import ImagePlugin
import SchemaPlugin
import TMEOpsCore
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
        PlannedCommand<DeploySpec>.self, PlannedCommand<RollbackSpec>.self, PlannedCommand<RecoverSpec>.self,
        PlannedCommand<ReleasesSpec>.self, PlannedCommand<LockSpec>.self, PlannedCommand<TestInstanceSpec>.self,
    ]
    public static let configSections: [any ConfigSection.Type] = [AppContainerConfig.self, TestInstanceConfig.self, DeployConfig.self]
}

enum DeploySpec: PlannedCommandSpec {
    static let name = "deploy"
    static let abstract = "Deploy the app image to an environment, with backup, migrations, swap and rollback."
    static let subcommands: [String] = []
    static let issue = 8
}

enum RollbackSpec: PlannedCommandSpec {
    static let name = "rollback"
    static let abstract = "Return an environment to its previous release."
    static let subcommands: [String] = []
    static let issue = 8
}

enum RecoverSpec: PlannedCommandSpec {
    static let name = "recover"
    static let abstract = "Finish or undo an interrupted deploy from its journal."
    static let subcommands: [String] = []
    static let issue = 8
}

enum ReleasesSpec: PlannedCommandSpec {
    static let name = "releases"
    static let abstract = "List the release ledger of an environment."
    static let subcommands: [String] = []
    static let issue = 8
}

enum LockSpec: PlannedCommandSpec {
    static let name = "lock"
    static let abstract = "Show, take or release the remote deploy lock."
    static let subcommands = ["status", "acquire", "release"]
    static let issue = 8
}

enum TestInstanceSpec: PlannedCommandSpec {
    static let name = "test-instance"
    static let abstract = "Run or remove a test container of an image on the test port."
    static let subcommands = ["up", "down"]
    static let issue = 8
}

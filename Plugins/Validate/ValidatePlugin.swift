import ArgumentParser
import TMEOpsCore
import TMEOpsHosts

/// Health waits, smoke checks, log scans and database checks at every deploy gate.
public enum ValidatePlugin: Plugin {
    public static let description = PluginDescription(
        id: "validate",
        summary: "Health waits, smoke checks, log scans and database checks.",
        examples: [
            PluginExample("tmeops validate -e production", "Run the post-deploy checklist against production; exit 3 on any failure."),
            PluginExample("tmeops logs -e production --errors --since 1h", "Container log lines matching validate.log_errors."),
            PluginExample("tmeops exec -e production -- node --version", "Run a command in the running app container; its exit status is tmeops's."),
            PluginExample("tmeops preflight -e production", "NODE_ENV, dependency versions against production, build output free of turbopack files."),
        ])

    public static let commands: [any ParsableCommand.Type] = [
        ValidateCommand.self, PreflightCommand.self, LogsCommand.self, ExecCommand.self,
    ]
    public static let configSections: [any ConfigSection.Type] = [ValidateConfig.self]
}

import ArgumentParser
import Foundation

/// The `tmeops` command: core commands, then one help section per registered plugin.
public struct TMEOpsRoot: AsyncParsableCommand {
    public static var configuration: CommandConfiguration {
        let plugins = PluginRegistry.shared.plugins
        return CommandConfiguration(
            commandName: "tmeops",
            abstract: "Safe, repeatable Docker deploys of a web app and its PostgreSQL database.",
            discussion: """
                Run `tmeops help PLUGIN` for a plugin's summary, commands and examples, \
                and `tmeops plugins` for every plugin including external ones.
                """,
            version: TMEOpsVersion.description,
            subcommands: CoreCommands.all,
            groupedSubcommands: plugins.filter { $0.origin != .core }.map {
                CommandGroup(name: "\($0.description.id) plugin", subcommands: $0.commands)
            }
        )
    }

    public init() {}
}

/// The core host's own commands.
public enum CoreCommands {
    public static let all: [any ParsableCommand.Type] = [
        InitCommand.self, PluginsCommand.self, PluginCommand.self, ConfigCommand.self, VersionCommand.self, CompletionCommand.self,
    ]
}

/// Version facts: tmeops and the C libraries it is linked against.
public enum TMEOpsVersion {
    public static let version = "0.1.0"
    public static var description: String { "tmeops \(version)" }
}

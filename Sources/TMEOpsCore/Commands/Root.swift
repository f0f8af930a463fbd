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

                Exit codes: 0 ok; 1 failed (a deploy: before production changed); 2 usage or \
                configuration error, nothing changed; 3 a check found a problem; 4 a deploy changed \
                production, failed, and production was put back; 5 a deploy changed production and could \
                not put it back (the error names the command that restores it).
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

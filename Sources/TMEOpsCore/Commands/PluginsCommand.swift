import ArgumentParser
import Foundation

/// `tmeops plugins`: every plugin, where it came from, and which external ones are shadowed.
public struct PluginsCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "plugins",
        abstract: "List built-in, team and external plugins and where each comes from.",
        discussion: """
            External plugins are executables named tmeops-NAME in .tmeops/plugins/ (beside the config \
            file) or on PATH; `tmeops NAME ARGS...` runs them. A built-in command of the same name wins.

            Examples:
              tmeops plugins
              tmeops plugins --json
            """)

    @OptionGroup public var globals: GlobalOptions

    public init() {}

    struct Entry: Encodable {
        let id: String
        let origin: String
        let summary: String
        let commands: [String]
        /// Config keys the plugin owns.
        var sections: [String] = []
        let path: String?
        let shadowedBy: String?
    }

    public func run(_ context: CommandContext) async throws {
        var entries = context.registry.plugins.map {
            Entry(
                id: $0.description.id, origin: $0.origin.label,
                summary: $0.description.summary, commands: $0.commandNames, sections: $0.configSections.map { section in section.key }, path: nil,
                shadowedBy: nil)
        }
        let finder = ExternalPluginFinder(
            projectDirectory: context.configURL.deletingLastPathComponent(),
            searchPath: context.environment["PATH"] ?? "", reservedNames: TMEOpsMain.reservedNames(context.registry))
        for plugin in finder.all() {
            entries.append(
                Entry(
                    id: plugin.name, origin: plugin.source == .project ? "external (project)" : "external (PATH)",
                    summary: "runs as `tmeops \(plugin.name) ...`", commands: [plugin.name], path: plugin.path, shadowedBy: plugin.shadowedBy))
        }
        if context.json {
            try context.output.writeJSON(entries)
            return
        }
        let idWidth = max(10, (entries.map(\.id.count).max() ?? 0) + 2)
        let originWidth = 20
        context.output.line(
            context.output.bold(
                "PLUGIN".padding(toLength: idWidth, withPad: " ", startingAt: 0)
                    + "ORIGIN".padding(toLength: originWidth, withPad: " ", startingAt: 0) + "COMMANDS / WHERE"))
        for entry in entries {
            var detail = entry.path ?? (entry.commands.isEmpty ? "config: \(entry.sections.joined(separator: ", "))" : entry.commands.joined(separator: ", "))
            if let owner = entry.shadowedBy {
                detail += "  (shadowed: the \(owner == "core" ? "core" : "'\(owner)' plugin's") command '\(entry.id)' wins)"
            }
            context.output.line(
                entry.id.padding(toLength: idWidth, withPad: " ", startingAt: 0)
                    + entry.origin.padding(toLength: originWidth, withPad: " ", startingAt: 0) + detail)
        }
    }
}

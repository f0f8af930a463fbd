import ArgumentParser
import Foundation

/// `tmeops plugin`: scaffold team plugins and regenerate their registration.
public struct PluginCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "plugin",
        abstract: "Create a compiled-in team plugin, or regenerate the team plugin registry.",
        subcommands: [PluginNewCommand.self, PluginGenerateCommand.self])

    public init() {}
}

/// `--package-root`: the source tree team plugins are scaffolded into.
public struct PackageRootOption: ParsableArguments, Sendable {
    @Option(help: ArgumentHelp("The tmeops source tree (default: the current folder).", valueName: "dir"), completion: .directory)
    public var packageRoot: String?

    public init() {}

    func scaffold(_ context: CommandContext) -> TeamPluginScaffold {
        TeamPluginScaffold(root: ConfigLoader.resolve(packageRoot ?? ".", in: context.workingDirectory))
    }
}

/// `tmeops plugin new NAME`.
public struct PluginNewCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "new",
        abstract: "Scaffold Plugins/NAME with a command and a test, and register it.",
        discussion: """
            Run in the tmeops source tree. Writes Plugins/<Name>/ and Tests/Plugins/<Name>PluginTests/ \
            from Templates/plugin/, then regenerates the team block of Package.swift and \
            Sources/tmeops/TeamPlugins.generated.swift. Rebuild with `swift build`.

            Examples:
              tmeops plugin new notify-slack --summary "Post deploy results to Slack"
              tmeops plugin new hello && swift build && .build/debug/tmeops hello greet
            """)

    @OptionGroup public var globals: GlobalOptions

    @Argument(help: "Plugin id: lower-case words joined by '-', e.g. notify-slack.")
    public var name: String

    @Option(help: "One-line summary of what the plugin is for.")
    public var summary: String?

    @OptionGroup public var source: PackageRootOption

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let scaffold = source.scaffold(context)
        var taken = Set(TMEOpsMain.reservedNames(context.registry).keys)
        taken.formUnion(context.registry.plugins.map(\.description.id))
        taken.formUnion(try scaffold.manifests().map(\.id))
        let summary = self.summary ?? "Team plugin \(name)."
        if context.dryRun {
            try TeamPluginScaffold.validate(id: name, taken: taken)
            let stem = TeamPluginScaffold.typeStem(for: name)
            context.output.line("would create Plugins/\(stem)/ and Tests/Plugins/\(stem)PluginTests/, and regenerate the team plugin registry")
            return
        }
        let templates = Templates(root: scaffold.root.appendingPathComponent("Templates"))
        let written = try scaffold.create(id: name, summary: summary.replacingOccurrences(of: "\"", with: "'"), templates: templates, taken: taken)
        for file in written { context.output.line("wrote \(file)") }
        context.output.line("next: swift build && .build/debug/tmeops help \(name)")
    }
}

/// `tmeops plugin generate [--check]`: what `make generate` runs.
public struct PluginGenerateCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Regenerate the team plugin registry from Plugins/*/plugin.yml.",
        discussion: """
            With --check, changes nothing and exits 1 when a generated file is stale (CI runs this).

            Examples:
              tmeops plugin generate
              tmeops plugin generate --check
            """)

    @OptionGroup public var globals: GlobalOptions

    @Flag(help: "Only report stale generated files; exit 1 if any.")
    public var check = false

    @OptionGroup public var source: PackageRootOption

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let scaffold = source.scaffold(context)
        if check {
            let stale = try scaffold.staleFiles()
            guard stale.isEmpty else {
                throw TMEOpsError("generated files are stale: \(stale.joined(separator: ", ")); run `make generate` and commit the result")
            }
            context.output.line("generated files are up to date")
            return
        }
        let changed = try scaffold.generate()
        context.output.line(changed.isEmpty ? "generated files are up to date" : "rewrote \(changed.joined(separator: ", "))")
    }
}

import ArgumentParser
import Foundation

/// `tmeops init`: a starting `tmeops.yml` and `database/migrations/`; never overwrites.
public struct InitCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create tmeops.yml and database/migrations/ in this project.",
        discussion: """
            Refuses to overwrite an existing tmeops.yml. Secrets belong in .tmeops/secrets.env \
            (KEY=value lines, referenced as ${KEY} in tmeops.yml), which init adds to .tmeops/.gitignore.

            Examples:
              tmeops init --app tme-portal --image tme-portal-server
              tmeops init --dry-run
            """)

    @OptionGroup public var globals: GlobalOptions

    @Option(help: "Application name, used in labels, lock and ledger names (default: this folder's name).")
    public var app: String?

    @Option(help: "Image repository name (default: APP-server).")
    public var image: String?

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let directory = context.configURL.deletingLastPathComponent()
        let folderName = directory.lastPathComponent.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }
        let app = self.app ?? String(folderName).trimmingCharacters(in: CharacterSet(charactersIn: "-"))
        guard app.range(of: #"^[a-z0-9][a-z0-9_.-]*$"#, options: .regularExpression) != nil else {
            throw TMEOpsError.usage("--app '\(app)' cannot name containers and labels; use lower-case letters, digits, '-', '_' and '.'")
        }
        let image = self.image ?? "\(app)-server"
        if FileManager.default.fileExists(atPath: context.configURL.path) {
            throw TMEOpsError("\(context.configPath) already exists; nothing was changed. Edit it, or move it aside and run `tmeops init` again")
        }
        let templates = try Templates.locate(environment: context.environment)
        let config = try templates.render("tmeops.yml", ["app": app, "image": image])
        let migrations = directory.appendingPathComponent("database/migrations")
        let ignore = directory.appendingPathComponent(".tmeops/.gitignore")

        if context.dryRun {
            context.output.line("would write \(context.configPath) (app \(app), image \(image))")
            context.output.line("would create database/migrations/ and .tmeops/.gitignore")
            return
        }
        try AtomicFile.write(Data(config.utf8), to: context.configURL, overwrite: false, displayPath: context.configPath)
        try FileManager.default.createDirectory(at: migrations, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: ignore.path) {
            try AtomicFile.write(Data("secrets.env\nlocks/\n".utf8), to: ignore, overwrite: false, displayPath: ".tmeops/.gitignore")
        }
        context.output.line("created \(context.configPath) for app \(app) (image \(image)), database/migrations/ and .tmeops/.gitignore")
        context.output.line("next: put secrets in .tmeops/secrets.env, then run `tmeops config check`")
    }
}

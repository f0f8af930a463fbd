import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsPostgres

/// `tmeops migrate`: inspect, write, adopt, test and apply migrations.
public struct MigrateCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Inspect, write, adopt, test and apply migrations.",
        subcommands: [
            MigrateStatusCommand.self, MigrateNewCommand.self, PlannedCommand<MigrateAdoptSpec>.self, PlannedCommand<MigrateTestSpec>.self,
            PlannedCommand<MigrateApplySpec>.self,
        ])

    public init() {}
}

enum MigrateAdoptSpec: PlannedCommandSpec {
    static let name = "adopt"
    static let abstract = "Record pending migrations already reflected in a hand-changed database."
    static let subcommands: [String] = []
    static let issue = 5
    static let parent: String? = "migrate"
}

enum MigrateTestSpec: PlannedCommandSpec {
    static let name = "test"
    static let abstract = "Apply pending migrations to a copy of the database and record a proof."
    static let subcommands: [String] = []
    static let issue = 5
    static let parent: String? = "migrate"
}

enum MigrateApplySpec: PlannedCommandSpec {
    static let name = "apply"
    static let abstract = "Apply tested migrations, each in a transaction, under an advisory lock."
    static let subcommands: [String] = []
    static let issue = 5
    static let parent: String? = "migrate"
}

/// `tmeops migrate status -e ENV`.
public struct MigrateStatusCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Applied, pending, gaps, edited files and unknown versions; exit 3 when anything is off.",
        discussion: """
            A gap is a file that was never applied while a later version was (the runbook's missing \
            010-014). A changed file was edited after it was applied (its SHA-256 differs from the ledger's).

            Examples:
              tmeops migrate status -e production
              tmeops migrate status -e production --json
            """)

    @OptionGroup public var globals: GlobalOptions

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let (config, environment) = try context.loadEnvironment()
        let (folderText, folder) = MigrationsConfig.folder(of: config)
        let files = try MigrationFile.load(folder: folder, displayFolder: folderText)
        let ledger = try await runBlocking("migrate status") { () -> [MigrationLedger.Entry] in
            let database = try Databases.open(environment, context: context)
            defer { database.close() }
            return try MigrationLedger.entries(database.connection)
        }
        let status = MigrationStatus(files: files, ledger: ledger)
        if context.json {
            try context.output.writeJSON(status)
        } else {
            let out = context.output
            let counts = Dictionary(grouping: status.items, by: \.state).mapValues(\.count)
            out.line(
                "\(environment.name): "
                    + ["applied", "pending", "gap", "changed", "failed", "unknown"].compactMap { state in counts[state].map { "\($0) \(state)" } }.joined(
                        separator: ", "))
            for item in status.items where item.state != "applied" {
                let mark = item.state == "pending" ? "·" : out.red("✗")
                out.line("  \(mark) \(String(format: "%03d", item.version))_\(item.name)  \(item.state)\(item.detail.map { ": \($0)" } ?? "")")
            }
        }
        if status.hasProblems { throw ExitCode(ExitStatus.checkFailed.rawValue) }
    }
}

/// `tmeops migrate new NAME`.
public struct MigrateNewCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "new",
        abstract: "Write the next NNN_name.sql from Templates/migration.sql.",
        discussion: """
            Examples:
              tmeops migrate new add_revision_number
            """)

    @OptionGroup public var globals: GlobalOptions

    @Argument(help: "What the migration does, in lower-case words joined by _ (e.g. add_revision_number).")
    public var name: String

    public init() {}

    public func run(_ context: CommandContext) async throws {
        guard name.range(of: #"^[a-z0-9]+(_[a-z0-9]+)*$"#, options: .regularExpression) != nil else {
            throw TMEOpsError.usage("'\(name)' cannot name a migration; use lower-case words joined by _, e.g. add_revision_number")
        }
        let config = try context.loadConfig()
        let (folderText, folder) = MigrationsConfig.folder(of: config)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let next = (try MigrationFile.load(folder: folder, displayFolder: folderText).map(\.version).max() ?? 0) + 1
        let file = String(format: "%03d", next) + "_\(name).sql"
        let text = try Templates.locate(environment: context.environment).render(
            "migration.sql", ["name": name, "version": String(format: "%03d", next), "file": file])
        if context.dryRun {
            context.output.line("would write \(folderText)/\(file)")
            return
        }
        try AtomicFile.write(Data(text.utf8), to: folder.appendingPathComponent(file), overwrite: false, displayPath: "\(folderText)/\(file)")
        context.output.line("wrote \(folderText)/\(file)")
    }
}

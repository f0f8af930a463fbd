import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsPostgres

/// `tmeops schema`: snapshot, dump, diff and plan database schemas.
public struct SchemaCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Snapshot, dump, diff and plan database schemas.",
        subcommands: [
            SchemaSnapshotCommand.self, PlannedCommand<SchemaDumpSpec>.self, PlannedCommand<SchemaDiffSpec>.self, PlannedCommand<SchemaPlanSpec>.self,
        ])

    public init() {}
}

enum SchemaDumpSpec: PlannedCommandSpec {
    static let name = "dump"
    static let abstract = "Print an environment's schema as SQL (pg_dump in the database container)."
    static let subcommands: [String] = []
    static let issue = 5
    static let parent: String? = "schema"
}

enum SchemaDiffSpec: PlannedCommandSpec {
    static let name = "diff"
    static let abstract = "Report how two schemas differ, grouped by table; exit 3 on drift."
    static let subcommands: [String] = []
    static let issue = 5
    static let parent: String? = "schema"
}

enum SchemaPlanSpec: PlannedCommandSpec {
    static let name = "plan"
    static let abstract = "SQL that makes one schema equal another, each statement annotated with its hazards."
    static let subcommands: [String] = []
    static let issue = 5
    static let parent: String? = "schema"
}

/// `tmeops schema snapshot -e ENV [-o FILE]`.
public struct SchemaSnapshotCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Save an environment's schema (tables, columns, constraints, indexes, ...) as JSON.",
        discussion: """
            Read from pg_catalog with an empty search_path, so every name is schema-qualified; objects that \
            extensions own are left out. A production database is reached through an SSH forward to its \
            container. The file is written whole or not at all.

            Examples:
              tmeops schema snapshot -e production -o production-schema.json
              tmeops schema snapshot -e development
            """)

    @OptionGroup public var globals: GlobalOptions

    @Option(name: .shortAndLong, help: "Write the snapshot here instead of standard output.", completion: .file(extensions: ["json"]))
    public var output: String?

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let (_, environment) = try context.loadEnvironment()
        let snapshot = try await runBlocking("schema snapshot") { () -> SchemaSnapshot in
            let database = try Databases.open(environment, context: context)
            defer { database.close() }
            return try SchemaIntrospector.snapshot(database.connection)
        }
        let data = try snapshot.encoded()
        guard let output else {
            context.output.sink.write(String(decoding: data, as: UTF8.self) + "\n")
            return
        }
        let url = ConfigLoader.resolve(output, in: context.workingDirectory)
        try AtomicFile.write(data + Data("\n".utf8), to: url, overwrite: true, displayPath: output)
        let indexes = snapshot.tables.map(\.indexes.count).reduce(0, +)
        let constraints = snapshot.tables.map(\.constraints.count).reduce(0, +)
        context.output.line(
            "\(context.output.green("✓")) \(snapshot.database) on \(environment.name): \(snapshot.tables.count) tables, \(constraints) constraints, \(indexes) indexes, "
                + "\(snapshot.views.count) views, \(snapshot.functions.count) functions; written to \(output)")
    }
}

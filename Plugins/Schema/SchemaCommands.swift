import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsHosts
import TMEOpsPostgres

/// `tmeops schema`: snapshot, dump, diff and plan database schemas.
public struct SchemaCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Snapshot, dump, diff and plan database schemas.",
        subcommands: [
            SchemaSnapshotCommand.self, SchemaDiffCommand.self, SchemaDumpCommand.self, SchemaPlanCommand.self, SchemaSyncCommand.self,
        ])

    public init() {}
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

/// `tmeops schema diff --from A --to B`.
public struct SchemaDiffCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Report how one schema differs from another, grouped by table; exit 3 on drift.",
        discussion: """
            Each side is an environment of tmeops.yml, a postgresql:// URL, or a snapshot file. Read the \
            report as: FROM has / lacks what TO has. Definitions are compared after normalising \
            whitespace, public. qualification and casts to text, so equal schemas report nothing.

            Examples:
              tmeops schema diff --from production --to development
              tmeops schema diff --from production-schema.json --to development --json
            """)

    @OptionGroup public var globals: GlobalOptions

    @Option(help: "The schema to check (environment, URL or snapshot file).")
    public var from: String

    @Option(help: "The schema it should match (environment, URL or snapshot file).")
    public var to: String

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let (fromSource, toSource) = (from, to)
        let (left, right) = try await runBlocking("schema diff") { () -> (SchemaSnapshot, SchemaSnapshot) in
            (try SchemaSource.snapshot(fromSource, context: context), try SchemaSource.snapshot(toSource, context: context))
        }
        let diff = SchemaDiff(from: left, to: right)
        if context.json {
            try context.output.writeJSON(diff)
        } else if diff.isEmpty {
            context.output.line("\(context.output.green("✓")) \(from) matches \(to): no schema drift")
        } else {
            context.output.line("\(context.output.red("✗")) \(from) differs from \(to) in \(diff.count) place\(diff.count == 1 ? "" : "s"):")
            for line in diff.report(bold: context.output.bold) { context.output.line(line) }
        }
        if !diff.isEmpty { throw ExitCode(ExitStatus.checkFailed.rawValue) }
    }
}

/// `tmeops schema dump -e ENV`.
public struct SchemaDumpCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print an environment's schema as SQL: pg_dump in the database container, or a local pg_dump for a URL.",
        discussion: """
            In the container, pg_dump connects over its local socket, so no password is passed at all; for \
            a URL, the password reaches the local pg_dump through its environment, never its arguments.

            Examples:
              tmeops schema dump -e production > production-schema.sql
              tmeops schema dump -e development
            """)

    @OptionGroup public var globals: GlobalOptions

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let (_, environment) = try context.loadEnvironment()
        let database = try environment.require(DatabaseConfig.self, for: "reaching its database")
        let sql = try await runBlocking("schema dump") { () -> Data in
            switch try database.location(environment: environment.name) {
            case .url(let url):
                let target = try PostgresTarget(url: url)
                return try PostgresTools.runLocal("pg_dump", ["--schema-only", "-d", target.database], target: target, context: context)
            case .container(_, let user, let name):
                return try PostgresTools.execInContainer(
                    environment, context: context, script: #"exec pg_dump --schema-only -U "$1" -d "$2""#, arguments: [user, name], what: "pg_dump")
            }
        }
        context.output.sink.write(String(decoding: sql, as: UTF8.self))
    }
}

import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsHosts
import TMEOpsPostgres

/// `schema sync`: makes a (development) database's schema equal another's (the runbook's Option B): a
/// schema plan toward the source, shown, then applied to the target after a backup of it.
public enum SchemaSync {
    /// Rows a data-losing statement would take with it (table rows, or a column's non-null values).
    static func lossQuery(_ statement: SchemaPlan.Statement) -> String? {
        let sql = statement.sql
        if sql.hasPrefix("DROP TABLE ") { return "SELECT count(*) FROM \(sql.dropFirst("DROP TABLE ".count))" }
        if sql.hasPrefix("ALTER TABLE "), let range = sql.range(of: " DROP COLUMN ") {
            let table = sql[sql.index(sql.startIndex, offsetBy: "ALTER TABLE ".count)..<range.lowerBound]
            return "SELECT count(*) FROM \(table) WHERE \(sql[range.upperBound...]) IS NOT NULL"
        }
        return nil
    }

    /// Runs the plan's statements on `connection`: transactional ones grouped in one transaction each run
    /// of them, the others alone; an error rolls the open group back and names the statement.
    public static func apply(_ plan: SchemaPlan, on connection: PostgresConnection) throws {
        var open = false
        for (index, statement) in plan.statements.enumerated() {
            do {
                if statement.transactional && !open {
                    try connection.execute("BEGIN")
                    open = true
                } else if !statement.transactional && open {
                    try connection.execute("COMMIT")
                    open = false
                }
                try connection.execute(statement.sql)
            } catch let error as PostgresError {
                if open { _ = try? connection.execute("ROLLBACK") }
                throw SchemaError(
                    "statement \(index + 1) of the plan (\(statement.summary)) failed: \(error.message)\(error.sqlState.map { " (SQLSTATE \($0))" } ?? "")"
                        + (open ? "; its transaction group was rolled back" : ""))
            }
        }
        if open { try connection.execute("COMMIT") }
    }
}

/// `tmeops schema sync --from production --to development`.
public struct SchemaSyncCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Make one environment's schema equal another's: a schema plan, shown, then applied after a backup.",
        discussion: """
            TO (a development database) is changed to match FROM (production); data stays. The plan is \
            printed first; statements that delete data are listed with the rows they would take and refused \
            without --allow-hazards deletes-data. The target is backed up first (the backup plugin's \
            `backup create`, .tmeops/backups for a local environment). A protected environment is never \
            written to.

            Examples:
              tmeops schema sync --from production --to development --dry-run
              tmeops schema sync --from production --to development --yes
            """)

    @OptionGroup public var globals: GlobalOptions

    @Option(help: "The environment whose schema is the model.")
    public var from: String

    @Option(help: "The environment whose schema is changed.")
    public var to: String

    @Option(help: "Accept a plan with these hazards (deletes-data).")
    public var allowHazards: [String] = []

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let source = try context.loadConfig(selecting: .named(from)).environment(from)
        let target = try context.loadConfig(selecting: .named(to)).environment(to)
        try ProtectedConfig.refuseIfProtected(target, command: "schema sync")
        let allowed = Set(allowHazards.compactMap(SchemaHazard.init(rawValue:)))
        let (from, to, dryRun) = (self.from, self.to, context.dryRun)
        let out = context.output
        let plan = try await runBlocking("schema sync") { () -> SchemaPlan in
            let model = try Databases.open(source, context: context)
            defer { model.close() }
            let database = try Databases.open(target, context: context)
            defer { database.close() }
            var plan = SchemaPlanner.plan(from: try SchemaIntrospector.snapshot(database.connection), to: try SchemaIntrospector.snapshot(model.connection))
            for index in plan.statements.indices {
                if let query = plan.statements[index].violationQuery {
                    plan.statements[index].violations = Int(try database.connection.query(query).scalar ?? "")
                }
            }
            if plan.isEmpty { return plan }
            out.sink.write(plan.sql(header: ["tmeops schema sync: makes \(to) equal \(from)"]))
            let losing = plan.statements.filter { $0.hazards.contains(.deletesData) }
            if !losing.isEmpty && !allowed.contains(.deletesData) {
                let counted = try losing.map { statement -> String in
                    let rows = try SchemaSync.lossQuery(statement).flatMap { try database.connection.query($0).scalar } ?? "?"
                    return "\(statement.summary) (\(rows) rows)"
                }
                throw SchemaError(
                    "the sync would delete data in \(to): \(counted.joined(separator: "; ")); pass --allow-hazards deletes-data to accept it; nothing was changed"
                )
            }
            let failing = plan.statements.filter { ($0.violations ?? 0) > 0 }
            if !failing.isEmpty && !allowed.contains(.mayFail) {
                throw SchemaError(
                    "existing rows of \(to) violate the plan: " + failing.map { "\($0.summary) (\($0.violations!) rows)" }.joined(separator: "; ")
                        + "; fix those rows first (or pass --allow-hazards may-fail to try anyway); nothing was changed")
            }
            if dryRun { return plan }
            try context.confirm("Apply these \(plan.statements.count) statements to \(to)?")
            // The backup plugin offers backups; a build without it changes nothing unguarded.
            guard let backups = context.registry.service(PreChangeBackups.self) else {
                throw SchemaError("schema sync backs \(to) up first, and this build of tmeops has no backup plugin; nothing was changed")
            }
            let id = try backups.backup(target, label: "pre-sync", context: context)
            context.logger.info("backed up \(to) first: \(id)")
            try SchemaSync.apply(plan, on: database.connection)
            let after = SchemaDiff(from: try SchemaIntrospector.snapshot(database.connection), to: try SchemaIntrospector.snapshot(model.connection))
            guard after.isEmpty else { throw SchemaError("after the sync \(to) still differs from \(from) in \(after.count) places") }
            return plan
        }
        if plan.isEmpty { return out.line("\(out.green("✓")) \(to) already matches \(from): nothing to do") }
        out.line(dryRun ? "dry run: nothing was changed" : "\(out.green("✓")) \(to) now matches \(from) (\(plan.statements.count) statements applied)")
    }
}

import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsHosts
import TMEOpsPostgres

/// Checks a plan by running it: A's schema is rebuilt in an empty scratch database, the plan applied,
/// and the result must diff empty against B.
public enum SchemaPlanValidator {
    public static let emptySchema = SchemaSnapshot.empty

    /// Returns where it validated ("<scratch> on <server>").
    public static func validate(_ plan: SchemaPlan, from: SchemaSnapshot, to: SchemaSnapshot, on session: DatabaseSession) throws -> String {
        let scratch = "\(session.target.database)_tmeops_plan"
        try DatabaseCopy.createEmpty(session, scratch)
        defer { try? DatabaseCopy.drop(session, scratch) }
        let rebuilding = try session.connect(database: scratch)
        defer { rebuilding.close() }
        let rebuild = SchemaPlanner.plan(from: emptySchema, to: from)
        try run(rebuild, on: rebuilding, what: "rebuilding the source schema in \(scratch)")
        // The plan runs on a connection of its own, as it will on the real database: nothing the
        // rebuild set in its session (check_function_bodies, …) may help it pass here.
        let connection = try session.connect(database: scratch)
        defer { connection.close() }
        let rebuilt = SchemaDiff(from: try SchemaIntrospector.snapshot(connection), to: from)
        guard rebuilt.isEmpty else {
            throw SchemaError(
                "cannot validate the plan: the source schema could not be rebuilt exactly in \(scratch) (\(rebuilt.keyedChanges.prefix(3).map { "\($0.key): \($0.change)" }.joined(separator: "; ")))"
            )
        }
        try run(plan, on: connection, what: "running the plan on a scratch copy of the source schema")
        let after = SchemaDiff(from: try SchemaIntrospector.snapshot(connection), to: to)
        guard after.isEmpty else {
            throw SchemaError(
                "the plan does not make the schemas equal: after it, \(after.count) difference\(after.count == 1 ? "" : "s") remain ("
                    + after.keyedChanges.prefix(5).map { "\($0.key): \($0.change)" }.joined(separator: "; ") + ")")
        }
        return "\(scratch) on \(session.target.host):\(session.target.port)"
    }

    static func run(_ plan: SchemaPlan, on connection: PostgresConnection, what: String) throws {
        for (index, statement) in plan.statements.enumerated() {
            do {
                try connection.execute(statement.sql)
            } catch let error as PostgresError {
                throw SchemaError(
                    "\(what): statement \(index + 1) (\(statement.summary)) failed: \(error.message)\(error.sqlState.map { " (SQLSTATE \($0))" } ?? "")")
            }
        }
    }
}

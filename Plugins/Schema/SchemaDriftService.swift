import TMEOpsCore
import TMEOpsHosts
import TMEOpsPostgres

/// Schema drift for validation (`validate.expect_schema`), offered to the other plugins as the
/// `SchemaDriftCheck` service: the database's snapshot diffed against a snapshot file or an environment's.
struct SchemaDriftService: SchemaDriftCheck {
    func differences(_ connection: PostgresConnection, expected: String, context: CommandContext) throws -> [String] {
        let diff = SchemaDiff(from: try SchemaIntrospector.snapshot(connection), to: try SchemaSource.snapshot(expected, context: context))
        return diff.tables.flatMap { table in table.changes.map { "\(table.table): \($0)" } } + diff.other.map(\.description)
    }
}

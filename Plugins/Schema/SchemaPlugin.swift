import ArgumentParser
import TMEOpsCore
import TMEOpsHosts
import TMEOpsPostgres

/// Schema snapshots, drift diffs, hazard-annotated plans and a migration ledger with tested proofs (libpq).
public enum SchemaPlugin: Plugin {
    public static let description = PluginDescription(
        id: "schema",
        summary: "Schema snapshots, drift diffs, sync plans and proven migrations (libpq).",
        examples: [
            PluginExample(
                "tmeops schema diff --from development --to production",
                "Report missing columns, differing CHECK constraints and missing indexes; exit 3 on drift."),
            PluginExample("tmeops schema snapshot -e production -o production.json", "Save production's schema, read from pg_catalog through an SSH forward."),
            PluginExample("tmeops migrate status -e production", "List applied and pending migrations from database/migrations."),
            PluginExample("tmeops migrate test -e production", "Apply pending migrations to a staging copy and record a proof."),
        ])

    public static let commands: [any ParsableCommand.Type] = [SchemaCommand.self, MigrateCommand.self]
    public static let configSections: [any ConfigSection.Type] = [MigrationsConfig.self]
    public static let services = [PluginService(SchemaDriftCheck.self, SchemaDriftService())]
}

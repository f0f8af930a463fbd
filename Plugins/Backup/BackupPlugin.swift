import ArgumentParser
import TMEOpsCore
import TMEOpsHosts

/// Streamed, checksummed, restore-verified backups with retention and schedules.
public enum BackupPlugin: Plugin {
    public static let description = PluginDescription(
        id: "backup",
        summary: "Streamed, checksummed, restore-verified database backups with retention.",
        examples: [
            PluginExample(
                "tmeops backup create -e production --label pre-deploy", "pg_dump inside the database container, streamed to backups.dir with a checksum."),
            PluginExample("tmeops backup verify latest -e production", "Restore into a scratch database and compare row counts."),
            PluginExample("tmeops backup prune -e production --dry-run", "Show what keep_last/daily/weekly/monthly would keep and why."),
        ])

    public static let commands: [any ParsableCommand.Type] = [BackupCommand.self, DbCommand.self]
    public static let services = [PluginService(PreChangeBackups.self, PreChangeBackupService())]
}

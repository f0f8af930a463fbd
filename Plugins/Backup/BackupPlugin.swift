import ArgumentParser
import TMEOpsCore

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

    public static let commands: [any ParsableCommand.Type] = [PlannedCommand<BackupSpec>.self]
    public static let configSections: [any ConfigSection.Type] = [BackupsConfig.self]
}

enum BackupSpec: PlannedCommandSpec {
    static let name = "backup"
    static let abstract = "Create, list, verify, restore, prune and schedule database backups."
    static let subcommands = ["create", "list", "verify", "restore", "prune", "schedule"]
    static let issue = 6
}

/// `environments.<name>.backups`: where backups go and how many are kept.
public struct BackupsConfig: ConfigSection, Equatable {
    public static let key = "backups"
    public static let scope = ConfigScope.environment
    public static let summary = "Backup folder on the host and the keep_last/daily/weekly/monthly policy."

    public var dir: String
    public var keepLast: Int
    public var keepDaily: Int
    public var keepWeekly: Int
    public var keepMonthly: Int

    enum CodingKeys: String, CodingKey, CaseIterable {
        case dir
        case keepLast = "keep_last"
        case keepDaily = "keep_daily"
        case keepWeekly = "keep_weekly"
        case keepMonthly = "keep_monthly"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        dir = try c.decode(String.self, forKey: .dir)
        keepLast = try c.decode(.keepLast, default: 4)
        keepDaily = try c.decode(.keepDaily, default: 7)
        keepWeekly = try c.decode(.keepWeekly, default: 4)
        keepMonthly = try c.decode(.keepMonthly, default: 0)
        for (key, value) in [(CodingKeys.keepLast, keepLast), (.keepDaily, keepDaily), (.keepWeekly, keepWeekly), (.keepMonthly, keepMonthly)] where value < 0 {
            throw c.invalid(key, "\(value) cannot be negative; 0 turns the rule off")
        }
        if keepLast + keepDaily + keepWeekly + keepMonthly == 0 {
            throw c.invalid(.keepLast, "every keep rule is 0, so prune would delete every backup; keep at least one")
        }
    }
}

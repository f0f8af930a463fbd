import TMEOpsCore

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

    public init() {
        dir = ".tmeops/backups"
        keepLast = 4
        keepDaily = 7
        keepWeekly = 4
        keepMonthly = 0
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

import Foundation

/// The `<id>.json` beside each backup file: what it holds and how to check it. Written by
/// `backup create` and the scheduled job alike; `verified` is filled in by `backup verify`.
public struct BackupMetadata: Codable, Sendable, Equatable {
    public struct Verification: Codable, Sendable, Equatable {
        public var at: String
        /// "restore": checksum, table of contents, restore into a scratch database, row counts.
        public var method: String
        public var ok: Bool
        public var detail: String
    }

    public var id: String
    public var file: String
    public var database: String
    public var serverVersion: Int
    /// custom (pg_dump -Fc) or plain (SQL, compressed).
    public var format: String
    public var compression: String?
    public var size: UInt64
    public var sha256: String
    public var durationMs: Int
    public var label: String?
    public var createdAt: String
    public var tmeopsVersion: String
    public var schemaHash: String?
    public var tableRows: [String: Int64]
    /// "tmeops backup create" or "scheduled job".
    public var source: String
    public var verified: Verification?
    /// The environment whose database it is (nil in backups written before tmeops recorded it).
    public var environment: String?

    enum CodingKeys: String, CodingKey {
        case id, file, database, format, compression, size, sha256, label, source, verified, environment
        case serverVersion = "server_version"
        case durationMs = "duration_ms"
        case createdAt = "created_at"
        case tmeopsVersion = "tmeops_version"
        case schemaHash = "schema_hash"
        case tableRows = "table_rows"
    }

    public var created: Date? { BackupMetadata.parseTime(createdAt) }
    /// Whether this is a backup of `database` of `environment`: environments that share a server, a
    /// login and a backups folder (staging beside production) see each other's files, and keep rules,
    /// restores and rollbacks must count only their own. A backup from before tmeops recorded the
    /// environment is its database's.
    public func belongs(toDatabase database: String, environment: String) -> Bool {
        self.database == database && (self.environment == nil || self.environment == environment)
    }

    /// The major version of the server it came from (15 for 150004).
    public var serverMajor: Int { serverVersion / 10000 }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self) + Data("\n".utf8)
    }

    /// RFC 3339, with or without fractional seconds (the scheduled job writes whole seconds).
    public static func parseTime(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    /// Milliseconds kept, so two backups in one second still sort.
    public static func timeText(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    /// `YYYYMMDD-HHMMSS[-label]` in UTC; the label reduced to [a-z0-9-].
    public static func makeID(at date: Date, label: String?) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        var id = String(format: "%04d%02d%02d-%02d%02d%02d", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
        if let label {
            let cleaned = label.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }.reduce(into: "") { $0.append($1) }
                .split(separator: "-").joined(separator: "-")
            if !cleaned.isEmpty { id += "-" + cleaned.prefix(40) }
        }
        return id
    }

    /// The time a backup's id claims (its first 15 characters), to compare with `created_at`.
    public static func timeInID(_ id: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        return formatter.date(from: String(id.prefix(15)))
    }
}

/// restic's `forget` rules over backups: keep the newest `last`; and the newest backup of each of the
/// last N days / ISO weeks / months that have backups; the rules are OR'ed. On top, nothing pinned by a
/// release, the newest verified backup, or a backup whose time cannot be trusted is ever removed.
public struct RetentionPolicy: Sendable, Equatable {
    public var last: Int
    public var daily: Int
    public var weekly: Int
    public var monthly: Int

    public init(last: Int, daily: Int, weekly: Int, monthly: Int) {
        self.last = last
        self.daily = daily
        self.weekly = weekly
        self.monthly = monthly
    }

    public struct Decision: Sendable, Equatable {
        public let id: String
        public let keep: Bool
        public let reasons: [String]
    }

    /// `now` decides what "in the future" means (a skewed clock).
    public func decide(_ backups: [BackupMetadata], pinned: [String: String], now: Date) -> [Decision] {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let dated = backups.map { ($0, $0.created ?? .distantPast) }.sorted { $0.1 > $1.1 }
        var reasons: [String: [String]] = [:]
        func bucketRule(_ name: String, _ count: Int, _ key: (Date) -> String) {
            guard count > 0 else { return }
            var seen: [String] = []
            for (backup, date) in dated where date != .distantPast {
                let bucket = key(date)
                if seen.contains(bucket) { continue }
                guard seen.count < count else { break }
                seen.append(bucket)
                reasons[backup.id, default: []].append("\(name) \(bucket)")
            }
        }
        for (index, (backup, _)) in dated.enumerated() where index < last { reasons[backup.id, default: []].append("last \(index + 1)") }
        bucketRule("daily", daily) { date in
            let c = calendar.dateComponents([.year, .month, .day], from: date)
            return String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
        }
        bucketRule("weekly", weekly) { date in
            let c = calendar.dateComponents([.yearForWeekOfYear, .weekOfYear], from: date)
            return String(format: "%04d-W%02d", c.yearForWeekOfYear!, c.weekOfYear!)
        }
        bucketRule("monthly", monthly) { date in
            let c = calendar.dateComponents([.year, .month], from: date)
            return String(format: "%04d-%02d", c.year!, c.month!)
        }
        if let newestVerified = dated.first(where: { $0.0.verified?.ok == true }) {
            reasons[newestVerified.0.id, default: []].append("newest verified backup")
        }
        for (backup, date) in dated {
            if let release = pinned[backup.id] { reasons[backup.id, default: []].append("pinned by release \(release)") }
            if date == .distantPast {
                reasons[backup.id, default: []].append("its created_at cannot be read")
            } else if date > now.addingTimeInterval(300) {
                reasons[backup.id, default: []].append("dated in the future (check the host's clock)")
            } else if let named = BackupMetadata.timeInID(backup.id), abs(named.timeIntervalSince(date)) > 3600 {
                reasons[backup.id, default: []].append("its name and created_at disagree by more than an hour (clock skew?)")
            }
        }
        return dated.map { backup, _ in
            let why = reasons[backup.id] ?? []
            return Decision(id: backup.id, keep: !why.isEmpty, reasons: why.isEmpty ? ["no rule keeps it"] : why)
        }
    }
}

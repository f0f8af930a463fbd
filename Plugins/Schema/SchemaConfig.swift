import Foundation
import TMEOpsCore
import TMEOpsHosts
import TMEOpsPostgres

/// `migrations`: where the numbered SQL migrations live.
public struct MigrationsConfig: ConfigSection, Equatable {
    public static let key = "migrations"
    public static let scope = ConfigScope.root
    public static let summary = "Folder of NNN_name.sql migration files."

    public var dir: String
    /// `lock_timeout` for each migration statement: a table another session holds is waited on this long.
    public var lockTimeout: ConfigDuration
    /// How many times a migration that hit lock_timeout is retried (whole, after a rollback).
    public var lockRetries: Int
    /// `statement_timeout` for each statement; none by default.
    public var statementTimeout: ConfigDuration?
    /// The schema `migrate test` compares the migrated copy with: an environment, URL or snapshot file.
    public var expect: String?
    /// The search_path migrations run with.
    public var searchPath: String

    enum CodingKeys: String, CodingKey, CaseIterable {
        case dir, expect
        case searchPath = "search_path"
        case lockTimeout = "lock_timeout"
        case lockRetries = "lock_retries"
        case statementTimeout = "statement_timeout"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        dir = try c.decode(.dir, default: "database/migrations")
        lockTimeout = try c.decode(.lockTimeout, default: ConfigDuration(seconds: 5))
        lockRetries = try c.decode(.lockRetries, default: 3)
        guard lockRetries >= 0 else { throw c.invalid(.lockRetries, "must be 0 or more") }
        statementTimeout = try c.decodeIfPresent(ConfigDuration.self, forKey: .statementTimeout)
        expect = try c.decodeIfPresent(String.self, forKey: .expect)
        searchPath = try c.decode(.searchPath, default: "\"$user\", public")
    }

    public init() {
        dir = "database/migrations"
        lockTimeout = ConfigDuration(seconds: 5)
        lockRetries = 3
        searchPath = "\"$user\", public"
    }

    /// The migrations folder of `config` as written (for messages) and resolved beside the config file.
    public static func folder(of config: LoadedConfig) -> (display: String, url: URL) {
        let display = config.section(MigrationsConfig.self)?.dir ?? "database/migrations"
        return (display, ConfigLoader.resolve(display, in: config.url.deletingLastPathComponent()))
    }
}

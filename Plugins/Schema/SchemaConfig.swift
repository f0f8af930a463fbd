import Foundation
import TMEOpsCore
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

/// `environments.<name>.database`: a URL (development), or the database container on the host.
public struct DatabaseConfig: ConfigSection, Equatable {
    public static let key = "database"
    public static let scope = ConfigScope.environment
    public static let summary = "Database URL, or container, user, name and password on the host."

    public var url: String?
    public var container: String?
    public var user: String?
    public var name: String?
    public var password: String?
    public var port: Int

    enum CodingKeys: String, CodingKey, CaseIterable {
        case url, container, user, name, password, port
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        url = try c.decodeIfPresent(String.self, forKey: .url)
        container = try c.decodeIfPresent(String.self, forKey: .container)
        user = try c.decodeIfPresent(String.self, forKey: .user)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        password = try c.decodeIfPresent(String.self, forKey: .password)
        port = try c.decode(.port, default: 5432)
        if let url, !(url.hasPrefix("postgresql://") || url.hasPrefix("postgres://")) {
            throw c.invalid(.url, "expected a postgresql:// URL")
        }
        if url == nil {
            guard container != nil else { throw c.invalid(.container, "set either url (a postgresql:// URL) or container, user and name") }
            guard user != nil else { throw c.invalid(.user, "a database reached through its container needs user") }
            guard name != nil else { throw c.invalid(.name, "a database reached through its container needs name") }
        }
    }

    /// Where the database is: the one decision every command that reaches it makes.
    public enum Location: Sendable, Equatable {
        case url(String)
        case container(name: String, user: String, database: String)
    }

    /// The database's location; decoding already guarantees one of the two forms is complete.
    public func location(environment: String) throws -> Location {
        if let url { return .url(url) }
        guard let container, let user, let name else {
            throw TMEOpsError.usage("environments.\(environment).database needs url, or container, user and name")
        }
        return .container(name: container, user: user, database: name)
    }
}

/// `environments.<name>.protected: true|false`: `db pull` and `schema sync` never write to a protected
/// environment, and `migrate apply` backs it up and takes its deploy lock first. A remote environment
/// (one with an ssh section, or a `database.url` on another machine) is protected unless it says otherwise.
public struct ProtectedConfig: ConfigSection, Equatable {
    public static let key = "protected"
    public static let scope = ConfigScope.environment
    public static let summary = "true: db pull and schema sync never write here; migrate apply backs up and locks first (default for remote environments)."

    public var value: Bool

    public init(from decoder: Decoder) throws {
        value = try decoder.singleValueContainer().decode(Bool.self)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(value)
    }

    /// Whether `environment` may not be written to by development-alignment commands, and must be
    /// backed up and locked before `migrate apply` changes it.
    public static func isProtected(_ environment: EnvironmentConfig) -> Bool { reason(environment) != nil }

    /// Why `environment` is protected, in words for an error; nil when it is not. Without a `protected`
    /// key, an environment reached over ssh, or whose `database.url` names a server that is not on this
    /// machine, is protected: a forgotten key must err on the side of production.
    public static func reason(_ environment: EnvironmentConfig) -> String? {
        if let explicit = environment.section(ProtectedConfig.self) { return explicit.value ? "it says protected: true" : nil }
        if environment.value("ssh", "host") != nil || environment.value("ssh", "hosts") != nil {
            return "it is a remote environment (protected unless it says protected: false)"
        }
        if let url = environment.section(DatabaseConfig.self)?.url, let target = try? PostgresTarget(url: url), !target.isLocal {
            return "its database.url names the server \(target.host), not this machine (protected unless it says protected: false)"
        }
        return nil
    }

    /// Throws the refusal for a protected environment.
    public static func refuseIfProtected(_ environment: EnvironmentConfig, command: String) throws {
        guard let why = reason(environment) else { return }
        throw TMEOpsError.usage("\(command) refuses to write to environment '\(environment.name)': \(why); nothing was changed")
    }
}

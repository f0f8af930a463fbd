import Foundation
import TMEOpsCore

/// `environments.<name>.database`: a URL (development), or the database container on the host.
public struct DatabaseConfig: ConfigSection, ConfigSectionCrossCheck, Equatable {
    public static let key = "database"
    public static let scope = ConfigScope.environment
    public static let summary = "Database URL, or container, user, name and password on the host."

    public var url: String?
    public var container: String?
    public var user: String?
    public var name: String?
    public var password: String?
    public var port: Int
    /// Which of `ssh.hosts` runs the database container (default: the first).
    public var host: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case url, container, user, name, password, port, host
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        url = try c.decodeIfPresent(String.self, forKey: .url)
        container = try c.decodeIfPresent(String.self, forKey: .container)
        user = try c.decodeIfPresent(String.self, forKey: .user)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        password = try c.decodeIfPresent(String.self, forKey: .password)
        port = try c.decode(.port, default: 5432)
        host = try c.decodeIfPresent(String.self, forKey: .host)
        if host != nil, url != nil { throw c.invalid(.host, "a database reached by url is not on one of the environment's hosts; remove host") }
        if let url, !(url.hasPrefix("postgresql://") || url.hasPrefix("postgres://")) {
            throw c.invalid(.url, "expected a postgresql:// URL")
        }
        if let name, let problem = Self.nameProblem(name) { throw c.invalid(.name, problem) }
        if let url, let name = Self.databaseName(inURL: url), let problem = Self.nameProblem(name) { throw c.invalid(.url, problem) }
        if url == nil {
            guard container != nil else { throw c.invalid(.container, "set either url (a postgresql:// URL) or container, user and name") }
            guard user != nil else { throw c.invalid(.user, "a database reached through its container needs user") }
            guard name != nil else { throw c.invalid(.name, "a database reached through its container needs name") }
        }
    }

    /// The longest name tmeops gives a database of its own beside the environment's
    /// (`<name>_tmeops_previous`, kept by a restore or a pull).
    public static let longestSuffix = "_tmeops_previous"
    /// PostgreSQL cuts names at 63 bytes: a longer database name would leave `<name>_tmeops_…` names
    /// cut to the same prefix, so a restore's staging database could be a pull's, or another's.
    public static let maxNameBytes = 63 - longestSuffix.utf8.count

    static func nameProblem(_ name: String) -> String? {
        guard name.utf8.count > maxNameBytes else { return nil }
        return
            "'\(name)' is \(name.utf8.count) bytes; tmeops names its copies <name>\(longestSuffix) and PostgreSQL cuts names at 63 bytes, so a database name may have at most \(maxNameBytes)"
    }

    /// The database a postgresql:// URL names (its path, without the query).
    static func databaseName(inURL url: String) -> String? {
        guard let afterScheme = url.range(of: "://").map({ url[$0.upperBound...] }), let slash = afterScheme.firstIndex(of: "/") else { return nil }
        let path = afterScheme[afterScheme.index(after: slash)...].prefix { $0 != "?" }
        return path.isEmpty ? nil : (String(path).removingPercentEncoding ?? String(path))
    }

    public func problem(in environment: EnvironmentConfig) -> (key: String, message: String)? {
        guard let host else { return nil }
        guard let ssh = environment.section(SSHConfig.self) else {
            return ("host", "names a host, and environments.\(environment.name) has no ssh section to reach it; remove host or add ssh")
        }
        guard ssh.hosts.contains(host) else {
            return ("host", "'\(host)' is not one of environments.\(environment.name).ssh.hosts (\(ssh.hosts.joined(separator: ", ")))")
        }
        return nil
    }

    /// The host that runs the database container: `host`, else the environment's first.
    public func databaseHost(of ssh: SSHConfig) -> String { host ?? ssh.host }

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

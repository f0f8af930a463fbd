import TMEOpsCore

/// `environments.<name>.app`: the production app container.
public struct AppContainerConfig: ConfigSection, Equatable {
    public static let key = "app"
    public static let scope = ConfigScope.environment
    public static let summary = "Production container name, network, published ports, env file and env."

    public var container: String
    public var network: String?
    public var publish: [PortMapping]
    public var envFile: String?
    public var env: [String: String]

    enum CodingKeys: String, CodingKey, CaseIterable {
        case container, network, publish
        case envFile = "env_file"
        case env
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        container = try c.decode(String.self, forKey: .container)
        guard container.range(of: #"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$"#, options: .regularExpression) != nil else {
            throw c.invalid(.container, "'\(container)' is not a valid Docker container name")
        }
        network = try c.decodeIfPresent(String.self, forKey: .network)
        publish = try c.decode(.publish, default: [])
        envFile = try c.decodeIfPresent(String.self, forKey: .envFile)
        if let envFile, !envFile.hasPrefix("/") { throw c.invalid(.envFile, "'\(envFile)' must be an absolute path on the host") }
        env = try c.decode(.env, default: [:])
    }
}

/// `environments.<name>.test_instance`: the test container started before the swap.
public struct TestInstanceConfig: ConfigSection, Equatable {
    public static let key = "test_instance"
    public static let scope = ConfigScope.environment
    public static let summary = "Published ports and database of the pre-swap test container."

    public var publish: [PortMapping]
    public var database: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case publish, database
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let testPort = try PortMapping(parsing: "3001:3000")
        publish = try c.decode(.publish, default: [testPort])
        database = try c.decodeIfPresent(String.self, forKey: .database)
    }
}

/// `environments.<name>.deploy`: swap strategy, releases kept and lock expiry.
public struct DeployConfig: ConfigSection, Equatable {
    public static let key = "deploy"
    public static let scope = ConfigScope.environment
    public static let summary = "Swap strategy (replace or proxy), releases kept and lock expiry."

    public enum Strategy: String, Codable, Sendable, CaseIterable {
        case replace, proxy
    }

    public var strategy: Strategy
    public var keepReleases: Int
    public var lockTTL: ConfigDuration

    enum CodingKeys: String, CodingKey, CaseIterable {
        case strategy
        case keepReleases = "keep_releases"
        case lockTTL = "lock_ttl"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let strategy = try c.decode(.strategy, default: Strategy.replace.rawValue)
        guard let parsed = Strategy(rawValue: strategy) else {
            throw c.invalid(.strategy, "'\(strategy)' is not a strategy; use replace or proxy")
        }
        self.strategy = parsed
        keepReleases = try c.decode(.keepReleases, default: 5)
        guard keepReleases >= 1 else { throw c.invalid(.keepReleases, "must keep at least the current release (1)") }
        lockTTL = try c.decode(.lockTTL, default: ConfigDuration(seconds: 1800))
    }
}

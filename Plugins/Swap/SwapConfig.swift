import TMEOpsCore
import TMEOpsHosts
import ValidatePlugin

/// `environments.<name>.test_instance`: the test container started before the swap.
public struct TestInstanceConfig: ConfigSection, Equatable {
    public static let key = "test_instance"
    public static let scope = ConfigScope.environment
    public static let summary = "Published ports and database of the pre-swap test container."

    public var publish: [PortMapping]
    public var database: String?
    /// The test container's mounts (`SOURCE:TARGET[:ro]`); when unset it gets production's, read-only.
    public var volumes: [String]?
    /// Variables set in the test container over the env file's (after those naming production's
    /// database were pointed at the test database).
    public var env: [String: String]

    enum CodingKeys: String, CodingKey, CaseIterable {
        case publish, database, volumes, env
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let testPort = try PortMapping(parsing: "3001:3000")
        publish = try c.decode(.publish, default: [testPort])
        database = try c.decodeIfPresent(String.self, forKey: .database)
        volumes = try c.decodeIfPresent([String].self, forKey: .volumes)
        env = try c.decode(.env, default: [:])
        for volume in volumes ?? [] where VolumeSpec(volume) == nil {
            throw c.invalid(.volumes, "'\(volume)' is not SOURCE:TARGET[:ro|rw] with an absolute TARGET")
        }
    }
}

/// `deploy.keep_releases`, offered to the other plugins (`image prune`) as the `ReleaseRetention` service.
struct DeployReleaseRetention: ReleaseRetention {
    func keepReleases(_ environment: EnvironmentConfig) throws -> Int { try DeployConfig.of(environment).keepReleases }
}

/// `environments.<name>.deploy`: swap strategy, releases kept and lock expiry.
public struct DeployConfig: ConfigSection, Equatable {
    public static let key = "deploy"
    public static let scope = ConfigScope.environment
    public static let summary = "Swap strategy (replace, proxy or swarm), hosts swapped at a time, releases kept and lock expiry."

    /// The name of a registered `DeployStrategy` (`replace`, `proxy`, or one a build adds).
    public var strategy: String
    public var keepReleases: Int
    public var lockTTL: ConfigDuration
    /// The reverse proxy's image for strategy proxy (any nginx; it is given its own configuration).
    public var proxyImage: String
    /// Hosts swapped at a time on an environment of several (`deploy.batch`: a number or "34%").
    public var batch: DeployBatches.Size
    /// The pause after a batch is healthy, before the next one starts (`deploy.batch_wait`); unset, the
    /// load balancer's settle time after a batch whose ports went unanswered (`BalancerSettle`).
    public var batchWait: ConfigDuration?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case strategy, batch
        case batchWait = "batch_wait"
        case proxyImage = "proxy_image"
        case keepReleases = "keep_releases"
        case lockTTL = "lock_ttl"
    }

    /// The environment's `deploy` section, or its defaults when it has none.
    public static func of(_ environment: EnvironmentConfig) throws -> DeployConfig {
        try environment.section(DeployConfig.self) ?? DeployConfig(from: EmptyDecoder())
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        strategy = try c.decode(.strategy, default: ReplaceStrategy.name)
        guard DeployStrategies.named(strategy) != nil else {
            let names = DeployStrategies.names
            let choices = names.count > 1 ? names.dropLast().joined(separator: ", ") + " or " + (names.last ?? "") : names.joined()
            throw c.invalid(.strategy, "'\(strategy)' is not a strategy; use \(choices)")
        }
        keepReleases = try c.decode(.keepReleases, default: ReleaseRetentionDefault.keep)
        guard keepReleases >= 1 else { throw c.invalid(.keepReleases, "must keep at least the current release (1)") }
        lockTTL = try c.decode(.lockTTL, default: ConfigDuration(seconds: RemoteState.defaultLockTTL))
        proxyImage = try c.decode(.proxyImage, default: "nginx:stable")
        batchWait = try c.decodeIfPresent(ConfigDuration.self, forKey: .batchWait)
        if let number = try? c.decodeIfPresent(Int.self, forKey: .batch) {
            guard let size = DeployBatches.Size(number) else { throw c.invalid(.batch, "must be 1 or more hosts (or a percentage such as \"34%\")") }
            batch = size
        } else if let text = try c.decodeIfPresent(String.self, forKey: .batch) {
            guard let size = DeployBatches.Size(parsing: text) else {
                throw c.invalid(.batch, "'\(text)' is neither a number of hosts (1 or more) nor a percentage from 1% to 100%")
            }
            batch = size
        } else {
            batch = .hosts(1)
        }
    }
}

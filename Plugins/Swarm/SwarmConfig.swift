import Foundation
import TMEOpsCore
import TMEOpsHosts

/// `environments.<name>.swarm`: the Docker Swarm an environment with `deploy.strategy: swarm` hands its
/// rollout to.
public struct SwarmConfig: ConfigSection, ConfigSectionCrossCheck, Equatable {
    public static let key = "swarm"
    public static let scope = ConfigScope.environment
    public static let summary = "The swarm a strategy-swarm environment rolls out on: manager, service, replicas, overlay network, front door, update policy."

    /// The host of `ssh.hosts` whose engine is the swarm's manager (tmeops talks to Swarm through it).
    public var manager: String
    /// The app's service name.
    public var service: String
    /// Replicas of the app; default: one per host of `ssh.hosts`.
    public var replicas: Int?
    /// The attachable overlay network the app's tasks, the front door and the database share.
    public var network: String
    /// `proxy`: a global proxy service publishes `app.publish` in host mode on every node and forwards
    /// to the tasks; `none`: the team's own front door reaches `tasks.SERVICE` on the network.
    public var front: Front
    public var update: Update

    public enum Front: String, Codable, Sendable, Equatable, CaseIterable {
        case proxy, none
    }

    /// `swarm.update`: how Swarm rolls a new release over the replicas (and back, on failure).
    public struct Update: Codable, Sendable, Equatable {
        public var parallelism: Int
        /// `start-first` (a new task is healthy before an old one stops) or `stop-first`.
        public var order: String
        /// How long a new task is watched after it started before the update moves on.
        public var monitor: ConfigDuration
        /// `rollback` (Swarm goes back to the previous spec by itself) or `pause`.
        public var failureAction: String
        /// The pause between batches of `parallelism` tasks.
        public var delay: ConfigDuration

        enum CodingKeys: String, CodingKey, CaseIterable {
            case parallelism, order, monitor, delay
            case failureAction = "failure_action"
        }

        public init(parallelism: Int = 1, order: String = "start-first", monitor: Double = 5, failureAction: String = "rollback", delay: Double = 0) {
            self.parallelism = parallelism
            self.order = order
            self.monitor = ConfigDuration(seconds: monitor)
            self.failureAction = failureAction
            self.delay = ConfigDuration(seconds: delay)
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            parallelism = try c.decode(.parallelism, default: 1)
            guard parallelism >= 1 else { throw c.invalid(.parallelism, "must be 1 or more tasks at a time") }
            order = try c.decode(.order, default: "start-first")
            guard ["start-first", "stop-first"].contains(order) else { throw c.invalid(.order, "'\(order)' is not one of start-first, stop-first") }
            monitor = try c.decode(.monitor, default: ConfigDuration(seconds: 5))
            failureAction = try c.decode(.failureAction, default: "rollback")
            guard ["rollback", "pause"].contains(failureAction) else {
                throw c.invalid(.failureAction, "'\(failureAction)' is not one of rollback, pause")
            }
            delay = try c.decode(.delay, default: ConfigDuration(seconds: 0))
        }
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case manager, service, replicas, network, front, update
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        guard let manager = try c.decodeIfPresent(String.self, forKey: .manager), !manager.isEmpty else {
            throw c.invalid(.manager, "is required: the host of ssh.hosts whose Docker engine manages the swarm")
        }
        self.manager = manager
        service = try c.decode(.service, default: "app")
        guard Self.isName(service) else { throw c.invalid(.service, "'\(service)' is not a service name (letters, digits, '-' and '_', at most 63)") }
        replicas = try c.decodeIfPresent(Int.self, forKey: .replicas)
        if let replicas, replicas < 1 { throw c.invalid(.replicas, "must be 1 or more") }
        network = try c.decode(.network, default: "\(service)_overlay")
        guard Self.isName(network) else { throw c.invalid(.network, "'\(network)' is not a network name") }
        let front = try c.decode(.front, default: Front.proxy.rawValue)
        guard let parsed = Front(rawValue: front) else { throw c.invalid(.front, "'\(front)' is not one of proxy, none") }
        self.front = parsed
        update = try c.decodeIfPresent(Update.self, forKey: .update) ?? Update()
    }

    public init(manager: String, service: String = "app", replicas: Int? = nil, network: String? = nil, front: Front = .proxy, update: Update = Update()) {
        self.manager = manager
        self.service = service
        self.replicas = replicas
        self.network = network ?? "\(service)_overlay"
        self.front = front
        self.update = update
    }

    static func isName(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 63 && text.first?.isLetter == true
            && text.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_" || $0 == "." }
    }

    public func problem(in environment: EnvironmentConfig) -> (key: String, message: String)? {
        guard let ssh = environment.section(SSHConfig.self) else {
            return ("manager", "a swarm is reached through its manager's SSH host; environments.\(environment.name) has no ssh section")
        }
        guard ssh.hosts.contains(manager) else {
            return ("manager", "'\(manager)' is not one of environments.\(environment.name).ssh.hosts (\(ssh.hosts.joined(separator: ", ")))")
        }
        return nil
    }

    /// The replicas the service runs: `replicas`, else one per host.
    public func replicaCount(hosts: Int) -> Int { replicas ?? max(hosts, 1) }

    /// The front door's service name.
    public var frontService: String { "\(service)-front" }

    /// The environment's swarm section, or a usage error naming what is missing.
    public static func of(_ environment: EnvironmentConfig) throws -> SwarmConfig {
        guard let swarm = environment.section(SwarmConfig.self) else {
            throw TMEOpsError.usage(
                "environments.\(environment.name) has no swarm section; add one (swarm.manager: one of ssh.hosts) to use Docker Swarm")
        }
        return swarm
    }
}

import Foundation
import TMEOpsCore
import TMEOpsHosts
import ValidatePlugin

/// How a deploy puts a new release in front of users, and how it takes it back.
///
/// The pipeline, `recover`, `rollback` and the plan call only this protocol; none of them knows which
/// strategies exist. A new strategy is one type conforming to it, registered with
/// `DeployStrategies.register` (the built-in ones are in `DeployStrategies.builtIn`), and named by
/// `deploy.strategy` in tmeops.yml.
public protocol DeployStrategy: Sendable {
    /// The value of `deploy.strategy` that selects it.
    static var name: String { get }

    init()

    /// The plan's line for the swap step.
    func describeSwap(_ target: DeployTarget, image: String) -> String

    /// Checks, before anything changes, what the strategy needs from the config (nil when all is there).
    func configProblem(_ target: DeployTarget) -> String?

    /// Puts a container of `image` in front of users as production; returns the unavailability window
    /// in seconds. On failure it leaves production as it was (or says in a `DeployError` that it could not).
    func swap(_ target: DeployTarget, image: String, release: String, journal: (String, [String: String]) throws -> Void) throws -> Double

    /// Puts the previous release (`<name>-old`) back in front of users and checks it.
    func putBack(_ target: DeployTarget) throws -> HealthWait.Outcome

    /// After a crash mid-swap, with a `-new` container still there: whether that swap had already
    /// reached users (or can, as it is), so that `recover` finishes it rather than undoes it. What recover
    /// then does is decided by `RecoveryPlan`, the same for every strategy.
    func interruptedSwapServes(_ target: DeployTarget, journal: [RemoteState.JournalEntry], release: String?) throws -> Bool

    /// After `recover` left a healthy production: repairs what the strategy owns (a proxy). Returns what
    /// it did, if anything.
    func repair(_ target: DeployTarget) throws -> String?
}

extension DeployStrategy {
    public func configProblem(_ target: DeployTarget) -> String? { nil }
    public func repair(_ target: DeployTarget) throws -> String? { nil }
}

/// The strategies `deploy.strategy` may name: the built-in ones and any a build registers.
public enum DeployStrategies {
    public static let builtIn: [any DeployStrategy.Type] = [ReplaceStrategy.self, ProxyStrategy.self, SwarmStrategy.self]

    private static let lock = NSLock()
    nonisolated(unsafe) private static var registered: [any DeployStrategy.Type] = builtIn

    /// Adds a strategy (a team's, or a test's); a name already taken is replaced.
    public static func register(_ strategy: any DeployStrategy.Type) {
        lock.withLock {
            registered.removeAll { $0.name == strategy.name }
            registered.append(strategy)
        }
    }

    /// Removes a registered strategy (the built-in ones stay).
    public static func unregister(_ name: String) {
        lock.withLock { registered.removeAll { $0.name == name && !builtIn.contains { $0.name == name } } }
    }

    public static var names: [String] { lock.withLock { registered.map { $0.name } } }

    public static func named(_ name: String) -> (any DeployStrategy.Type)? {
        lock.withLock { registered.first { $0.name == name } }
    }
}

/// `replace`: the old container stops, the new one takes its name and ports and must pass its health
/// gate; on failure the old one starts again. One host, no extra moving parts; users see the window
/// between the old container's last answer and the new one's health.
public struct ReplaceStrategy: DeployStrategy {
    public static let name = "replace"

    public init() {}

    public func describeSwap(_ target: DeployTarget, image: String) -> String {
        "swap: \(target.app.container) → new container of \(image); the old one kept stopped as \(target.old) until healthy"
    }

    public func swap(_ target: DeployTarget, image: String, release: String, journal: (String, [String: String]) throws -> Void) throws -> Double {
        try target.swap(image: image, release: release, journal: journal)
    }

    public func putBack(_ target: DeployTarget) throws -> HealthWait.Outcome { try target.restoreOld() }

    /// Killed between the start of the new container and its rename: the swap is finished when the new
    /// container runs and is healthy.
    public func interruptedSwapServes(_ target: DeployTarget, journal: [RemoteState.JournalEntry], release: String?) throws -> Bool {
        guard let candidate = try target.engine.container(target.new), candidate.state.running else { return false }
        return try target.healthWait(target.new, attempts: 3).healthy
    }
}

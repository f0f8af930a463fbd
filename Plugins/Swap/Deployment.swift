import BackupPlugin
import Foundation
import ImagePlugin
import SchemaPlugin
import TMEOpsCore
import TMEOpsDocker
import TMEOpsSSH
import TransferPlugin
import ValidatePlugin

/// A deploy that failed; `rolledBack` when production was put back (exit 4), else it never changed (exit 1).
public struct DeployError: OperatorError {
    public let message: String
    public let rolledBack: Bool
    public var description: String { message }
    public var exitStatus: ExitStatus { rolledBack ? .rolledBack : .failure }
}

/// Everything one environment's deploy needs: the config sections, the SSH connection to its host with
/// the engine and the remote state on it. One value per host, so a later multi-host deploy holds several.
public final class DeployTarget {
    public let context: CommandContext
    public let config: LoadedConfig
    public let environment: EnvironmentConfig
    public let app: AppContainerConfig
    public let health: HealthConfig
    public let deploy: DeployConfig
    public let testInstance: TestInstanceConfig?
    public let session: SSHSession
    public let engine: DockerEngine
    public let state: RemoteState

    public init(context: CommandContext, config: LoadedConfig, environment: EnvironmentConfig) throws {
        self.context = context
        self.config = config
        self.environment = environment
        app = try environment.require(AppContainerConfig.self, for: "deploying the app")
        health = environment.section(HealthConfig.self) ?? HealthConfig()
        deploy = try environment.section(DeployConfig.self) ?? DeployConfig(from: EmptyDecoder())
        testInstance = environment.section(TestInstanceConfig.self)
        (engine, session) = try DockerEngines.remote(environment, context: context)
        state = RemoteState(session: session, app: config.app)
    }

    public func close() { session.close() }

    public var out: Output { context.output }
    var old: String { "\(app.container)-old" }
    var new: String { "\(app.container)-new" }
    var test: String { "\(app.container)-test" }

    public func healthWait(_ container: String, attempts: Int? = nil, poll: TimeInterval? = nil) throws -> HealthWait.Outcome {
        try HealthWait.wait(
            engine: engine, session: session, container: container, network: app.network, health: health, attempts: attempts, poll: poll,
            log: { self.context.logger.info("\($0)") })
    }

    /// Puts the old container back as production: the new one (if any) is removed, `<name>-old` gets its
    /// name back and starts, and must pass the health gate.
    @discardableResult
    public func restoreOld() throws -> HealthWait.Outcome {
        if let current = try engine.container(app.container), try engine.container(old) != nil {
            try engine.removeContainer(current.id, force: true)
        }
        if try engine.container(old) != nil { try engine.renameContainer(old, to: app.container) }
        try AppContainers.removeIfPresent(engine, new)
        guard let details = try engine.container(app.container) else {
            throw TMEOpsError("neither \(app.container) nor \(old) exists on \(environment.name); production has no app container")
        }
        if !details.state.running { try engine.startContainer(app.container) }
        return try healthWait(app.container, poll: 0.05)
    }

    /// Replaces production with a container of `image`: created first, then the old one stopped and
    /// renamed `<name>-old`, the new one renamed and started, and the health gate; on failure the old one
    /// is restored. Returns the unavailability window (old stopped → new healthy).
    public func swap(image: String, release: String, journal: (String, [String: String]) throws -> Void) throws -> Double {
        guard let current = try engine.container(app.container) else { throw TMEOpsError("no container \(app.container) on \(environment.name)") }
        guard let imageDetails = try engine.image(image) else { throw TMEOpsError("no image \(image) in the engine of \(environment.name)") }
        try AppContainers.removeIfPresent(engine, new)
        try AppContainers.removeIfPresent(engine, old)
        let plan = AppContainers.Plan(
            name: new, image: image, release: release, publish: app.publish, network: app.network,
            aliases: AppContainers.aliases(of: current, network: app.network), test: false, testDatabase: nil)
        let newID = try engine.createContainer(
            name: new, spec: AppContainers.spec(plan, app: app, appName: config.app, image: imageDetails))
        try journal("created", ["old_id": current.id, "new_id": newID])
        FaultPoint.hit("swap.after-create", context)
        // Only the stop and the start are inside the window; the renames come after the health gate.
        let stopped = Date()
        if current.state.running { try engine.stopContainer(current.id, timeout: Int(app.stopTimeout.seconds.rounded(.up))) }
        FaultPoint.hit("swap.after-stop", context)
        do {
            try engine.startContainer(newID)
        } catch {
            try journal("start-failed", ["error": "\(error)"])
            try engine.removeContainer(newID, force: true)
            try engine.startContainer(current.id)
            let back = try healthWait(app.container, poll: 0.05)
            throw DeployError(
                message:
                    "the new container did not start (\(error)); the old one was started again (\(back.healthy ? "healthy" : "NOT healthy: \(back.detail)"))",
                rolledBack: true)
        }
        FaultPoint.hit("swap.after-start", context)
        // Production is down until this passes: poll every 50 ms within the usual budget.
        let outcome = try healthWait(new, poll: 0.05)
        if outcome.healthy {
            let window = Date().timeIntervalSince(stopped)
            try journal("healthy", ["window": String(format: "%.3f", window)])
            try engine.renameContainer(current.id, to: old)
            FaultPoint.hit("swap.after-rename", context)
            try engine.renameContainer(newID, to: app.container)
            try journal("renamed", [:])
            return window
        }
        let logs = (outcome.logTail ?? []).suffix(20).map { "    \($0)" }.joined(separator: "\n")
        try journal("unhealthy", ["detail": outcome.detail])
        try engine.removeContainer(newID, force: true)
        try engine.startContainer(current.id)
        let back = try healthWait(app.container, poll: 0.05)
        throw DeployError(
            message:
                "the new container failed its health gate (\(outcome.detail)); the old one was started again (\(back.healthy ? "healthy" : "NOT healthy: \(back.detail)"))"
                + (logs.isEmpty ? "" : "\n  its last log lines:\n\(logs)"),
            rolledBack: true)
    }

    /// Runs `hook` (.tmeops/hooks/NAME beside tmeops.yml) if it exists; a failing pre-hook aborts.
    public func runHook(_ name: String, release: String, image: String, previous: String?) throws {
        let path = config.url.deletingLastPathComponent().appendingPathComponent(".tmeops/hooks/\(name)").path
        guard FileManager.default.isExecutableFile(atPath: path) else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        var env = context.environment
        env["TMEOPS_RELEASE"] = release
        env["TMEOPS_ENV"] = environment.name
        env["TMEOPS_IMAGE"] = image
        env["TMEOPS_PREVIOUS_RELEASE"] = previous ?? ""
        process.environment = env
        process.currentDirectoryURL = config.url.deletingLastPathComponent()
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw DeployError(
                message: "hook .tmeops/hooks/\(name) failed (exit \(process.terminationStatus)); nothing in production was changed", rolledBack: false)
        }
    }
}

/// Decodes a config section from nothing, so its defaults apply when the section is absent.
struct EmptyDecoder: Decoder {
    var codingPath: [CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] = [:]
    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(EmptyContainer<Key>())
    }
    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch([Any].self, .init(codingPath: [], debugDescription: "empty"))
    }
    func singleValueContainer() throws -> SingleValueDecodingContainer {
        throw DecodingError.typeMismatch(Any.self, .init(codingPath: [], debugDescription: "empty"))
    }

    struct EmptyContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
        var codingPath: [CodingKey] = []
        var allKeys: [Key] = []
        func contains(_ key: Key) -> Bool { false }
        func decodeNil(forKey key: Key) throws -> Bool { true }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            throw DecodingError.keyNotFound(key, .init(codingPath: [], debugDescription: "empty"))
        }
        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            KeyedDecodingContainer(EmptyContainer<NestedKey>())
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
            throw DecodingError.keyNotFound(key, .init(codingPath: [], debugDescription: "empty"))
        }
        func superDecoder() throws -> Decoder { EmptyDecoder() }
        func superDecoder(forKey key: Key) throws -> Decoder { EmptyDecoder() }
    }
}

import Foundation
import Logging
import TMEOpsSSH

/// What a command is handed instead of reaching for globals: config, logger, output, flags, and the
/// factories that reach the outside world. Tests build one with their own sinks and environment.
public struct CommandContext: Sendable {
    public let options: GlobalOptions
    /// The process environment as the command sees it.
    public let environment: [String: String]
    /// The directory relative paths are resolved against.
    public let workingDirectory: URL
    public let logger: Logger
    public let output: Output
    /// Where diagnostics and prompts go (standard error).
    public let errorSink: TextSink
    public let redactor: Redactor
    public let registry: PluginRegistry
    public let services: ServiceFactories
    /// The connections this command has opened (one per host, shared by every part of the command that
    /// asks for them), closed when the command ends. Copies made by ``with(_:_:)`` share it.
    public let connections: ConnectionCache

    public init(
        options: GlobalOptions, environment: [String: String], workingDirectory: URL, logger: Logger,
        output: Output, errorSink: TextSink, redactor: Redactor, registry: PluginRegistry, services: ServiceFactories = .live,
        connections: ConnectionCache = ConnectionCache()
    ) {
        self.options = options
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.logger = logger
        self.output = output
        self.errorSink = errorSink
        self.redactor = redactor
        self.registry = registry
        self.services = services
        self.connections = connections
    }

    /// Where a long command's running account (steps, plans, per-host lines) goes: with the results on
    /// standard output, or on standard error with `--json`, so that standard output holds only JSON.
    public var progress: Output {
        guard options.json else { return output }
        return Output(sink: errorSink, redactor: redactor, json: false, color: false)
    }

    public var dryRun: Bool { options.dryRun }
    public var assumeYes: Bool { options.yes }
    public var json: Bool { options.json }

    /// The config path the operator chose: `--config`, else `$TMEOPS_CONFIG`, else `tmeops.yml`.
    public var configPath: String { options.config ?? environment["TMEOPS_CONFIG"] ?? "tmeops.yml" }

    /// The absolute config location.
    public var configURL: URL { ConfigLoader.resolve(configPath, in: workingDirectory) }

    /// The environment name the operator chose: `-e/--env`, else `$TMEOPS_ENV`.
    public var environmentName: String? {
        if let name = options.environment, !name.isEmpty { return name }
        if let name = environment["TMEOPS_ENV"], !name.isEmpty { return name }
        return nil
    }

    /// Loads and checks the config, decoding the selected environments.
    public func loadConfig(selecting selection: EnvironmentSelection? = nil) throws -> LoadedConfig {
        let loader = ConfigLoader(sections: registry.configSections, processEnvironment: environment, redactor: redactor)
        let chosen = selection ?? environmentName.map(EnvironmentSelection.named) ?? .none
        return try loader.load(path: configPath, relativeTo: workingDirectory, selecting: chosen)
    }

    /// The config and the environment this command acts on; a usage error when none was chosen.
    public func loadEnvironment() throws -> (config: LoadedConfig, environment: EnvironmentConfig) {
        guard let name = environmentName else {
            let config = try? loadConfig(selecting: EnvironmentSelection.none)
            let names = config.map { " Environments in \($0.displayPath): \($0.environmentNames.joined(separator: ", "))." } ?? ""
            throw TMEOpsError.usage("this command acts on one environment; pass -e NAME or set TMEOPS_ENV.\(names)")
        }
        let config = try loadConfig(selecting: .named(name))
        return (config, try config.environment(name))
    }

    /// Asks `question` on a terminal before a destructive step; with `--yes` it is not asked, and without a
    /// terminal (scripts, CI) the command is refused rather than left waiting.
    public func confirm(_ question: String) throws {
        if options.yes { return }
        guard isatty(0) == 1 else { throw TMEOpsError.usage("\(question) — pass --yes to confirm (standard input is not a terminal); nothing was changed") }
        errorSink.write("\(question) [y/N] ")
        guard let answer = readLine(), ["y", "yes"].contains(answer.lowercased()) else { throw TMEOpsError.usage("not confirmed; nothing was changed") }
    }

    /// A copy whose logger carries `key=value` on every line (e.g. the environment or the step).
    public func with(_ key: String, _ value: String) -> CommandContext {
        var logger = self.logger
        logger[metadataKey: key] = .string(value)
        return CommandContext(
            options: options, environment: environment, workingDirectory: workingDirectory, logger: logger,
            output: output, errorSink: errorSink, redactor: redactor, registry: registry, services: services,
            connections: connections)
    }
}

/// Factories for the connections commands need, one call per host so that a command can hold
/// several. Tests replace them.
public struct ServiceFactories: Sendable {
    /// Opens an SSH session (connect, verify the host key, authenticate).
    public var ssh: @Sendable (SSHConnectionOptions, Logger) throws -> SSHSession

    public init(ssh: @escaping @Sendable (SSHConnectionOptions, Logger) throws -> SSHSession) {
        self.ssh = ssh
    }

    /// The real connections.
    public static let live = ServiceFactories(ssh: { options, logger in try SSHSession(options, logger: logger) })
}

/// What one command has opened, by key (e.g. a host's SSH session), so that every part of the command
/// reuses it; closed in reverse order of opening when the command ends.
public final class ConnectionCache: @unchecked Sendable {
    private let lock = NSRecursiveLock()
    private var values: [String: Any] = [:]
    private var closers: [(key: String, close: () -> Void)] = []

    public init() {}

    /// The value kept under `key`, made (and its `close` kept for later) on first use. `make` runs
    /// outside the cache's lock, so several hosts can be reached at once; when two threads make the same
    /// key at once, the first kept wins and the other's is closed.
    public func value<Value>(_ key: String, make: () throws -> (Value, close: () -> Void)) rethrows -> Value {
        if let value = lock.withLock({ values[key] as? Value }) { return value }
        let (value, close) = try make()
        let kept: Value? = lock.withLock {
            if let existing = values[key] as? Value { return existing }
            values[key] = value
            closers.append((key, close))
            return nil
        }
        guard let kept else { return value }
        close()
        return kept
    }

    /// Forgets (and closes) what is kept under `key`, e.g. a session whose link dropped.
    public func discard(_ key: String) {
        let closer: (() -> Void)? = lock.withLock {
            values[key] = nil
            guard let index = closers.firstIndex(where: { $0.key == key }) else { return nil }
            return closers.remove(at: index).close
        }
        closer?()
    }

    /// Closes everything, newest first.
    public func closeAll() {
        let all: [(key: String, close: () -> Void)] = lock.withLock {
            defer {
                closers = []
                values = [:]
            }
            return closers
        }
        for entry in all.reversed() { entry.close() }
    }
}

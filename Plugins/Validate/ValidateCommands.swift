import ArgumentParser
import Foundation
import ImagePlugin
import SchemaPlugin
import TMEOpsCore
import TMEOpsDocker
import TMEOpsSSH

/// The library API of `tmeops validate`: the post-deploy checklist against one container.
public enum ValidationService {
    /// Docker's StartedAt (RFC 3339 with nanoseconds) as a Unix time.
    static func unixTime(_ text: String?) -> Int? {
        guard var text, !text.hasPrefix("0001") else { return nil }
        if let dot = text.firstIndex(of: "."), let zone = text[dot...].firstIndex(where: { $0 == "Z" || $0 == "+" || $0 == "-" }) {
            text.removeSubrange(dot..<zone)
        }
        return ISO8601DateFormatter().date(from: text).map { Int($0.timeIntervalSince1970) }
    }

    public static func run(
        _ environment: EnvironmentConfig, context: CommandContext, container: String? = nil, since: Int? = nil, healthAttempts: Int? = nil,
        connection shared: (engine: DockerEngine, session: SSHSession, database: DatabaseSession)? = nil
    ) throws -> [CheckResult] {
        let app = try environment.require(AppContainerConfig.self, for: "validating the app")
        let health = environment.section(HealthConfig.self) ?? HealthConfig()
        let config = environment.section(ValidateConfig.self) ?? ValidateConfig()
        let name = container ?? app.container
        var results: [CheckResult] = []
        // A deploy passes the connections it already holds; the command opens its own.
        let (engine, session) = try shared.map { ($0.engine, $0.session) } ?? DockerEngines.remote(environment, context: context)
        defer { if shared == nil { session.close() } }
        guard let details = try engine.container(name) else {
            return [CheckResult("container: running", ok: false, "no container \(name) on \(environment.name)")]
        }
        results.append(
            CheckResult(
                "container: running", ok: details.state.running,
                "\(name) is \(details.state.status) (image \(details.config.image)\(details.state.startedAt.map { ", started \($0.prefix(19))Z" } ?? ""))"))
        let outcome = try HealthWait.wait(
            engine: engine, session: session, container: name, network: app.network, health: health, attempts: healthAttempts ?? health.attempts,
            log: { context.logger.info("\($0)") })
        results.append(
            CheckResult(
                "health: \(health.path)", ok: outcome.healthy,
                outcome.healthy ? "\(outcome.detail) \(outcome.lastBody ?? "") (attempt \(outcome.attempts))" : outcome.detail, details: outcome.logTail ?? []))
        if let address = containerAddress(details, network: app.network) {
            results += Checks.smoke(config.smoke, session: session, address: address, port: health.port)
        }
        let from = since ?? unixTime(details.state.startedAt)
        results.append(try Checks.logScan(config.logErrors, engine: engine, container: name, since: from))
        do {
            let expected = try config.expectSchema.map { try SchemaSource.snapshot($0, context: context) }
            let database = try shared?.database ?? Databases.open(environment, context: context)
            defer { if shared == nil { database.close() } }
            results += try Checks.database(config, connection: database.connection, expected: expected, expectedName: config.expectSchema)
        } catch {
            results.append(CheckResult("database: reachable", ok: false, "\(error)"))
        }
        return results
    }

    public static func print(_ results: [CheckResult], title: String, output out: Output) {
        out.line(title)
        for result in results {
            out.line("  \(result.ok ? out.green("✓") : out.red("✗")) \(result.name): \(result.evidence)")
            for detail in result.details.prefix(50) { out.line("      \(detail)") }
        }
        let failed = results.filter { !$0.ok }.count
        out.line(failed == 0 ? "\(out.green("✓")) all \(results.count) checks passed" : "\(out.red("✗")) \(failed) of \(results.count) checks failed")
    }
}

/// `tmeops validate`: the post-deploy checklist, or `validate health` alone.
public struct ValidateCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Run health, smoke, log and database checks against an environment; exit 3 on any failure.",
        subcommands: [ValidateAllCommand.self, ValidateHealthCommand.self], defaultSubcommand: ValidateAllCommand.self)

    public init() {}
}

/// `tmeops validate -e ENV`.
public struct ValidateAllCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "all",
        abstract: "The post-deploy checklist: container, health, smoke checks, log patterns, database.",
        discussion: """
            Everything reaches the host through one SSH connection: the health endpoint and smoke checks \
            through a direct-tcpip channel to the container's address, logs through the Engine API, the \
            database through a forward. Each line shows ✓ or ✗ with its evidence; exit 3 on any ✗.

            Examples:
              tmeops validate -e production
              tmeops validate -e production --since 15m --json
            """)

    @OptionGroup public var globals: GlobalOptions

    @Option(help: "Scan logs since this time: a Unix time, an RFC 3339 time or a duration back (15m); default: the container's start.")
    public var since: String?

    @Option(help: "Check this container instead of app.container (e.g. a test instance).")
    public var container: String?

    public init() {}

    public func validate() throws {
        if let since, LogTime.parse(since) == nil { throw ValidationError("--since \(since): expected a Unix time, an RFC 3339 time or a duration like 15m") }
    }

    public func run(_ context: CommandContext) async throws {
        let (_, environment) = try context.loadEnvironment()
        let (since, container) = (self.since.flatMap { LogTime.parse($0) }, self.container)
        let results = try await runBlocking("validate") { try ValidationService.run(environment, context: context, container: container, since: since) }
        if context.json {
            try context.output.writeJSON(results)
        } else {
            ValidationService.print(results, title: "validate \(environment.name):", output: context.output)
        }
        if results.contains(where: { !$0.ok }) { throw ExitCode(ExitStatus.checkFailed.rawValue) }
    }
}

/// `tmeops validate health -e ENV`.
public struct ValidateHealthCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Wait for a container's health endpoint (attempts × interval); stop early if it exits.",
        discussion: """
            Examples:
              tmeops validate health -e production
              tmeops validate health -e production --container tme-user-app-1-test --attempts 5
            """)

    @OptionGroup public var globals: GlobalOptions

    @Option(help: "The container (default: app.container).")
    public var container: String?

    @Option(help: "Attempts (default: health.attempts).")
    public var attempts: Int?

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let (_, environment) = try context.loadEnvironment()
        let app = try environment.require(AppContainerConfig.self, for: "validating the app")
        let health = environment.section(HealthConfig.self) ?? HealthConfig()
        let (name, attempts) = (container ?? app.container, self.attempts)
        let outcome = try await runBlocking("validate health") { () -> HealthWait.Outcome in
            let (engine, session) = try DockerEngines.remote(environment, context: context)
            defer { session.close() }
            return try HealthWait.wait(
                engine: engine, session: session, container: name, network: app.network, health: health, attempts: attempts,
                log: { context.logger.info("\($0)") })
        }
        let out = context.output
        if context.json {
            try out.writeJSON(outcome)
        } else if outcome.healthy {
            out.line(
                "\(out.green("✓")) \(name) is healthy: \(outcome.detail) after \(outcome.attempts) attempt\(outcome.attempts == 1 ? "" : "s") (\(String(format: "%.1f", outcome.seconds)) s)"
            )
        } else {
            out.line("\(out.red("✗")) \(name) is not healthy: \(outcome.detail)")
            if let tail = outcome.logTail, !tail.isEmpty {
                out.line("  its last \(tail.count) log lines:")
                for line in tail { out.line("    \(line)") }
            }
        }
        if !outcome.healthy { throw ExitCode(ExitStatus.checkFailed.rawValue) }
    }
}

/// `tmeops logs -e ENV`.
public struct LogsCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Show container logs through the Engine API, optionally only the configured error patterns.",
        discussion: """
            Examples:
              tmeops logs -e production --tail 100
              tmeops logs -e production --errors --since 1h
              tmeops logs -e production --follow
            """)

    @OptionGroup public var globals: GlobalOptions

    @Flag(help: "Only lines matching validate.log_errors.")
    public var errors = false

    @Option(help: "Since a Unix time, an RFC 3339 time or a duration back (15m).")
    public var since: String?

    @Option(help: "Only the last N lines.")
    public var tail: Int?

    @Flag(help: "Keep printing new lines until interrupted.")
    public var follow = false

    @Option(help: "The container (default: app.container).")
    public var container: String?

    public init() {}

    public func validate() throws {
        if let since, LogTime.parse(since) == nil { throw ValidationError("--since \(since): expected a Unix time, an RFC 3339 time or a duration like 15m") }
    }

    public func run(_ context: CommandContext) async throws {
        let (_, environment) = try context.loadEnvironment()
        let app = try environment.require(AppContainerConfig.self, for: "reading the app's logs")
        let patterns = errors ? (environment.section(ValidateConfig.self)?.logErrors ?? []) : []
        if errors && patterns.isEmpty { throw TMEOpsError.usage("--errors needs patterns in environments.\(environment.name).validate.log_errors") }
        let (name, since, tail, follow) = (container ?? app.container, self.since.flatMap { LogTime.parse($0) }, self.tail, self.follow)
        let sink = context.output.sink
        try await runBlocking("logs") {
            let (engine, session) = try DockerEngines.remote(environment, context: context)
            defer { session.close() }
            var pending = ""
            try engine.logs(name, since: since, tail: tail, follow: follow) { _, data in
                pending += String(decoding: data, as: UTF8.self)
                while let newline = pending.firstIndex(of: "\n") {
                    let line = String(pending[..<newline])
                    pending = String(pending[pending.index(after: newline)...])
                    if patterns.isEmpty || patterns.contains(where: { $0.matches(line) }) { sink.write(line + "\n") }
                }
            }
            if !pending.isEmpty, patterns.isEmpty || patterns.contains(where: { $0.matches(pending) }) { sink.write(pending + "\n") }
        }
    }
}

import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import TMEOpsSSH

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

    @Option(help: "On an environment of several hosts, check only this one (default: each host, a section per host).")
    public var host: String?

    public init() {}

    public func validate() throws {
        if let since, LogTime.parse(since) == nil { throw ValidationError("--since \(since): expected a Unix time, an RFC 3339 time or a duration like 15m") }
    }

    /// One host's results, as `--json` prints them for an environment of several hosts.
    struct HostResults: Encodable {
        let host: String
        let results: [CheckResult]
    }

    public func run(_ context: CommandContext) async throws {
        let (_, environment) = try context.loadEnvironment()
        let (since, container) = (self.since.flatMap { LogTime.parse($0) }, self.container)
        let hosts = try RemoteHost.hosts(host, in: environment)
        guard hosts.count > 1 || host != nil else {
            let results = try await runBlocking("validate") { try ValidationService.run(environment, context: context, container: container, since: since) }
            if context.json {
                try context.output.writeJSON(results)
            } else {
                ValidationService.print(results, title: "validate \(environment.name):", output: context.output)
            }
            if results.contains(where: { !$0.ok }) { throw ExitCode(ExitStatus.checkFailed.rawValue) }
            return
        }
        // Every host at once, each on its own connection; printed in ssh.hosts order.
        let outcomes = try await runBlocking("validate") {
            OnEachHost.map(hosts) { name in
                try ValidationService.run(environment, context: context, container: container, since: since, host: .named(name))
            }
        }
        let results = zip(hosts, outcomes).map { name, outcome in
            HostResults(
                host: name,
                results: (try? outcome.get()) ?? [CheckResult("host: reachable", ok: false, context.redactor.redact(outcome.failureText ?? ""))])
        }
        if context.json {
            try context.output.writeJSON(results)
        } else {
            for entry in results {
                ValidationService.print(entry.results, title: "validate \(environment.name) on \(entry.host):", output: context.output)
            }
        }
        if results.contains(where: { $0.results.contains { !$0.ok } }) { throw ExitCode(ExitStatus.checkFailed.rawValue) }
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

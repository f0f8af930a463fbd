import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
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
        host: RemoteHost.Choice = .only, connection shared: (engine: DockerEngine, session: SSHSession, database: DatabaseSession)? = nil
    ) throws -> [CheckResult] {
        let app = try environment.require(AppContainerConfig.self, for: "validating the app")
        let health = environment.section(HealthConfig.self) ?? HealthConfig()
        let config = environment.section(ValidateConfig.self) ?? ValidateConfig()
        let name = container ?? app.container
        var results: [CheckResult] = []
        // A deploy passes the connections it already holds; the command opens its own.
        let (engine, session) = try shared.map { ($0.engine, $0.session) } ?? DockerEngines.remote(environment, host, context: context)
        defer { if shared == nil { session.close() } }
        // A swarm environment's app runs as its service's tasks: each one on this host is checked.
        let plain = try engine.container(name)
        let tasks = container == nil && plain == nil ? try engine.swarmTaskContainers(environment: environment.name) : []
        if container == nil && plain == nil && tasks.isEmpty, try engine.swarmState().inSwarm {
            // Swarm places the replicas: a node may run none of them.
            return [CheckResult("tasks on this node", ok: true, "none: Swarm runs the app's tasks on the other nodes")]
        }
        for (task, prefix) in tasks.isEmpty ? [(name, "")] : tasks.map({ ($0, "\($0): ") }) {
            guard let details = try engine.container(task) else {
                return [CheckResult("container: running", ok: false, "no container \(name) on \(environment.name)")]
            }
            results += try checks(
                task, details, app: app, health: health, config: config, engine: engine, session: session, since: since, healthAttempts: healthAttempts,
                context: context
            )
            .map { CheckResult(prefix + $0.name, ok: $0.ok, $0.evidence, details: $0.details) }
        }
        do {
            let database = try shared?.database ?? Databases.open(environment, context: context)
            defer { if shared == nil { database.close() } }
            let check = context.registry.service(SchemaDriftCheck.self)
            let drift = try config.expectSchema.flatMap { expected in try check?.differences(database.connection, expected: expected, context: context) }
            results += try Checks.database(config, connection: database.connection, drift: drift, expectedName: config.expectSchema)
            if config.expectSchema != nil && check == nil {
                results.append(CheckResult("schema: no drift", ok: false, "validate.expect_schema needs the schema plugin, which this build of tmeops lacks"))
            }
        } catch {
            results.append(CheckResult("database: reachable", ok: false, "\(error)"))
        }
        return results
    }

    /// The checks of one app container: running, health, smoke checks, log scan.
    static func checks(
        _ name: String, _ details: ContainerDetails, app: AppContainerConfig, health: HealthConfig, config: ValidateConfig, engine: DockerEngine,
        session: SSHSession, since: Int?, healthAttempts: Int?, context: CommandContext
    ) throws -> [CheckResult] {
        var results: [CheckResult] = []
        results.append(
            CheckResult(
                "container: running", ok: details.state.running,
                "\(name) is \(details.state.status) (image \(details.config.image)\(details.state.startedAt.map { ", started \($0.prefix(19))Z" } ?? ""))"))
        if details.config.labels?["com.docker.swarm.task.id"] != nil {
            // A swarm task lives on the overlay network, which the host cannot reach: its own health
            // check says whether it is healthy, and the smoke checks go through this node's front door.
            let status = try engine.containerDocument(name)?["State"]?["Health"]?["Status"]?.string
            results.append(CheckResult("health: its health check", ok: status == "healthy", "Docker reports it \(status ?? "without a health check")"))
            if let port = app.publish.first?.hostPort {
                results += Checks.smoke(config.smoke, session: session, address: session.options.host, port: port).map {
                    CheckResult("front door \($0.name)", ok: $0.ok, $0.evidence, details: $0.details)
                }
            }
            results.append(try Checks.logScan(config.logErrors, engine: engine, container: name, since: since ?? unixTime(details.state.startedAt)))
            return results
        }
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

import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts

/// `tmeops cluster up|status|down -e ENV`: the swarm an environment with `deploy.strategy: swarm` runs on.
public struct ClusterCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "cluster", abstract: "Form, show or dissolve the Docker Swarm of an environment's hosts.",
        subcommands: [ClusterUpCommand.self, ClusterStatusCommand.self, ClusterDownCommand.self])

    public init() {}
}

public struct ClusterUpCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "up", abstract: "Initialise Swarm on swarm.manager, join the other hosts, create the overlay network.",
        discussion: """
            Idempotent: a swarm, a member or a network already in place is left as it is. The join token is \
            read from the manager's Engine API over SSH and handed to each host's engine; it is never printed \
            or logged. A host that belongs to another swarm is refused, and nothing is changed. The database \
            container (database.container) is attached to the overlay network, so the app's tasks reach it by name.

            Examples:
              tmeops cluster up -e production
              tmeops cluster up -e production --json
            """)

    @OptionGroup public var globals: GlobalOptions

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let (_, environment) = try context.loadEnvironment()
        let report = try await runBlocking("cluster up") { () -> SwarmCluster.UpReport in
            let cluster = try SwarmCluster(environment, context: context)
            return try cluster.up()
        }
        if context.json { return try context.output.writeJSON(report) }
        let out = context.output
        let changed = report.initialized || !report.joined.isEmpty || report.networkCreated || report.databaseAttached != nil
        out.line(
            "\(out.green("✓")) the swarm of \(environment.name) is up\(changed ? "" : " (it already was: nothing changed)")"
                + (report.alreadyMembers.isEmpty ? "" : "; already members: \(report.alreadyMembers.joined(separator: ", "))"))
    }
}

public struct ClusterStatusCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "status", abstract: "The swarm's nodes (state, availability, engine) and the app's tasks per node.",
        discussion: """
            Examples:
              tmeops cluster status -e production
              tmeops cluster status -e production --json
            """)

    @OptionGroup public var globals: GlobalOptions

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let (_, environment) = try context.loadEnvironment()
        let status = try await runBlocking("cluster status") { try SwarmCluster(environment, context: context).status() }
        if context.json { return try context.output.writeJSON(status) }
        let out = context.output
        out.line(out.bold("nodes (through \(status.manager))"))
        for node in status.nodes {
            let role = node.role == "manager" ? (node.leader ? "manager (leader)" : "manager") : node.role
            let mark = node.state == "ready" && node.availability == "active" ? out.green("✓") : out.red("✗")
            out.line(
                "  \(mark) \(node.address.padding(toLength: 16, withPad: " ", startingAt: 0)) \(node.hostname)  \(role), \(node.state), \(node.availability), engine \(node.engine)"
            )
        }
        let config = try SwarmConfig.of(environment)
        for service in [config.service, config.frontService] {
            let tasks = status.tasks.filter { $0.service == service }
            guard !tasks.isEmpty else {
                out.line(out.bold(service) + ": no service (the first deploy creates it)")
                continue
            }
            let header = service == config.service ? "\(service): release \(status.release ?? "?"), update \(status.update ?? "none")" : service
            out.line(out.bold(header))
            for task in tasks {
                let mark = task.state == "running" ? out.green("✓") : out.red("✗")
                out.line(
                    "  \(mark) \(task.slot.map { "#\($0) " } ?? "")on \(task.node): \(task.state) (desired \(task.desired))\(task.release.map { ", \($0)" } ?? "")\(task.error.map { ": \($0)" } ?? "")"
                )
            }
        }
    }
}

public struct ClusterDownCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "down", abstract: "Every host leaves the swarm (its services, secrets and overlay network go with it).",
        discussion: """
            The app's service and its front door stop on every node: users lose the app until it runs \
            again as plain containers or in a new swarm. Asks for --yes.

            Examples:
              tmeops cluster down -e staging --yes
            """)

    @OptionGroup public var globals: GlobalOptions

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let (config, environment) = try context.loadEnvironment()
        guard globals.yes else {
            throw TMEOpsError.usage(
                "cluster down makes every host of \(environment.name) leave its swarm, stopping the app's service and front door; pass --yes to do it. Nothing was changed."
            )
        }
        let left = try await runBlocking("cluster down") { () -> [String] in
            // The deploy lock, as a deploy holds it, on the host that keeps it (the first): no deploy,
            // rollback or recover runs while the swarm goes, and none left half done is cut short.
            guard let lead = try context.connectedHosts(environment).first else { return [] }
            let state = try lead.state(app: config.app)
            let lock = try state.acquire(message: "cluster down", ttl: RemoteState.defaultLockTTL, force: false, context: context)
            defer { do { try state.release(token: lock.token) } catch { context.logger.warning("\(error)") } }
            if let open = try state.journal().last {
                throw TMEOpsError(
                    "a deploy of \(environment.name) did not finish (its journal on \(lead.name) ends at \(open.step) \(open.phase) of \(open.release)): run `tmeops recover -e \(environment.name)` first; nothing was changed"
                )
            }
            do {
                let left = try SwarmCluster(environment, context: context).down()
                state.audit(
                    action: "cluster down", environment: environment.name, release: nil, outcome: "done",
                    detail: left.isEmpty ? "no host was in a swarm" : "left the swarm: \(left.joined(separator: ", "))", context: context)
                return left
            } catch {
                state.audit(action: "cluster down", environment: environment.name, release: nil, outcome: "failed", detail: "\(error)", context: context)
                throw error
            }
        }
        if context.json { return try context.output.writeJSON(["left": left]) }
        context.output.line(
            "\(context.output.green("✓")) \(left.isEmpty ? "no host of \(environment.name) was in a swarm" : "left the swarm: \(left.joined(separator: ", "))")"
        )
    }
}

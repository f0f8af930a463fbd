import Foundation
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts

/// An environment's swarm, reached through the hosts of `ssh.hosts`: the manager's engine answers for
/// the swarm, each host's own engine for its node. `cluster up/status/down` and the swarm deploy use it.
public final class SwarmCluster: @unchecked Sendable {
    public let environment: EnvironmentConfig
    public let config: SwarmConfig
    public let hosts: [EnvironmentHost]
    let context: CommandContext

    /// The environment's hosts, each SSH session opened at once (an unreachable host is named before
    /// anything is done).
    public init(_ environment: EnvironmentConfig, context: CommandContext) throws {
        self.environment = environment
        config = try SwarmConfig.of(environment)
        hosts = try context.connectedHosts(environment)
        self.context = context
    }

    var out: Output { context.output }
    public var manager: EnvironmentHost { hosts.first { $0.name == config.manager } ?? hosts[0] }

    /// The manager's engine, once it is checked to be a manager of an active swarm.
    public func managerEngine() throws -> DockerEngine {
        let engine = try manager.engine()
        let state = try engine.swarmState()
        guard state.inSwarm else {
            throw TMEOpsError.usage(
                "swarm.manager \(config.manager) is not in a swarm (its engine says \(state.state)); run `tmeops cluster up -e \(environment.name)` first")
        }
        guard state.isManager else {
            throw TMEOpsError.usage(
                "swarm.manager \(config.manager) is a worker of its swarm, not a manager; name a manager in swarm.manager (see `tmeops cluster status -e \(environment.name)`)"
            )
        }
        return engine
    }

    // MARK: up

    /// What `cluster up` did, step by step (nothing when everything was in place).
    public struct UpReport: Codable, Sendable, Equatable {
        public var initialized: Bool = false
        public var joined: [String] = []
        public var alreadyMembers: [String] = []
        public var networkCreated: Bool = false
        public var databaseAttached: String?
    }

    /// Initialises Swarm on the manager unless it runs one, joins every other host, creates the overlay
    /// network and attaches the database container to it. Idempotent: what is in place is left as it is.
    /// A host in another swarm is refused (never taken out of it), before anything changes.
    public func up() throws -> UpReport {
        var report = UpReport()
        let managerHost = manager
        let managerEngine = try managerHost.engine()
        var managerState = try managerEngine.swarmState()
        // Every host's state first: a host that belongs to another swarm stops it all before a change.
        var states: [String: SwarmNodeState] = [:]
        for host in hosts where host !== managerHost { states[host.name] = try host.engine().swarmState() }
        if managerState.inSwarm && !managerState.isManager {
            throw TMEOpsError.usage(
                "\(config.manager) is a worker of a swarm, not a manager; set swarm.manager to one of its managers, or let it leave that swarm first")
        }
        // A worker does not know its swarm's ID; the manager's node list says whether it is one of its own.
        let members = managerState.inSwarm && managerState.isManager ? Set(try managerEngine.nodes().compactMap { $0["ID"]?.string }) : []
        for (name, state) in states where state.inSwarm && managerState.inSwarm && !members.contains(state.nodeID) {
            throw TMEOpsError(
                "\(name) belongs to another swarm than \(config.manager)'s; tmeops does not take a host out of a swarm it did not make: run `docker swarm leave` there first. Nothing was changed."
            )
        }
        for (name, state) in states where state.inSwarm && !managerState.inSwarm {
            throw TMEOpsError(
                "\(name) is already in a swarm, and swarm.manager \(config.manager) is not; name one of that swarm's managers in swarm.manager, or run `docker swarm leave` on \(name). Nothing was changed."
            )
        }
        // An engine out of any swarm whose gossip port is taken (most often by itself, after it left a
        // swarm) would join without its network agent: refused before anything changes.
        let joining = hosts.filter { $0 === managerHost ? !managerState.inSwarm : states[$0.name]?.inSwarm != true }
        let held = try joining.filter { try $0.listeningPorts().contains(Self.gossipPort) }.map(\.name)
        if !held.isEmpty {
            let names = held.joined(separator: ", ")
            throw TMEOpsError(
                "port \(Self.gossipPort) is taken on \(names), which \(held.count == 1 ? "is" : "are") in no swarm: Docker's network agent needs it (the gossip that gives tasks each other's addresses and names), so a join would leave \(held.count == 1 ? "that node" : "those nodes") without it. A Docker engine that left a swarm can keep the port; restart Docker on \(names) (`systemctl restart docker`), or stop what listens there, then run `tmeops cluster up -e \(environment.name)` again. Nothing was changed."
            )
        }
        if !managerState.inSwarm {
            out.line("initialising Swarm on \(config.manager)")
            _ = try managerEngine.initSwarm(advertise: Self.advertise(config.manager))
            managerState = try managerEngine.swarmState()
            report.initialized = true
        }
        // The join token is a secret: read here, handed to each engine's join, never printed or logged.
        let token = try managerEngine.swarm()["JoinTokens"]?["Worker"]?.string ?? ""
        guard !token.isEmpty else { throw TMEOpsError("the manager \(config.manager) gave no worker join token") }
        context.redactor.add(token)
        for host in hosts where host !== managerHost {
            if states[host.name]?.inSwarm == true {
                report.alreadyMembers.append(host.name)
                continue
            }
            out.line("joining \(host.name) to the swarm")
            try host.engine().joinSwarm(manager: "\(config.manager):2377", advertise: Self.advertise(host.name), token: token)
            report.joined.append(host.name)
        }
        try waitForNodes(managerEngine)
        try requireNetworkAgents(managerEngine, wait: 15)
        if try managerEngine.network(config.network) == nil {
            out.line("creating the overlay network \(config.network)")
            try managerEngine.createOverlayNetwork(config.network, labels: ["tmeops.environment": environment.name])
            report.networkCreated = true
        }
        report.databaseAttached = try attachDatabase()
        return report
    }

    /// The address a node advertises: the host's name when it is an IP address; for a DNS name, empty,
    /// so that the engine picks its own (Docker accepts only an address or an interface there).
    static func advertise(_ name: String) -> String {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, name, &v4) == 1 || inet_pton(AF_INET6, name, &v6) == 1 ? name : ""
    }

    /// Waits until every host is a ready node (a node that just joined takes a moment).
    func waitForNodes(_ managerEngine: DockerEngine, timeout: Double = 60) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let nodes = try managerEngine.nodes()
            let ready = nodes.filter { $0["Status"]?["State"]?.string == "ready" }.count
            if ready >= hosts.count { return }
            guard Date() < deadline else {
                throw TMEOpsError(
                    "only \(ready) of \(hosts.count) nodes of \(environment.name)'s swarm are ready after \(Int(timeout)) s; see `tmeops cluster status -e \(environment.name)`"
                )
            }
            Thread.sleep(forTimeInterval: 0.5)
        }
    }

    /// The port of Docker's network agent (its gossip between nodes, TCP and UDP).
    public static let gossipPort = 7946

    /// Docker's network agent on every node: the gossip (port 7946) that carries the overlay networks'
    /// addresses and the names tasks resolve at 127.0.0.11. A node whose agent did not start is ready in
    /// the swarm and runs tasks, but they resolve and reach nothing: a front door there answers 502.
    /// Docker 20.10 leaves a node so when, after it left a swarm, its engine still holds the gossip port
    /// (its log: "error in agentInit ... port 7946: address already in use"); only restarting that
    /// engine frees it. The swarm's `ingress` network lists every node whose agent runs as a peer:
    /// waits up to `wait` seconds for all, then names those missing. Without an `ingress` network
    /// (an operator may remove it) nothing can be told and nothing is refused.
    public func requireNetworkAgents(_ managerEngine: DockerEngine, wait: Double) throws {
        let ids = try hosts.map { ($0.name, try $0.engine().swarmState().nodeID) }
        let deadline = Date().addingTimeInterval(wait)
        while true {
            guard let peers = try managerEngine.networkPeers("ingress") else { return }
            let missing = Self.withoutNetworkAgent(hosts: ids, nodes: try managerEngine.nodes(), peers: peers)
            if missing.isEmpty { return }
            guard Date() < deadline else {
                let names = missing.joined(separator: ", ")
                throw TMEOpsError(
                    "Docker's network agent does not run on \(names): \(missing.count == 1 ? "it is" : "they are") in the swarm of \(environment.name), but no peer of its networks, so tasks there can neither resolve nor reach the others (a front door there would answer 502). A Docker engine that left a swarm can keep its gossip port \(Self.gossipPort) and fail so on its next join (its log says \"error in agentInit\"). Restart Docker on \(names) (`systemctl restart docker`), then run `tmeops cluster up -e \(environment.name)` again."
                )
            }
            Thread.sleep(forTimeInterval: 0.5)
        }
    }

    /// The hosts (name, node ID) whose node address is not among `peers`. A manager may report its
    /// node address as 0.0.0.0; its manager address says where it is then.
    public static func withoutNetworkAgent(hosts: [(name: String, nodeID: String)], nodes: [JSONValue], peers: [String]) -> [String] {
        let present = Set(peers)
        return hosts.filter { host in
            guard let node = nodes.first(where: { $0["ID"]?.string == host.nodeID }) else { return false }
            var address = node["Status"]?["Addr"]?.string ?? ""
            if address.isEmpty || address == "0.0.0.0", let manager = node["ManagerStatus"]?["Addr"]?.string {
                address = manager.split(separator: ":").dropLast().joined(separator: ":")
            }
            return !present.contains(address)
        }.map(\.name)
    }

    /// Connects the database container (database.container on its host) to the overlay network, so
    /// tasks reach it by name; returns its name when it was connected now.
    func attachDatabase() throws -> String? {
        guard let database = environment.section(DatabaseConfig.self), let container = database.container,
            let host = try context.databaseHost(environment), let dbHost = hosts.first(where: { $0.name == host.name })
        else { return nil }
        let engine = try dbHost.engine()
        guard let details = try engine.containerDocument(container) else { return nil }
        if details["NetworkSettings"]?["Networks"]?[config.network] != nil { return nil }
        out.line("attaching \(container) on \(dbHost.name) to \(config.network)")
        try engine.connect(container, toNetwork: config.network)
        return container
    }

    // MARK: status

    public struct Node: Codable, Sendable, Equatable {
        public var id: String
        public var hostname: String
        public var address: String
        public var role: String
        public var leader: Bool
        public var state: String
        public var availability: String
        public var engine: String
    }

    public struct Task: Codable, Sendable, Equatable {
        public var service: String
        public var slot: Int?
        public var node: String
        public var state: String
        public var desired: String
        public var release: String?
        public var error: String?
        public var container: String?
    }

    public struct Status: Codable, Sendable, Equatable {
        public var manager: String
        public var nodes: [Node]
        public var tasks: [Task]
        /// The app service's update state (`updating`, `completed`, `rollback_completed`, …).
        public var update: String?
        public var release: String?
    }

    public func status() throws -> Status {
        let engine = try managerEngine()
        let nodes = try engine.nodes().map { node in
            Node(
                id: node["ID"]?.string ?? "", hostname: node["Description"]?["Hostname"]?.string ?? "", address: node["Status"]?["Addr"]?.string ?? "",
                role: node["Spec"]?["Role"]?.string ?? "", leader: node["ManagerStatus"]?["Leader"]?.bool ?? false,
                state: node["Status"]?["State"]?.string ?? "", availability: node["Spec"]?["Availability"]?.string ?? "",
                engine: node["Description"]?["Engine"]?["EngineVersion"]?.string ?? "")
        }
        let names = Dictionary(nodes.map { ($0.id, $0.address.isEmpty ? $0.hostname : $0.address) }, uniquingKeysWith: { a, _ in a })
        var tasks: [Task] = []
        for service in [config.service, config.frontService] {
            guard try engine.service(service) != nil else { continue }
            for task in try engine.tasks(filters: ["service": [service]]) {
                tasks.append(Self.task(task, service: service, nodes: names))
            }
        }
        tasks.sort { ($0.service, $0.slot ?? 0, $0.node) < ($1.service, $1.slot ?? 0, $1.node) }
        let app = try engine.service(config.service)
        return Status(
            manager: config.manager, nodes: nodes, tasks: tasks.filter { $0.desired == "running" || $0.state == "running" },
            update: app?["UpdateStatus"]?["State"]?.string, release: app?["Spec"]?["Labels"]?["tmeops.release"]?.string)
    }

    static func task(_ task: JSONValue, service: String, nodes: [String: String]) -> Task {
        let node = task["NodeID"]?.string ?? ""
        return Task(
            service: service, slot: task["Slot"]?.number.map { Int($0) }, node: nodes[node] ?? String(node.prefix(12)),
            state: task["Status"]?["State"]?.string ?? "", desired: task["DesiredState"]?.string ?? "",
            release: task["Spec"]?["ContainerSpec"]?["Labels"]?["tmeops.release"]?.string, error: task["Status"]?["Err"]?.string,
            container: task["Status"]?["ContainerStatus"]?["ContainerID"]?.string.map { String($0.prefix(12)) })
    }

    // MARK: down

    /// Every host leaves the swarm (workers first, then the manager, which takes the services, secrets
    /// and overlay network with it); the database container is disconnected from the network first.
    public func down() throws -> [String] {
        var left: [String] = []
        if let database = environment.section(DatabaseConfig.self), let container = database.container,
            let dbHost = try context.databaseHost(environment), let host = hosts.first(where: { $0.name == dbHost.name })
        {
            let engine = try host.engine()
            if try engine.containerDocument(container)?["NetworkSettings"]?["Networks"]?[config.network] != nil {
                try engine.disconnect(container, fromNetwork: config.network, force: true)
            }
        }
        let managerHost = manager
        for host in hosts.filter({ $0 !== managerHost }) + [managerHost] {
            let engine = try host.engine()
            guard try engine.swarmState().state != "inactive" else { continue }
            out.line("\(host.name) leaves the swarm")
            try engine.leaveSwarm(force: host === managerHost)
            left.append(host.name)
        }
        return left
    }
}

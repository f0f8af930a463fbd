import Foundation
import SchemaPlugin
import SwarmPlugin
import TMEOpsCore
import TMEOpsCrypto
import TMEOpsDocker
import TMEOpsHosts
import ValidatePlugin

/// `deploy.strategy: swarm`: the rollout is handed to Docker Swarm. tmeops keeps the backup, the tested
/// migrations, the test instance, the journal and the ledger; the swap step creates or updates the app's
/// service (the image by ID, the env file as a secret, a health check from `health`, the update policy
/// from `swarm.update`) and follows Swarm's update task by task (see `DeployPipeline.swarmSwap`).
public struct SwarmStrategy: DeployStrategy {
    public static let name = "swarm"

    public init() {}

    public func describeSwap(_ target: DeployTarget, image: String) -> String {
        guard let swarm = target.environment.section(SwarmConfig.self) else { return "swap: (no swarm section)" }
        let replicas = swarm.replicaCount(hosts: target.environment.section(SSHConfig.self)?.hosts.count ?? 1)
        return
            "swap: service \(swarm.service) (\(replicas) replicas) updated to \(image) by Swarm (\(swarm.update.order), \(swarm.update.parallelism) at a time, "
            + "health-gated, failure: \(swarm.update.failureAction)), through the manager \(swarm.manager)"
            + (swarm.front == .proxy ? "; front door \(swarm.frontService) on every node" : "")
    }

    public func configProblem(_ target: DeployTarget) -> String? {
        guard target.environment.section(SwarmConfig.self) != nil else {
            return
                "environments.\(target.environment.name).deploy.strategy is swarm, and the environment has no swarm section (swarm.manager: one of ssh.hosts)"
        }
        return nil
    }

    static func unsupported(_ what: String, _ target: DeployTarget) -> DeployError {
        DeployError(
            message:
                "\(what) is not available for environments with deploy.strategy swarm (\(target.environment.name)); Swarm keeps the previous spec: `docker service rollback` on the manager returns to it",
            production: .unchanged)
    }

    public func swap(_ target: DeployTarget, image: String, release: String, journal: (String, [String: String]) throws -> Void) throws -> Double {
        throw Self.unsupported("a container swap", target)
    }

    public func putBack(_ target: DeployTarget) throws -> HealthWait.Outcome { throw Self.unsupported("putting a container back", target) }

    public func interruptedSwapServes(_ target: DeployTarget, journal: [RemoteState.JournalEntry], release: String?) throws -> Bool { false }
}

/// The deploy's swap and validation on a swarm.
extension DeployPipeline {
    var swarmMode: Bool { target.strategy is SwarmStrategy }

    /// Preflight's swarm part: the manager manages an active swarm in which every host is a ready node,
    /// and the env file can become a secret (every key exportable by the wrapper's shell).
    func preflightSwarm() throws {
        let cluster = try SwarmCluster(target.environment, context: context)
        let engine = try cluster.managerEngine()
        try swarmRelease.settleEnvFormat(engine)
        let nodes = try engine.nodes()
        for host in hosts {
            let node = try swarmRelease.node(of: host, in: nodes)
            guard let node, node["Status"]?["State"]?.string == "ready", node["Spec"]?["Availability"]?.string == "active" else {
                throw DeployError(
                    message:
                        "\(host.host.name) is \(nodes.isEmpty ? "not" : "not a ready, active node") in the swarm of \(env)\(nodeState(node)); run `tmeops cluster up -e \(env)` (or make the node available) first",
                    production: .unchanged)
            }
        }
        do {
            try cluster.requireNetworkAgents(engine, wait: 5)
        } catch let error as TMEOpsError {
            throw DeployError(message: error.message + " Nothing was changed.", production: .unchanged)
        }
        if swarmConfig.front == .none, try engine.service(swarmConfig.service) == nil {
            for host in hosts where try host.engine.container(host.app.container)?.state.running == true {
                throw DeployError(
                    message:
                        "\(host.app.container) runs on \(host.host.name) and swarm.front is none: nothing would take its ports over from it. Stop the plain containers when your own front door reaches tasks.\(swarmConfig.service), or use swarm.front: proxy",
                    production: .unchanged)
            }
        }
        _ = try SwarmAppSpec.secretText(try swarmRelease.variables(), source: target.app.envFile.map { "\(swarmManager.host.name):\($0)" } ?? "app.env")
    }

    private func nodeState(_ node: JSONValue?) -> String {
        guard let node else { return "" }
        return " (\(node["Status"]?["State"]?.string ?? "?"), \(node["Spec"]?["Availability"]?.string ?? "?"))"
    }

    var swarmConfig: SwarmConfig { target.environment.section(SwarmConfig.self) ?? SwarmConfig(manager: target.host.name) }
    var swarmManager: DeployTarget { hosts.first { $0.host.name == swarmConfig.manager } ?? target }

    var swarmRelease: SwarmRelease { SwarmRelease(hosts: hosts, manager: swarmManager) }

    /// 7 on a swarm: the release put on the service (see `SwarmRelease.put`).
    func swarmSwap(_ facts: DeployFacts) throws -> Double {
        try swarmRelease.put(
            imageID: imageID(facts), imageRef: facts.imageRef, release: release, journal: { phase, data in try self.journal(.swap, phase, data) })
    }

    /// 8 on a swarm: every task of the release runs healthy, and every node's front door passes the
    /// health endpoint and the smoke checks. A failure has Swarm roll the service back.
    func validateSwarm(_ facts: DeployFacts) throws {
        let swarm = swarmConfig
        let engine = try SwarmCluster(target.environment, context: context).managerEngine()
        let tasks = try engine.tasks(filters: ["service": [swarm.service], "desired-state": ["running"]])
        var failed: [String] = []
        let ours = tasks.filter { $0["Spec"]?["ContainerSpec"]?["Labels"]?["tmeops.release"]?.string == release }
        let running = ours.filter { $0["Status"]?["State"]?.string == "running" }
        let replicas = swarm.replicaCount(hosts: hosts.count)
        if running.count < replicas { failed.append("\(running.count) of \(replicas) tasks of \(release) run") }
        var checks = 1
        if swarm.front == .proxy, let port = target.app.publish.first?.hostPort {
            let validate = target.environment.section(ValidateConfig.self) ?? ValidateConfig()
            for host in hosts {
                let probe = HealthWait.probe(route: .ssh(host.session), address: host.host.name, port: port, health: target.health)
                checks += 1
                if probe.status != target.health.expectStatus {
                    failed.append("\(host.host.name):\(port) health: \(probe.problem ?? probe.status.map { "status \($0)" } ?? "no answer")")
                }
                for result in Checks.smoke(validate.smoke, session: host.session, address: host.host.name, port: port) {
                    checks += 1
                    if !result.ok { failed.append("\(host.host.name): \(result.name): \(result.evidence)") }
                }
            }
        }
        guard failed.isEmpty else {
            for line in failed { out.line("      \(out.red("✗")) \(line)") }
            if try engine.service(swarm.service)?["PreviousSpec"] == nil {
                // The first swarm deploy: there is no earlier spec; the plain containers go back instead.
                let undone = swarmRelease.undoConversion(engine, release: release)
                let back = !undone.isEmpty && undone.allSatisfy { $0.hasSuffix("back and healthy") }
                throw DeployError(
                    message: "post-deploy validation failed (\(failed.joined(separator: "; "))); the conversion was undone: \(undone.joined(separator: ", "))",
                    production: .afterPutBack(healthy: back))
            }
            let back = try SwarmFollow(engine: engine, service: swarm.service, release: release, replicas: replicas, context: context, hosts: hosts)
                .rollBack(budget: swarmRelease.budget)
            throw DeployError(
                message: "post-deploy validation failed (\(failed.joined(separator: "; "))); \(back)",
                production: .afterPutBack(healthy: back.hasPrefix("Swarm rolled")))
        }
        out.line("      \(running.count) tasks of \(release) running; \(checks) checks passed")
    }

    /// 9 on a swarm: the env secrets no longer named by the service's spec or its previous one.
    func cleanupSwarm() throws {
        let swarm = swarmConfig
        let engine = try SwarmCluster(target.environment, context: context).managerEngine()
        try removeSwarmTestInstance(engine)
        guard let service = try engine.service(swarm.service) else { return }
        var inUse = Set<String>()
        for key in ["Spec", "PreviousSpec"] {
            for secret in service[key]?["TaskTemplate"]?["ContainerSpec"]?["Secrets"]?.array ?? [] {
                if let name = secret["SecretName"]?.string { inUse.insert(name) }
            }
        }
        for secret in try engine.swarmObjects(.secrets, filters: ["label": ["tmeops.service=\(swarm.service)"]]) {
            guard let name = secret["Spec"]?["Name"]?.string, !inUse.contains(name), let id = secret["ID"]?.string else { continue }
            // A secret a task still holds (one shutting down) cannot go yet; the next deploy removes it.
            do { try engine.removeSwarmObject(.secrets, id) } catch { context.logger.info("secret \(name) stays for now: \(error)") }
        }
    }
}

extension Recovery {
    /// `recover` on a swarm environment: the deploy's journal says which release it was rolling out;
    /// Swarm carried on without tmeops, so its service says where it got to. An update still running is
    /// waited for, a paused one rolled back; the release the service ends on is recorded, a plain app
    /// container retired for a front door that never came is put back, then the staging copy, the test
    /// instance, the journals and the lock are dealt with as elsewhere.
    public static func recoverSwarm(_ hosts: [DeployTarget], database: DeployTarget, force: Bool = false) throws -> Outcome {
        let lead = hosts[0]
        let state = lead.state
        let context = lead.context
        let lock = try takeLock(lead, force: force)
        defer { do { try state.release(token: lock.token) } catch { context.logger.warning("the deploy lock was not released: \(error)") } }
        let journal = try state.journal()
        let release = journal.last?.release
        var outcome = Outcome(release: release, lastStep: journal.last.map { "\($0.step) \($0.phase)" })
        func act(_ text: String) {
            outcome.actions.append(text)
            lead.out.line("  • \(text)")
        }
        let swarm = try SwarmConfig.of(lead.environment)
        let engine = try SwarmCluster(lead.environment, context: context).managerEngine()
        let replicas = swarm.replicaCount(hosts: hosts.count)
        var serving: String?
        if var service = try engine.service(swarm.service) {
            let follow = SwarmFollow(engine: engine, service: swarm.service, release: release ?? "", replicas: replicas, context: context, hosts: hosts)
            let deadline = Date().addingTimeInterval(300)
            while ["updating", "rollback_started"].contains(service["UpdateStatus"]?["State"]?.string ?? ""), Date() < deadline {
                Thread.sleep(forTimeInterval: 1)
                service = try engine.service(swarm.service) ?? service
            }
            let status = service["UpdateStatus"]?["State"]?.string
            if status == "paused" || status == "updating" {
                act("the update of \(swarm.service) is \(status ?? "?"): \(try follow.rollBack(budget: 300))")
                service = try engine.service(swarm.service) ?? service
            }
            serving = service["Spec"]?["Labels"]?["tmeops.release"]?.string
            let running = try engine.tasks(filters: ["service": [swarm.service], "desired-state": ["running"]]).filter {
                $0["Status"]?["State"]?.string == "running" && $0["Spec"]?["ContainerSpec"]?["Labels"]?["tmeops.release"]?.string == serving
            }
            outcome.healthy = running.count >= replicas
            act(
                "service \(swarm.service) runs \(serving == release ? "the new release" : "the previous release") \(serving ?? "?") on \(running.count) of \(replicas) tasks"
                    + (status.map { " (Swarm's last update: \($0))" } ?? ""))
        } else {
            act("there is no service \(swarm.service): the deploy stopped before Swarm had it")
        }
        // A plain app container retired for a front door that does not run there takes its port back.
        let label = SwarmFront.nodeLabel(service: swarm.service)
        let nodes = try engine.nodes()
        for host in hosts {
            let labelled = try SwarmRelease(hosts: hosts, manager: lead).node(of: host, in: nodes)?["Spec"]?["Labels"]?[label]?.string == "true"
            if !labelled, try host.engine.container(host.app.container) == nil, try host.engine.container(host.old) != nil {
                let back = try host.restoreOld()
                act("\(host.host.name): \(host.old) back as \(host.app.container) (\(back.healthy ? "healthy" : "NOT healthy: \(back.detail)"))")
                outcome.healthy = outcome.healthy || back.healthy
            }
        }
        if try engine.service("\(swarm.service)-test") != nil {
            try engine.removeService("\(swarm.service)-test")
            act("removed the test instance \(swarm.service)-test")
        }
        try dropStaging(journal, release: release, target: database, act: act)
        try correctLedger(
            state, journal: journal, release: release, outcome: outcome, running: nil, servesNew: release != nil && serving == release, context: context)
        if let release {
            for host in hosts where !(try host.state.journal().isEmpty) { try host.state.closeJournal(release: release) }
        }
        if try state.lockOwner()?.token == lock.token {
            try state.release(token: lock.token)
            act("released the deploy lock")
        }
        state.audit(
            action: "recover", environment: lead.environment.name, release: release, outcome: outcome.healthy ? "healthy" : "unhealthy",
            detail: outcome.actions.joined(separator: "; "), context: context)
        return outcome
    }
}

import Foundation
import SwarmPlugin
import TMEOpsCore
import TMEOpsCrypto
import TMEOpsDocker
import TMEOpsHosts
import ValidatePlugin

/// A release put on an environment's swarm: what the deploy's swap step and `rollback` both do.
struct SwarmRelease {
    let hosts: [DeployTarget]
    /// The host whose engine manages the swarm (its env file becomes the secret).
    let manager: DeployTarget

    var target: DeployTarget { manager }
    var context: CommandContext { manager.context }
    var out: Output { context.progress }
    var env: String { manager.environment.name }
    var swarm: SwarmConfig { manager.environment.section(SwarmConfig.self) ?? SwarmConfig(manager: manager.host.name) }

    /// Each host's node in the swarm, as the host's own engine names it (a manager's node address may
    /// read 0.0.0.0, and a host may be named by DNS: the node ID is what is certain).
    func node(of host: DeployTarget, in nodes: [JSONValue]) throws -> JSONValue? {
        let id = try host.engine.swarmState().nodeID
        return nodes.first { $0["ID"]?.string == id }
    }

    /// Undoes the conversion of a first swarm deploy (`release`) that failed after it began, and only
    /// what that deploy did: the app service and front door go only when this release created the
    /// service (its release label, no earlier spec), so a service or front door that existed before
    /// the deploy is never removed; a node leaves the front door only when this deploy retired its plain
    /// container (kept as `-old`), which then takes its name and port back.
    /// Returns what it did, each host's outcome named.
    func undoConversion(_ engine: DockerEngine, release: String) -> [String] {
        var done: [String] = []
        let label = SwarmFront.nodeLabel(service: swarm.service)
        let service = (try? engine.service(swarm.service)) ?? nil
        let createdHere = service.map { Self.createdBy(release, service: $0) } ?? false
        let retired = hosts.filter { host in
            ((try? host.engine.container(host.app.container)) ?? nil) == nil && ((try? host.engine.container(host.old)) ?? nil) != nil
        }
        let nodes = (try? engine.nodes()) ?? []
        for host in retired {
            if let node = try? node(of: host, in: nodes), node["Spec"]?["Labels"]?[label]?.string == "true" { try? engine.labelNode(node, label, "false") }
        }
        if createdHere {
            try? engine.removeService(swarm.frontService)
            try? engine.removeService(swarm.service)
        }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let left = retired.filter { host in
                ((try? host.engine.containers(all: false, filters: ["label": ["com.docker.swarm.service.name=\(swarm.frontService)"]])) ?? []).count > 0
            }
            if left.isEmpty { break }
            Thread.sleep(forTimeInterval: 0.3)
        }
        for host in retired {
            let back = (try? host.restoreOld()) ?? HealthWait.Outcome(healthy: false, attempts: 0, seconds: 0, detail: "putting it back failed")
            done.append("\(host.host.name): \(host.app.container) \(back.healthy ? "back and healthy" : "NOT back: \(back.detail)")")
        }
        return done
    }

    /// Whether `service` (the Engine's document) was created by `release`: it carries that release's
    /// label and has no earlier spec (an update keeps the one before it).
    static func createdBy(_ release: String, service: JSONValue) -> Bool {
        service["Spec"]?["Labels"]?["tmeops.release"]?.string == release && service["PreviousSpec"] == nil
    }

    /// What a task of `imageID` runs (its ENTRYPOINT and CMD, which the env wrapper execs) and whether the
    /// image brings its own HEALTHCHECK, read from the manager's engine.
    func imageToRun(_ engine: DockerEngine, imageID: String, imageRef: String) throws -> (command: [String], ownHealthcheck: Bool) {
        guard let image = try engine.imageDocument(imageID) else {
            throw DeployError(message: "the manager \(swarm.manager) does not have \(imageID) after the delivery", production: .unchanged)
        }
        let command = ((image["Config"]?["Entrypoint"]?.array ?? []) + (image["Config"]?["Cmd"]?.array ?? [])).compactMap(\.string)
        guard !command.isEmpty else {
            throw DeployError(message: "\(imageRef) has neither ENTRYPOINT nor CMD: the service's tasks would have nothing to run", production: .unchanged)
        }
        let ownCheck = image["Config"]?["Healthcheck"]?["Test"]?.array.map { !$0.isEmpty && $0.first?.string != "NONE" } ?? false
        return (command, ownCheck)
    }

    /// The image the app's service runs now (nil when there is no service yet).
    func currentImage() throws -> String? {
        let engine = try SwarmCluster(target.environment, context: context).managerEngine()
        return try engine.service(swarm.service)?["Spec"]?["TaskTemplate"]?["ContainerSpec"]?["Image"]?.string
    }

    /// Once the app runs as tasks, no container says how its env file was read: the service's label,
    /// written when it was made from one, does (compose's rules when nothing says).
    func settleEnvFormat(_ engine: DockerEngine) throws {
        let recorded = try engine.service(swarm.service)?["Spec"]?["Labels"]?["tmeops.env-format"]?.string.flatMap(EnvFileFormat.init(rawValue:))
        for host in hosts + [manager] where host.envFileFormatWhenNoContainer == nil { host.envFileFormatWhenNoContainer = recorded ?? .compose }
    }

    /// What the service keeps across releases: its mounts, memory limit and stop grace, read from the
    /// service when there is one, else from the plain app container it replaces (on the manager), with
    /// tmeops.yml's `app.volumes` over them (a volume at the same target replaces the carried one).
    func carriedSettings(_ existing: JSONValue?) throws -> (volumes: [VolumeSpec], memory: Int64?, stopGrace: Double, shown: [String]) {
        var volumes: [VolumeSpec] = []
        var memory: Int64?
        var stopGrace = Double(manager.stopSeconds(for: manager.app.container))
        if let container = existing?["Spec"]?["TaskTemplate"]?["ContainerSpec"] {
            for mount in container["Mounts"]?.array ?? [] {
                guard let source = mount["Source"]?.string, let target = mount["Target"]?.string else { continue }
                volumes.append(VolumeSpec(source: source, target: target, options: mount["ReadOnly"]?.bool == true ? ["ro"] : []))
            }
            memory = existing?["Spec"]?["TaskTemplate"]?["Resources"]?["Limits"]?["MemoryBytes"]?.number.map { Int64($0) }
            if let grace = container["StopGracePeriod"]?.number { stopGrace = grace / 1e9 }
        } else if let document = try manager.engine.containerDocument(manager.app.container) {
            for mount in document["Mounts"]?.array ?? [] {
                let type = mount["Type"]?.string
                guard type == "bind" || type == "volume", let target = mount["Destination"]?.string,
                    let source = type == "volume" ? mount["Name"]?.string : mount["Source"]?.string
                else { continue }
                volumes.append(VolumeSpec(source: source, target: target, options: mount["RW"]?.bool == false ? ["ro"] : []))
            }
            memory = document["HostConfig"]?["Memory"]?.number.flatMap { $0 > 0 ? Int64($0) : nil }
        }
        for configured in manager.app.volumes.compactMap(VolumeSpec.init) {
            volumes.removeAll { $0.target == configured.target }
            volumes.append(configured)
        }
        var shown = volumes.map { "mount \($0.source) -> \($0.target)\($0.options.contains("ro") ? " (read-only)" : "")" }
        if let memory { shown.append("memory \(memory >> 20) MiB") }
        shown.append("stop grace \(Int(stopGrace)) s")
        return (volumes, memory, stopGrace, shown)
    }

    /// The variables the tasks get: the env file's (read on the manager), then tmeops.yml's `app.env`.
    func variables() throws -> [(key: String, value: String)] {
        var variables = try manager.envFileVariables()
        for key in manager.app.env.keys.sorted() { variables.append((key, manager.app.env[key] ?? "")) }
        return variables
    }

    /// The env secret, then the service created or updated to `imageID` as `release`, followed until
    /// Swarm says it is done (every task of the release running and healthy) or rolled back (exit 4);
    /// then the front door. Returns the unavailability window: 0 with `start-first` (a task is replaced
    /// only once its successor is healthy), unless the front door took the port from plain containers.
    func put(imageID: String, imageRef: String, release: String, journal: (String, [String: String]) throws -> Void) throws -> Double {
        let engine = try SwarmCluster(target.environment, context: context).managerEngine()
        try settleEnvFormat(engine)
        // The env file as a secret named by the release (secrets cannot change), created before the
        // service names it; recorded first, so that a crash leaves nothing unnamed.
        let secretName = SwarmAppSpec.secretName(service: swarm.service, release: release)
        try journal("secret", ["secret": secretName])
        let text = try SwarmAppSpec.secretText(try variables(), source: manager.app.envFile ?? "app.env")
        let secretID =
            try engine.swarmObjectID(.secrets, named: secretName)
            ?? engine.createSwarmObject(
                .secrets, name: secretName, data: text,
                labels: ["tmeops.service": swarm.service, "tmeops.release": release, "tmeops.environment": env])
        let (command, ownCheck) = try imageToRun(engine, imageID: imageID, imageRef: imageRef)
        let existing = try engine.service(swarm.service)
        let carried = try carriedSettings(existing)
        if existing == nil, !carried.shown.isEmpty {
            out.line("      the service keeps from \(manager.app.container) (tmeops.yml's app.volumes applied): \(carried.shown.joined(separator: "; "))")
        }
        var spec = SwarmAppSpec(
            service: swarm.service, environment: env, release: release, imageID: imageID, imageRef: imageRef,
            command: command, secret: (secretID, secretName), health: target.health, imageHasHealthcheck: ownCheck,
            replicas: swarm.replicaCount(hosts: hosts.count), update: swarm.update, network: swarm.network,
            stopGrace: carried.stopGrace, initProcess: target.app.initProcess, volumes: carried.volumes, labels: target.app.labels,
            memoryBytes: carried.memory)
        let running = try manager.engine.containerDocument(manager.app.container)
        spec.serviceLabels["tmeops.env-format"] =
            (running == nil && manager.app.envFileFormat == nil
            ? manager.envFileFormatWhenNoContainer ?? .compose : AppEnvironment.format(manager.app, running: running)).rawValue
        let startedBefore = existing?["UpdateStatus"]?["StartedAt"]?.string
        try journal(
            "service",
            [
                "service": swarm.service, "action": existing == nil ? "create" : "update",
                "previous": existing?["Spec"]?["Labels"]?["tmeops.release"]?.string ?? "",
            ])
        FaultPoint.hit("swap.service", context)
        if let existing, let id = existing["ID"]?.string {
            out.line("      updating service \(swarm.service) to \(imageRef) (\(spec.replicas) replicas, \(swarm.update.order))")
            try engine.updateService(id, version: Int(existing["Version"]?["Index"]?.number ?? 0), spec: spec.document)
        } else {
            out.line("      creating service \(swarm.service): \(spec.replicas) replicas of \(imageRef)")
            try engine.createService(spec.document)
        }
        FaultPoint.hit("swap.following", context)
        try SwarmFollow(engine: engine, service: swarm.service, release: release, replicas: spec.replicas, context: context, hosts: hosts)
            .run(created: existing == nil, startedBefore: startedBefore, budget: budget)
        try journal("service-healthy", ["service": swarm.service])
        // With start-first, a task is replaced only once its successor is healthy: no window, unless
        // the front door had to take the port from plain containers (then it is measured).
        return swarm.front == .proxy ? try ensureFront(engine, release: release, journal: journal) : 0
    }

    /// How long a rollout may take before tmeops gives up on it: each batch's health budget and
    /// monitor period, twice (an update and its rollback), and a minute for the engines.
    var budget: Double {
        let replicas = swarm.replicaCount(hosts: hosts.count)
        let batches = Double((replicas + swarm.update.parallelism - 1) / swarm.update.parallelism)
        let perBatch = Double(target.health.attempts) * target.health.interval.seconds + swarm.update.monitor.seconds + swarm.update.delay.seconds + 10
        return 60 + 2 * batches * perBatch
    }

    /// The front door: created by the first swarm deploy, changed only when its configuration does. It
    /// runs on the nodes tmeops has labelled; node by node, a plain app container that held the published
    /// port is stopped (kept as `-old`), the node labelled, and its front door waited for, so that behind
    /// a load balancer the other nodes serve meanwhile. Returns the longest time one node's port
    /// answered nothing (0 when no plain container had it).
    func ensureFront(_ engine: DockerEngine, release: String, journal: (String, [String: String]) throws -> Void) throws -> Double {
        let publish = target.app.publish
        guard !publish.isEmpty, let port = publish.first?.hostPort else { return 0 }
        let conf = SwarmFront.nginxConfig(service: swarm.service, publish: publish)
        let digest = SHA256.hex(SHA256.digest(Data(conf.utf8))).prefix(12)
        let configName = "\(swarm.frontService)-\(digest)"
        let configID =
            try engine.swarmObjectID(.configs, named: configName)
            ?? engine.createSwarmObject(.configs, name: configName, data: Data(conf.utf8), labels: ["tmeops.service": swarm.service, "tmeops.front": "true"])
        let spec = SwarmFront.document(
            name: swarm.frontService, service: swarm.service, image: target.deploy.proxyImage, network: swarm.network, publish: publish,
            config: (configID, configName), environment: env)
        if let existing = try engine.service(swarm.frontService) {
            if existing["Spec"]?["TaskTemplate"]?["ContainerSpec"]?["Configs"]?.array?.first?["ConfigName"]?.string != configName,
                let id = existing["ID"]?.string
            {
                out.line("      front door \(swarm.frontService): new configuration \(configName)")
                let before = existing["UpdateStatus"]?["StartedAt"]?.string
                try engine.updateService(id, version: Int(existing["Version"]?["Index"]?.number ?? 0), spec: spec)
                // Node by node (stop-first): each node's front door answers again before validation.
                let deadline = Date().addingTimeInterval(120)
                while Date() < deadline {
                    let status = try engine.service(swarm.frontService)?["UpdateStatus"]
                    if status?["StartedAt"]?.string != before, ["completed", "paused", "rollback_completed"].contains(status?["State"]?.string ?? "") { break }
                    Thread.sleep(forTimeInterval: 0.3)
                }
                for host in hosts { try waitForFront(on: host, port: port) }
            }
        } else {
            out.line(
                "      creating the front door \(swarm.frontService) (global on labelled nodes, \(publish.map(\.description).joined(separator: ", ")) in host mode)"
            )
            try engine.createService(spec)
        }
        let label = SwarmFront.nodeLabel(service: swarm.service)
        var longest = 0.0
        var converted = false
        var portClosed = false
        for host in hosts {
            // The last node's port went unanswered while its front door took it: a load balancer takes
            // it back only later (`BalancerSettle`), so the next node waits for that.
            if portClosed {
                BalancerSettle.pause(configured: target.deploy.batchWait, portsClosed: true, before: "node", out: out)
                portClosed = false
            }
            guard let node = try node(of: host, in: try engine.nodes()) else {
                throw DeployError(message: "\(host.host.name) is not a node of the swarm of \(env); run `tmeops cluster up -e \(env)`", production: .unchanged)
            }
            if node["Spec"]?["Labels"]?[label]?.string == "true" { continue }
            var stopped: Date?
            if let details = try host.engine.container(host.app.container) {
                // Converting from a plain container: the port is its until this node's front door takes it.
                try journal("retire", ["host": host.host.name, "container": host.app.container])
                try AppContainers.removeIfPresent(host.engine, host.old)
                stopped = Date()
                if details.state.running { _ = try host.stopWatching(details) }
                try host.engine.renameContainer(host.app.container, to: host.old)
                converted = true
            }
            try engine.labelNode(node, label, "true")
            do {
                try waitForFront(on: host, port: port)
            } catch let error as DeployError where converted {
                // The plain containers take their ports back: the environment is as it was.
                let undone = undoConversion(engine, release: release)
                let back = undone.allSatisfy { $0.hasSuffix("back and healthy") }
                throw DeployError(
                    message: "\(error.message); the conversion was undone: \(undone.joined(separator: ", "))", production: .afterPutBack(healthy: back),
                    evidence: error.evidence)
            }
            let window = stopped.map { Date().timeIntervalSince($0) }
            longest = max(longest, window ?? 0)
            portClosed = window != nil
            out.line(
                "      \(host.host.name): front door answers on port \(port)"
                    + (window.map { "; \(host.app.container) kept stopped as \(host.old) (port unanswered there for \(String(format: "%.2f", $0)) s)" } ?? ""))
        }
        return longest
    }

    /// The last log lines of the front door's task on `host` (nginx logs why it answers 502: an upstream
    /// it cannot resolve or connect to), read through the manager.
    func frontEvidence(on host: DeployTarget) -> [String] {
        guard let id = try? host.engine.swarmState().nodeID,
            let tasks = try? manager.engine.tasks(filters: ["service": [swarm.frontService], "node": [id]])
        else { return [] }
        let newest = tasks.max { ($0["UpdatedAt"]?.string ?? "") < ($1["UpdatedAt"]?.string ?? "") }
        return SwarmFollow.evidence(of: newest, engine: manager.engine, context: context)
    }

    /// The front door on `host` answers the health endpoint through the published port.
    func waitForFront(on host: DeployTarget, port: Int) throws {
        let deadline = Date().addingTimeInterval(60)
        while true {
            let probe = HealthWait.probe(route: .ssh(host.session), address: host.host.name, port: port, health: target.health)
            if probe.status == target.health.expectStatus { return }
            guard Date() < deadline else {
                throw DeployError(
                    message:
                        "the front door \(swarm.frontService) on \(host.host.name):\(port) does not answer \(target.health.path) with \(target.health.expectStatus) (\(probe.problem ?? probe.status.map { "status \($0)" } ?? "no answer")); see `tmeops cluster status -e \(env)`",
                    production: .notRestored, evidence: frontEvidence(on: host))
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
    }

}

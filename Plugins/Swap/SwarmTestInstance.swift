import Foundation
import SwarmPlugin
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import ValidatePlugin

/// The test instance on a swarm: a one-replica service `<service>-test`, started exactly as
/// production's tasks will be (the image by ID, the env secret and its wrapper, the health check, the
/// overlay network) but against the staging copy, on the database host's node, publishing the test
/// port there in host mode for the smoke checks. It is removed whatever happens.
extension DeployPipeline {
    var swarmTestService: String { "\(swarmConfig.service)-test" }

    /// 5 on a swarm.
    func runSwarmTestInstance(_ facts: DeployFacts, database copy: String) throws {
        let engine = try SwarmCluster(target.environment, context: context).managerEngine()
        let swarmRelease = self.swarmRelease
        try swarmRelease.settleEnvFormat(engine)
        try removeSwarmTestInstance(engine)
        var variables = try swarmRelease.variables()
        let configured = target.environment.section(DatabaseConfig.self)
        if let production = configured?.name ?? configured?.url.flatMap({ URLComponents(string: $0)?.path.dropFirst() }).map(String.init) {
            variables = AppEnvironment.redirected(variables, database: production, to: copy, overrides: target.testInstance?.env ?? [:])
        }
        let name = swarmTestService
        let secretName = SwarmAppSpec.secretName(service: name, release: release)
        try journal(.testInstance, "service", ["service": name, "secret": secretName])
        let secretID = try engine.createSwarmObject(
            .secrets, name: secretName, data: try SwarmAppSpec.secretText(variables, source: target.app.envFile ?? "app.env"),
            labels: ["tmeops.service": name, "tmeops.release": release, "tmeops.environment": env])
        defer { try? removeSwarmTestInstance(engine) }
        let (command, ownCheck) = try swarmRelease.imageToRun(engine, imageID: imageID(facts), imageRef: facts.imageRef)
        let nodes = try engine.nodes()
        guard let node = try swarmRelease.node(of: target, in: nodes)?["ID"]?.string else {
            throw DeployError(
                message: "\(target.host.name) (the database host) is not a node of the swarm; run `tmeops cluster up -e \(env)`", production: .unchanged)
        }
        let carried = try swarmRelease.carriedSettings(try engine.service(swarmConfig.service))
        let testPorts = try target.testInstance?.publish ?? [PortMapping(parsing: "3001:3000")]
        var spec = SwarmAppSpec(
            service: name, environment: env, release: release, imageID: imageID(facts), imageRef: facts.imageRef, command: command,
            secret: (secretID, secretName), health: target.health, imageHasHealthcheck: ownCheck, replicas: 1, update: swarmConfig.update,
            network: swarmConfig.network, stopGrace: 1, initProcess: target.app.initProcess,
            // Production's mounts, read-only: the test instance must not write where production keeps data.
            volumes: (target.testInstance?.volumes?.compactMap(VolumeSpec.init))
                ?? carried.volumes.map { VolumeSpec(source: $0.source, target: $0.target, options: ["ro"]) },
            labels: target.app.labels, memoryBytes: carried.memory)
        spec.role = "test"
        spec.publish = testPorts
        spec.constraints = ["node.id == \(node)"]
        let started = Int(Date().timeIntervalSince1970) - 1
        try engine.createService(spec.document)
        // Running means its health check passed (Swarm starts a task as "starting" until then).
        let deadline = Date().addingTimeInterval(Double(target.health.attempts) * target.health.interval.seconds + 30)
        var task: JSONValue?
        while Date() < deadline {
            let tasks = try engine.tasks(filters: ["service": [name]])
            if let running = tasks.first(where: { $0["Status"]?["State"]?.string == "running" }) {
                task = running
                break
            }
            if let failed = tasks.first(where: { ["failed", "rejected"].contains($0["Status"]?["State"]?.string ?? "") }) {
                throw testFailure("its task failed: \(failed["Status"]?["Err"]?.string ?? "?")", failed, engine: engine)
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        guard let task, let container = task["Status"]?["ContainerStatus"]?["ContainerID"]?.string else {
            let last = try engine.tasks(filters: ["service": [name]]).last
            throw testFailure(
                "it was not healthy after \(Int(Double(target.health.attempts) * target.health.interval.seconds + 30)) s", last, engine: engine)
        }
        let validate = target.environment.section(ValidateConfig.self) ?? ValidateConfig()
        let scan = try Checks.logScan(validate.logErrors, engine: target.engine, container: container, since: started)
        var failures = scan.ok ? [] : ["logs: \(scan.evidence)"] + scan.details
        if let port = testPorts.first?.hostPort {
            let probe = HealthWait.probe(route: .ssh(target.session), address: target.host.name, port: port, health: target.health)
            if probe.status != target.health.expectStatus {
                failures.append("health through its port \(port): \(probe.problem ?? probe.status.map { "status \($0)" } ?? "no answer")")
            }
            failures += Checks.smoke(validate.smoke, session: target.session, address: target.host.name, port: port).filter { !$0.ok }.map {
                "\($0.name): \($0.evidence)"
            }
        }
        guard failures.isEmpty else {
            throw testFailure("it failed its checks: \(failures.joined(separator: "; "))", task, engine: engine)
        }
        out.line(
            "      \(name) (a one-replica service on \(swarmConfig.network), on \(target.host.name)) healthy, logs clean, \(validate.smoke.count) smoke checks passed"
        )
    }

    func testFailure(_ what: String, _ task: JSONValue?, engine: DockerEngine) -> DeployError {
        DeployError(
            message: "the test instance of \(options.image ?? target.config.image) failed: \(what); production was not touched", production: .unchanged,
            evidence: SwarmFollow.evidence(of: task, engine: engine, context: context))
    }

    /// The test service and its secrets, if any (the secret goes once no task holds it).
    func removeSwarmTestInstance(_ engine: DockerEngine) throws {
        let name = swarmTestService
        if try engine.service(name) != nil {
            try engine.removeService(name)
            // Asked by a name that no longer exists, the engine may answer 404: that is "no tasks" too.
            for _ in 0..<50 {
                guard let tasks = try? engine.tasks(filters: ["service": [name]]), !tasks.isEmpty else { break }
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        // A secret goes once no task holds it any more; Swarm lets go of a removed service's tasks soon after.
        let deadline = Date().addingTimeInterval(15)
        while true {
            let left = try engine.swarmObjects(.secrets, filters: ["label": ["tmeops.service=\(name)"]]).compactMap { $0["ID"]?.string }
            for id in left { try? engine.removeSwarmObject(.secrets, id) }
            if left.isEmpty || Date() > deadline { break }
            Thread.sleep(forTimeInterval: 0.3)
        }
    }
}

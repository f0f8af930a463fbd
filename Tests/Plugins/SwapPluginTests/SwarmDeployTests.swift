import Foundation
import TMEOpsCore
import TMEOpsTestSupport
import XCTest

/// `deploy.strategy: swarm` through the real binary: the sandbox's three fleet servers form a Docker
/// Swarm for the environment `cluster` (`tmeops cluster up`), the app becomes a service of three
/// replicas behind a front door on every node's port 80, and the fleet's load balancer keeps pointing at
/// those ports. Version 1 runs as plain containers on every server at the start of each test (the
/// first swarm deploy converts them).
class SwarmFleetProject: FleetProject {
    override var projectPrefix: String { "tmeops-swarm" }
    override var environmentName: String { "cluster" }

    /// The fleet back to plain containers and no swarm, for the tests that use it after these.
    override class func tearDown() {
        _ = try? ProcessRunner.run("/bin/bash", [Sandbox.script, "seed", "fleet"])
        super.tearDown()
    }

    /// The fleet's database password: it must never appear where a secret must not.
    var password: String {
        (try? String(contentsOfFile: sandbox["SANDBOX_DIR"] + "/secrets/db_password", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
    }

    func clusterUp() throws {
        let up = try tmeops(["cluster", "up", "-e", "cluster"])
        if up.status != 0 { XCTFail(up.stdout + up.stderr + (try fleetStates())) }
    }

    /// Each server's swarm state as its engine reports it (for a failure's message).
    func fleetStates() throws -> String {
        try (1...3).map { n in "\nserver \(n): " + (try fleetDocker(n, ["info", "-f", "{{json .Swarm}}"]).stdout) }.joined()
    }

    func status() throws -> [String: Any] {
        let status = try tmeops(["cluster", "status", "-e", "cluster", "--json"])
        XCTAssertEqual(status.status, 0, status.stderr)
        return try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any] ?? [:]
    }

    func appTasks(_ status: [String: Any]) -> [[String: Any]] {
        (status["tasks"] as? [[String: Any]] ?? []).filter {
            $0["service"] as? String == "tme-portal" && $0["state"] as? String == "running" && $0["desired"] as? String == "running"
        }
    }
}

/// The swarm's own lifecycle: formed from nothing, refused while a node cannot take part, left. Each
/// test starts from `scripts/sandbox seed fleet`, with no swarm.
final class SwarmClusterFleetSerial: SwarmFleetProject {
    func testClusterUpThenDeployUpdateAndRollbackThroughTheFrontDoorsFailNoRequest() throws {
        let before = try tmeops(["deploy", "-e", "cluster", "--image", "tme-portal-server:sandbox-2"])
        XCTAssertEqual(before.status, 2, before.stdout + before.stderr)
        XCTAssertTrue(before.stderr.contains("is not in a swarm") && before.stderr.contains("tmeops cluster up -e cluster"), before.stderr)

        let up = try tmeops(["cluster", "up", "-e", "cluster"])
        if up.status != 0 { XCTFail(up.stdout + up.stderr + (try fleetStates())) }
        XCTAssertTrue(up.stdout.contains("initialising Swarm on 10.97.150.11"), up.stdout)
        XCTAssertTrue(up.stdout.contains("joining 10.97.150.13 to the swarm"), up.stdout)
        XCTAssertFalse((up.stdout + up.stderr).contains("SWMTKN"), "the join token is never printed")
        let again = try tmeops(["cluster", "up", "-e", "cluster"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("it already was: nothing changed"), again.stdout)
        let nodes = try status()["nodes"] as? [[String: Any]] ?? []
        XCTAssertEqual(nodes.map { $0["state"] as? String }, ["ready", "ready", "ready"])
        XCTAssertEqual(Set(nodes.compactMap { $0["address"] as? String }), Set(hosts))

        let prober = try Prober(sandbox["SANDBOX_FLEET_LB"] + "/api/health")
        // The first swarm deploy: the service, then node by node the plain container gives the port to the front door.
        let first = try tmeops(["deploy", "-e", "cluster", "--image", "tme-portal-server:sandbox-2"])
        XCTAssertEqual(first.status, 0, first.stdout + first.stderr)
        XCTAssertTrue(first.stdout.contains("creating service tme-portal: 3 replicas"), first.stdout)
        XCTAssertTrue(first.stdout.contains("10.97.150.13: front door answers on port 80"), first.stdout)
        // An update: Swarm replaces the tasks one at a time, each healthy before the next.
        let update = try tmeops(["deploy", "-e", "cluster", "--image", "tme-portal-server:sandbox-1"])
        XCTAssertEqual(update.status, 0, update.stdout + update.stderr)
        XCTAssertTrue(update.stdout.contains("updating service tme-portal"), update.stdout)
        for n in 1...3 { XCTAssertEqual(try running(n), "sandbox-1 true", "server \(n)") }
        let rollback = try tmeops(["rollback", "-e", "cluster"])
        XCTAssertEqual(rollback.status, 0, rollback.stdout + rollback.stderr)
        let probed = try prober.stop()
        XCTAssertGreaterThan(probed.requests, 300)
        XCTAssertEqual(probed.failed, 0, probed.failures.joined(separator: "\n"))
        for n in 1...3 {
            XCTAssertEqual(try running(n), "sandbox-2 true", "server \(n)")
            XCTAssertEqual(try leftovers(n), [], "server \(n): the retired plain container and the test instance are gone")
        }
        XCTAssertEqual(ledger(1).map { $0["outcome"] as? String }, ["deployed", "deployed", "rollback"])
        // validate and logs find the app's tasks on each node.
        let validated = try tmeops(["validate", "-e", "cluster"])
        XCTAssertEqual(validated.status, 0, validated.stdout + validated.stderr)
        XCTAssertTrue(validated.stdout.contains("health: its health check: Docker reports it healthy"), validated.stdout)
        XCTAssertTrue(validated.stdout.contains("front door smoke: status endpoint"), validated.stdout)
        let logs = try tmeops(["logs", "-e", "cluster", "--tail", "5"])
        XCTAssertEqual(logs.status, 0, logs.stderr)
        XCTAssertTrue(logs.stdout.contains(" | "), logs.stdout)
        let status = try status()
        XCTAssertEqual(appTasks(status).count, 3, "\(status)")
        XCTAssertEqual(Set(appTasks(status).compactMap { $0["release"] as? String }), [ledger(1).last?["id"] as? String ?? "?"])

        // The env file is a secret: not in the service, its tasks' containers, or anything tmeops printed.
        let service = try fleetDocker(1, ["service", "inspect", "tme-portal"])
        XCTAssertEqual(service.status, 0, service.stderr)
        XCTAssertFalse(service.stdout.contains(password), "service inspect shows the password")
        XCTAssertTrue(service.stdout.contains("tme-portal-env-"), "the secret is referenced by name")
        // The plain container's mounts and memory limit went over to the service, and stay across releases.
        XCTAssertTrue(service.stdout.contains("\"Target\": \"/app/uploads\""), service.stdout)
        XCTAssertTrue(service.stdout.contains("\"Target\": \"/app/data\""), service.stdout)
        XCTAssertTrue(service.stdout.contains("\"MemoryBytes\": 536870912"), service.stdout)
        for n in 1...3 {
            let ids = try fleetDocker(n, ["ps", "-q", "--filter", "label=com.docker.swarm.service.name=tme-portal"]).stdout
            guard !ids.isEmpty else { continue }  // Swarm may place no replica on a node
            let inspect = try fleetDocker(n, ["inspect"] + ids.split(separator: "\n").map(String.init))
            XCTAssertEqual(inspect.status, 0, inspect.stderr)
            XCTAssertFalse(inspect.stdout.contains(password), "a task container on server \(n) shows the password")
        }
        for output in [first, update, rollback] { XCTAssertFalse((output.stdout + output.stderr).contains(password)) }
        let secrets = try fleetDocker(1, ["secret", "ls", "--format", "{{.Name}}"]).stdout.split(separator: "\n").filter { $0.hasPrefix("tme-portal-env-") }
        XCTAssertLessThanOrEqual(secrets.count, 3, "old releases' secrets are removed at clean-up: \(secrets)")
    }

    /// A node whose Docker network agent cannot start (its gossip port held, as a Docker 20.10 engine
    /// that left a swarm can leave it) runs tasks that resolve nothing. `cluster up` refuses to join it
    /// before anything changes; joined all the same (by hand), `cluster up` names it, and the deploy's
    /// preflight refuses before anything changes.
    func testANodeWithoutItsNetworkAgentIsNamedAndTheDeployRefusedBeforeAnything() throws {
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
        holder.arguments = ["--net=/var/run/netns/tmeops-fleet3", "/bin/busybox", "nc", "-l", "-p", "7946"]
        try holder.run()
        defer {
            holder.terminate()
            holder.waitUntilExit()
        }
        usleep(300_000)
        let refused = try tmeops(["cluster", "up", "-e", "cluster"])
        XCTAssertEqual(refused.status, 1, refused.stdout + refused.stderr)
        XCTAssertTrue(refused.stderr.contains("port 7946 is taken on 10.97.150.13") && refused.stderr.contains("Nothing was changed"), refused.stderr)
        for n in 1...3 {
            XCTAssertEqual(try fleetDocker(n, ["info", "-f", "{{.Swarm.LocalNodeState}}"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines), "inactive")
        }

        // Joined by hand: the engine starts no network agent there.
        XCTAssertEqual(try fleetDocker(1, ["swarm", "init", "--advertise-addr", hosts[0]]).status, 0)
        let token = try fleetDocker(1, ["swarm", "join-token", "-q", "worker"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        for n in 2...3 {
            let joined = try fleetDocker(n, ["swarm", "join", "--token", token, "--advertise-addr", hosts[n - 1], hosts[0] + ":2377"])
            XCTAssertEqual(joined.status, 0, joined.stderr)
        }
        let up = try tmeops(["cluster", "up", "-e", "cluster"])
        XCTAssertEqual(up.status, 1, up.stdout + up.stderr)
        XCTAssertTrue(up.stderr.contains("Docker's network agent does not run on 10.97.150.13"), up.stderr)
        XCTAssertTrue(up.stderr.contains("Restart Docker on 10.97.150.13"), up.stderr)
        let deploy = try tmeops(["deploy", "-e", "cluster", "--image", "tme-portal-server:sandbox-2"])
        XCTAssertEqual(deploy.status, 1, deploy.stdout + deploy.stderr)
        XCTAssertTrue(deploy.stderr.contains("network agent does not run on 10.97.150.13") && deploy.stderr.contains("Nothing was changed"), deploy.stderr)
        XCTAssertEqual(try fleetDocker(1, ["service", "ls", "-q"]).stdout, "")
        for n in 1...3 { XCTAssertEqual(try running(n), "sandbox-1 true", "server \(n)") }
        XCTAssertTrue(ledger(1).isEmpty, "a deploy refused at preflight records no release")
    }

    func testClusterDownAsksFirstThenEveryNodeLeaves() throws {
        try clusterUp()
        let unconfirmed = try tmeops(["cluster", "down", "-e", "cluster"])
        XCTAssertEqual(unconfirmed.status, 2, unconfirmed.stdout + unconfirmed.stderr)
        XCTAssertTrue(unconfirmed.stderr.contains("pass --yes") && unconfirmed.stderr.contains("Nothing was changed"), unconfirmed.stderr)
        XCTAssertEqual((try status()["nodes"] as? [[String: Any]] ?? []).count, 3, "still a swarm of three")
        // A deploy that did not finish (its journal open on the lock's host) is recovered first.
        let open = home(1).appendingPathComponent("open")
        let made = try ProcessRunner.run(
            "/bin/sh",
            [
                "-c",
                #"mkdir -p "$1" && printf '%s\n' '{"release":"r-x","step":"swap","phase":"start","at":"2026-01-01T00:00:00Z","data":{}}' > "$1/r-x.jsonl" && chown -R --reference="$2" "$3""#,
                "sh", open.path, home(1).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path,
                home(1).deletingLastPathComponent().deletingLastPathComponent().path,
            ])
        XCTAssertEqual(made.status, 0, made.stderr)
        let unfinished = try tmeops(["cluster", "down", "-e", "cluster", "--yes"])
        XCTAssertEqual(unfinished.status, 1, unfinished.stdout + unfinished.stderr)
        XCTAssertTrue(unfinished.stderr.contains("run `tmeops recover -e cluster` first"), unfinished.stderr)
        XCTAssertEqual((try status()["nodes"] as? [[String: Any]] ?? []).count, 3, "still a swarm of three")
        try FileManager.default.removeItem(at: open.appendingPathComponent("r-x.jsonl"))
        let down = try tmeops(["cluster", "down", "-e", "cluster", "--yes"])
        XCTAssertEqual(down.status, 0, down.stdout + down.stderr)
        XCTAssertTrue(down.stdout.contains("left the swarm: 10.97.150.12, 10.97.150.13, 10.97.150.11"), down.stdout)
        for n in 1...3 {
            XCTAssertEqual(try fleetDocker(n, ["info", "-f", "{{.Swarm.LocalNodeState}}"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines), "inactive")
            XCTAssertEqual(try running(n), "sandbox-1 true", "server \(n): the plain containers were never touched")
        }
        let again = try tmeops(["cluster", "down", "-e", "cluster", "--yes"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("no host of cluster was in a swarm"), again.stdout)
        let audit = try String(contentsOf: home(1).appendingPathComponent("audit.jsonl"), encoding: .utf8)
        XCTAssertTrue(audit.contains(#""action":"cluster down""#) && audit.contains("left the swarm: 10.97.150.12"), audit)
    }
}

/// Deploys on a swarm formed once for the class: between tests `scripts/sandbox seed fleet --keep-swarm`
/// removes only the services, secrets and node labels, and each test's `cluster up` finds the swarm
/// already there.
final class SwarmDeployFleetSerial: SwarmFleetProject {
    override var seedArguments: [String] { ["seed", "fleet", "--keep-swarm"] }

    func testAReleaseThatDiesAfterItsHealthCheckIsRolledBackBySwarmWithExit4() throws {
        try clusterUp()
        XCTAssertEqual(try tmeops(["deploy", "-e", "cluster", "--image", "tme-portal-server:sandbox-2"]).status, 0)
        // Version 4 passes its health check and the test instance, then dies 4 s after it starts.
        let broken = try tmeops(["deploy", "-e", "cluster", "--image", "tme-portal-server:sandbox-4"])
        XCTAssertEqual(broken.status, 4, broken.stdout + broken.stderr)
        XCTAssertTrue(broken.stderr.contains("Swarm rolled"), broken.stderr)
        XCTAssertTrue(broken.stderr.contains("non-zero exit"), "the failing task's error: \(broken.stderr)")
        XCTAssertTrue(broken.stderr.contains("FATAL: worker pool exhausted"), "its last log lines: \(broken.stderr)")
        for n in 1...3 { XCTAssertEqual(try running(n), "sandbox-2 true", "server \(n)") }
        XCTAssertEqual(ledger(1).last?["outcome"] as? String, "rolled back")
        // What tmeops reports is what runs: Swarm had settled, or the report says it had not (a busy
        // machine can make Swarm take longer than tmeops waits: a node's heartbeat missed, a slot
        // rescheduled beside its task).
        let status = try status()
        if !broken.stderr.contains("some of its tasks are still being replaced") {
            XCTAssertEqual(appTasks(status).count, 3, "Swarm had settled before tmeops reported the rollback: \(appTasks(status))")
        }
        XCTAssertTrue(appTasks(status).allSatisfy { $0["release"] as? String == ledger(1).dropLast().last?["id"] as? String }, "\(appTasks(status))")
    }

    func testADeployKilledDuringTheUpdateIsFinishedByRecover() throws {
        try clusterUp()
        XCTAssertEqual(try tmeops(["deploy", "-e", "cluster", "--image", "tme-portal-server:sandbox-2"]).status, 0)
        let killed = try tmeops(["deploy", "-e", "cluster", "--image", "tme-portal-server:sandbox-1"], environment: ["TMEOPS_FAULT_AT": "swap.following"])
        XCTAssertNotEqual(killed.status, 0, killed.stdout)
        let refused = try tmeops(["deploy", "-e", "cluster", "--image", "tme-portal-server:sandbox-2"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("tmeops recover -e cluster"), refused.stderr)
        // Swarm carries on without tmeops; recover waits for it and records where it got to.
        let recovered = try tmeops(["recover", "-e", "cluster"])
        XCTAssertEqual(recovered.status, 0, recovered.stdout + recovered.stderr)
        XCTAssertTrue(recovered.stdout.contains("runs the new release"), recovered.stdout)
        XCTAssertTrue(recovered.stdout.contains("dropped the staging database"), recovered.stdout)
        for n in 1...3 { XCTAssertEqual(try running(n), "sandbox-1 true", "server \(n)") }
        XCTAssertEqual(ledger(1).last?["outcome"] as? String, "recovered")
        let next = try tmeops(["deploy", "-e", "cluster", "--image", "tme-portal-server:sandbox-2"])
        XCTAssertEqual(next.status, 0, next.stdout + next.stderr)
        for n in 1...3 { XCTAssertEqual(try running(n), "sandbox-2 true", "server \(n)") }
    }

    func testABrokenReleaseIsRefusedByItsTestServiceAndAnUnreachableNodeBeforeAnything() throws {
        try clusterUp()
        // Version 3 answers 500: its test instance, a one-replica service against the staging copy, fails.
        let broken = try tmeops(["deploy", "-e", "cluster", "--image", "tme-portal-server:sandbox-3"])
        XCTAssertEqual(broken.status, 1, broken.stdout + broken.stderr)
        XCTAssertTrue(broken.stderr.contains("the test instance of tme-portal-server:sandbox-3 failed"), broken.stderr)
        XCTAssertTrue(broken.stderr.contains("production was not touched"), broken.stderr)
        XCTAssertTrue(broken.stderr.contains("GET /api/health 500"), "its log lines: \(broken.stderr)")
        let services = try fleetDocker(1, ["service", "ls", "--format", "{{.Name}}"])
        XCTAssertEqual(services.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "", "no service is left behind")
        let secrets = try fleetDocker(1, ["secret", "ls", "--format", "{{.Name}}"])
        XCTAssertEqual(secrets.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "", "no secret is left behind")
        for n in 1...3 { XCTAssertEqual(try running(n), "sandbox-1 true", "server \(n): the plain containers still serve") }
        XCTAssertEqual(ledger(1).last?["outcome"] as? String, "failed")

        // A node that cannot be reached is named before anything changes.
        try stopSSHD(3)
        defer { _ = try? ProcessRunner.run("/bin/bash", [Sandbox.script, "up", "fleet"]) }
        let unreachable = try tmeops(["deploy", "-e", "cluster", "--image", "tme-portal-server:sandbox-2"])
        XCTAssertEqual(unreachable.status, 1, unreachable.stdout + unreachable.stderr)
        XCTAssertTrue(unreachable.stderr.contains("cannot reach 1 of 3 hosts of cluster") && unreachable.stderr.contains("10.97.150.13"), unreachable.stderr)
        XCTAssertEqual(try fleetDocker(1, ["service", "ls", "-q"]).stdout, "")
        for n in 1...3 { XCTAssertEqual(try running(n), "sandbox-1 true", "server \(n)") }
    }

    func testAManagerThatIsAWorkerIsRefusedNamingWhatToDo() throws {
        try clusterUp()
        try editConfig { $0.replacingOccurrences(of: "manager: 10.97.150.11", with: "manager: 10.97.150.12") }
        let deployed = try tmeops(["deploy", "-e", "cluster", "--image", "tme-portal-server:sandbox-2"])
        XCTAssertEqual(deployed.status, 2, deployed.stdout + deployed.stderr)
        XCTAssertTrue(deployed.stderr.contains("swarm.manager 10.97.150.12 is a worker of its swarm, not a manager"), deployed.stderr)
        let up = try tmeops(["cluster", "up", "-e", "cluster"])
        XCTAssertEqual(up.status, 2, up.stdout + up.stderr)
        XCTAssertTrue(up.stderr.contains("10.97.150.12 is a worker of a swarm"), up.stderr)
        for n in 1...3 { XCTAssertEqual(try running(n), "sandbox-1 true", "server \(n): nothing changed") }
        XCTAssertTrue(ledger(1).isEmpty)
    }
}

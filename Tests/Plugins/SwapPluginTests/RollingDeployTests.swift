import Foundation
import TMEOpsCore
import TMEOpsTestSupport
import XCTest

/// `tmeops deploy` to an environment of three hosts (the sandbox's fleet: three servers, each with its
/// own sshd, Docker engine and home folder, behind an nginx load balancer; the database on the first),
/// through the real binary. Each test starts from `scripts/sandbox seed fleet`: version 1 everywhere,
/// the database hand-migrated to 009 and adopted.
final class RollingDeployFleetSerial: FleetProject {
    func testRollingDeployReachesEveryHostAndTheLoadBalancerFailsNoRequest() throws {
        let prober = try Prober(sandbox["SANDBOX_FLEET_LB"] + "/api/health")
        let deployed = try tmeops(["deploy", "-e", "fleet", "--image", "tme-portal-server:sandbox-2"])
        let probed = try prober.stop()
        XCTAssertEqual(deployed.status, 0, deployed.stdout + deployed.stderr)
        for n in 1...3 {
            XCTAssertEqual(try running(n), "sandbox-2 true", "server \(n)")
            XCTAssertEqual(try leftovers(n), [], "server \(n)")
        }
        XCTAssertTrue(deployed.stdout.contains("batch 3 of 3: 10.97.150.13"), deployed.stdout)
        XCTAssertGreaterThan(probed.requests, 100)
        XCTAssertEqual(probed.failed, 0, probed.failures.joined(separator: "\n"))
        // One ledger, on the first host; each host's swap journal archived under the release.
        XCTAssertEqual(ledger(1).map { $0["outcome"] as? String }, ["deployed"])
        XCTAssertTrue(ledger(2).isEmpty && ledger(3).isEmpty)
        let release = try XCTUnwrap(ledger(1).first?["id"] as? String)
        for n in 1...3 {
            XCTAssertEqual(openJournals(n), [], "server \(n)")
            XCTAssertTrue(FileManager.default.fileExists(atPath: home(n).appendingPathComponent("journals/\(release).jsonl").path), "server \(n)")
        }
    }

    func testSecondBatchFailingItsHealthGatePutsTheFirstBackAndExits4() throws {
        // Server 2's env file names a wrong database password: its new container cannot pass the gate.
        let envFile = URL(fileURLWithPath: sandbox["SANDBOX_FLEET2_HOME"]).appendingPathComponent(".env")
        let original = try Data(contentsOf: envFile)
        defer { try? original.write(to: envFile) }
        let broken = String(decoding: original, as: UTF8.self).replacingOccurrences(of: "://tme_user:", with: "://tme_user:wrong")
        try Data(broken.utf8).write(to: envFile)
        let deployed = try tmeops(["deploy", "-e", "fleet", "--image", "tme-portal-server:sandbox-2", "--accept-env-changes"])
        XCTAssertEqual(deployed.status, 4, deployed.stdout + deployed.stderr)
        XCTAssertTrue(deployed.stderr.contains("the swap on 10.97.150.12 failed"), deployed.stderr)
        XCTAssertTrue(deployed.stderr.contains("10.97.150.11 back on the previous release"), deployed.stderr)
        for n in 1...3 {
            XCTAssertEqual(try running(n), "sandbox-1 true", "server \(n)")
            XCTAssertEqual(try leftovers(n), [], "server \(n)")
        }
        let entry = try XCTUnwrap(ledger(1).last)
        XCTAssertEqual(entry["outcome"] as? String, "rolled back")
        XCTAssertTrue((entry["detail"] as? String ?? "").contains("10.97.150.12"), "\(entry)")
        XCTAssertFalse(deployed.stderr.contains("wrong"), "the password must not be shown")
    }

    func testAnUnreachableHostIsNamedBeforeAnythingChanges() throws {
        try stopSSHD(3)
        defer { _ = try? ProcessRunner.run("/bin/bash", [Sandbox.script, "up", "fleet"]) }
        let deployed = try tmeops(["deploy", "-e", "fleet", "--image", "tme-portal-server:sandbox-2"])
        XCTAssertEqual(deployed.status, 1, deployed.stdout + deployed.stderr)
        XCTAssertTrue(deployed.stderr.contains("cannot reach 1 of 3 hosts of fleet"), deployed.stderr)
        XCTAssertTrue(deployed.stderr.contains("10.97.150.13"), deployed.stderr)
        for n in 1...3 { XCTAssertEqual(try running(n), "sandbox-1 true", "server \(n)") }
        XCTAssertTrue(ledger(1).isEmpty)
        XCTAssertFalse(FileManager.default.fileExists(atPath: home(1).appendingPathComponent("lock").path))
        XCTAssertEqual(openJournals(1), [])
        // The image went nowhere either: the pushes wait for preflight.
        XCTAssertNotEqual(try fleetDocker(1, ["image", "inspect", "tme-portal-server:sandbox-2"]).status, 0)
    }

    /// Killed after the first batch swapped: `recover` reads every host's journal and brings all three to
    /// one release (the previous one, as the swap had not reached every host); a deploy then works.
    func testSIGKILLDuringTheSecondBatchThenRecoverLeavesEveryHostOnOneRelease() throws {
        let killed = try tmeops(["deploy", "-e", "fleet", "--image", "tme-portal-server:sandbox-2"], environment: ["TMEOPS_FAULT_AT": "swap.batch-2"])
        XCTAssertEqual(killed.status, 9, killed.stdout + killed.stderr)
        XCTAssertEqual(try running(1), "sandbox-2 true")
        XCTAssertEqual(try running(2), "sandbox-1 true")
        let refused = try tmeops(["deploy", "-e", "fleet", "--image", "tme-portal-server:sandbox-2"])
        XCTAssertNotEqual(refused.status, 0, "a deploy is refused until recover has run")
        let recovered = try tmeops(["recover", "-e", "fleet"])
        XCTAssertEqual(recovered.status, 0, recovered.stdout + recovered.stderr)
        XCTAssertTrue(recovered.stdout.contains("1 of 3 hosts serve the new release"), recovered.stdout)
        for n in 1...3 {
            XCTAssertEqual(try running(n), "sandbox-1 true", "server \(n)")
            XCTAssertEqual(try leftovers(n), [], "server \(n)")
            XCTAssertEqual(openJournals(n), [], "server \(n)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: home(1).appendingPathComponent("lock").path))
        XCTAssertEqual(ledger(1).last?["outcome"] as? String, "rolled back")
        let again = try tmeops(["deploy", "-e", "fleet", "--image", "tme-portal-server:sandbox-2"])
        XCTAssertEqual(again.status, 0, again.stdout + again.stderr)
        for n in 1...3 { XCTAssertEqual(try running(n), "sandbox-2 true", "server \(n)") }
    }

    /// After a deploy: validate and logs cover every host (or the one `--host` names), the ledger is the
    /// first host's, and rollback rolls every host back in batches.
    func testEveryCommandAroundTheDeployCoversEveryHost() throws {
        XCTAssertEqual(try tmeops(["deploy", "-e", "fleet", "--image", "tme-portal-server:sandbox-2"]).status, 0)
        let validated = try tmeops(["validate", "-e", "fleet"])
        XCTAssertEqual(validated.status, 0, validated.stdout + validated.stderr)
        for host in hosts { XCTAssertTrue(validated.stdout.contains("validate fleet on \(host):"), validated.stdout) }
        let one = try tmeops(["validate", "-e", "fleet", "--host", hosts[1]])
        XCTAssertEqual(one.status, 0, one.stderr)
        XCTAssertTrue(one.stdout.contains("on \(hosts[1]):") && !one.stdout.contains("on \(hosts[0]):"), one.stdout)
        let logs = try tmeops(["logs", "-e", "fleet", "--tail", "3"])
        XCTAssertEqual(logs.status, 0, logs.stderr)
        for host in hosts { XCTAssertTrue(logs.stdout.contains("\(host) | "), logs.stdout) }
        let releases = try tmeops(["releases", "-e", "fleet"])
        XCTAssertEqual(releases.status, 0, releases.stderr)
        XCTAssertTrue(releases.stdout.contains("deployed"), releases.stdout)
        let lock = try tmeops(["lock", "status", "-e", "fleet"])
        XCTAssertEqual(lock.status, 0, lock.stderr)

        let rolledBack = try tmeops(["rollback", "-e", "fleet"])
        XCTAssertEqual(rolledBack.status, 0, rolledBack.stdout + rolledBack.stderr)
        for n in 1...3 {
            XCTAssertEqual(try running(n), "sandbox-1 true", "server \(n)")
            XCTAssertEqual(try leftovers(n), [], "server \(n)")
        }
        XCTAssertEqual(ledger(1).last?["outcome"] as? String, "rollback")
    }

    /// The third server's engine has no room for the image, as its SSH user sees it (sshd runs in a
    /// mount namespace of its own where a 1 MiB file system covers the engine's data folder): preflight
    /// refuses, naming the server, and nothing changes anywhere.
    func testAServerWithoutRoomForTheImageIsRefusedInPreflight() throws {
        let directory = sandbox["SANDBOX_DIR"] + "/fleet/h3"
        let pidFile = directory + "/ssh/sshd.pid"
        func stopSSHD() {
            guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
            else { return }
            kill(pid, SIGTERM)
            for _ in 0..<50 where kill(pid, 0) == 0 { usleep(100_000) }
        }
        stopSSHD()
        defer {
            stopSSHD()
            _ = try? ProcessRunner.run("/bin/bash", [Sandbox.script, "up", "fleet"])
        }
        let script =
            "mount -t tmpfs -o size=1m tmeops-full \(directory)/docker/data && exec /usr/sbin/sshd -f \(directory)/ssh/sshd_config -E \(directory)/ssh/sshd.log"
        let started = try ProcessRunner.run(
            "/usr/bin/nsenter",
            ["--net=/var/run/netns/tmeops-fleet3", "--mount=/run/tmeops-fleet/h3.mnt", "unshare", "-m", "--propagation", "private", "sh", "-c", script])
        XCTAssertEqual(started.status, 0, started.stderr)
        let deployed = try tmeops(["deploy", "-e", "fleet", "--image", "tme-portal-server:sandbox-2"])
        XCTAssertEqual(deployed.status, 1, deployed.stdout + deployed.stderr)
        XCTAssertTrue(deployed.stderr.contains("10.97.150.13: "), deployed.stderr)
        XCTAssertTrue(deployed.stderr.contains("(the Docker engine's data)") && deployed.stderr.contains("free some space"), deployed.stderr)
        for n in 1...3 { XCTAssertEqual(try running(n), "sandbox-1 true", "server \(n)") }
        XCTAssertTrue(ledger(1).isEmpty)
        XCTAssertEqual(openJournals(1), [])
        XCTAssertNotEqual(try fleetDocker(1, ["image", "inspect", "tme-portal-server:sandbox-2"]).status, 0, "no image was loaded anywhere")
    }

    func testThePlanListsTheBatchesAndChangesNothing() throws {
        let planned = try tmeops(["deploy", "-e", "fleet", "--image", "tme-portal-server:sandbox-2", "--dry-run"])
        XCTAssertEqual(planned.status, 0, planned.stderr)
        XCTAssertTrue(planned.stdout.contains("on 3 hosts: 10.97.150.11, 10.97.150.12, 10.97.150.13"), planned.stdout)
        XCTAssertTrue(planned.stdout.contains("3 batches of 1 host: 10.97.150.11 → 10.97.150.12 → 10.97.150.13"), planned.stdout)
        for n in 1...3 { XCTAssertEqual(try running(n), "sandbox-1 true") }
    }
}

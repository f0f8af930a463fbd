import Foundation
import TMEOpsCore
import TMEOpsTestSupport
import XCTest

/// A project against the sandbox's fleet (three servers, each with its own sshd, Docker engine and home
/// folder, behind an nginx load balancer; the database on the first), reset by `scripts/sandbox seed
/// fleet` before each test: version 1 on every server as plain containers, no swarm.
class FleetProject: SeededDeployProject {
    let hosts = ["10.97.150.11", "10.97.150.12", "10.97.150.13"]
    override var projectPrefix: String { "tmeops-fleet" }
    override var environmentName: String { "fleet" }
    override var seedArguments: [String] { ["seed", "fleet"] }

    /// The docker CLI against fleet server `n`'s engine (1-based).
    func fleetDocker(_ n: Int, _ arguments: [String]) throws -> ProcessResult {
        var environment = ProcessInfo.processInfo.environment
        environment["DOCKER_HOST"] = "unix://\(sandbox["SANDBOX_FLEET\(n)_DOCKER_SOCKET"])"
        return try ProcessRunner.run("/usr/bin/docker", arguments, environment: environment)
    }

    /// The sample app's version server `n` answers with on its port 80, and whether it is healthy.
    func running(_ n: Int) throws -> String {
        let answer = try ProcessRunner.run("/usr/bin/curl", ["-sS", "--max-time", "3", "http://\(hosts[n - 1])/api/health"])
        let json = try? JSONSerialization.jsonObject(with: Data(answer.stdout.utf8)) as? [String: Any]
        return "\(json?["version"] as? String ?? "none") \(json?["status"] as? String == "ok")"
    }

    /// The app containers on server `n` besides production's (leftovers a deploy must not leave).
    func leftovers(_ n: Int) throws -> [String] {
        try fleetDocker(n, ["ps", "-a", "--format", "{{.Names}}"]).stdout.split(separator: "\n").map(String.init)
            .filter { $0.hasPrefix("tme-user-app-1-") }
    }

    /// Stops fleet server `n`'s sshd (the server becomes unreachable); `scripts/sandbox up` starts it again.
    func stopSSHD(_ n: Int) throws {
        let pidFile = sandbox["SANDBOX_DIR"] + "/fleet/h\(n)/ssh/sshd.pid"
        let pid = try XCTUnwrap(Int32(String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        kill(pid, SIGTERM)
        for _ in 0..<50 where kill(pid, 0) == 0 { usleep(100_000) }
    }

    func home(_ n: Int) -> URL { URL(fileURLWithPath: sandbox["SANDBOX_FLEET\(n)_HOME"]).appendingPathComponent(".tmeops/tme-portal/\(environmentName)") }

    /// The journals open on server `n` (none once a deploy ended, unless it left hosts on different releases).
    func openJournals(_ n: Int) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: home(n).appendingPathComponent("open").path)) ?? []).filter { $0.hasSuffix(".jsonl") }
    }

    func ledger(_ n: Int) -> [[String: Any]] {
        let text = (try? String(contentsOf: home(n).appendingPathComponent("releases.jsonl"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// A prober sending GET /api/health through the load balancer every 20 ms until stopped.
    final class Prober {
        let process = Process()
        let output = Pipe()
        init(_ url: String) throws {
            process.executableURL = URL(fileURLWithPath: Sandbox.script).deletingLastPathComponent().appendingPathComponent("prober")
            process.arguments = [url, "0.02"]
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(300_000)
        }

        /// Stops it; the requests sent and the failures seen.
        func stop() throws -> (requests: Int, failed: Int, failures: [String]) {
            process.terminate()
            process.waitUntilExit()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            let report = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
            return (report["requests"] as? Int ?? 0, report["failed"] as? Int ?? -1, report["failures"] as? [String] ?? [])
        }
    }

}

import Foundation
import TMEOpsCore
import TMEOpsTestSupport
import XCTest

/// `ssh.proxy_jump` through the real binary: the sandbox fleet's third server refuses SSH from this
/// machine (a firewall rule in its namespace), and is reached through the first, as a server behind a
/// bastion is. Both host keys are checked.
final class JumpHostFleetSerial: XCTestCase {
    var sandbox: Sandbox!
    var project: URL!
    let bastion = "10.97.150.11"
    let hidden = "10.97.150.13"
    var rule: [String] { ["INPUT", "-s", "10.97.150.1", "-p", "tcp", "--dport", "22", "-j", "REJECT", "--reject-with", "tcp-reset"] }

    override func setUpWithError() throws {
        sandbox = try Sandbox.require()
        project = try TemporaryDirectory.make(prefix: "tmeops-jump")
        let written = try ProcessRunner.run("/bin/bash", [Sandbox.script, "config", "--write", project.path])
        XCTAssertEqual(written.status, 0, written.stderr)
        XCTAssertEqual(try firewall("-I").status, 0, "iptables in the fleet's third namespace")
    }

    override func tearDownWithError() throws {
        _ = try? firewall("-D")
        if let project { try? FileManager.default.removeItem(at: project) }
    }

    func firewall(_ action: String) throws -> ProcessResult {
        try ProcessRunner.run("/usr/bin/nsenter", ["--net=/var/run/netns/tmeops-fleet3", "iptables", action] + rule)
    }

    func tmeops(_ arguments: [String]) throws -> ProcessResult {
        try TMEOpsBinary.run(arguments, in: project, environment: ["DOCKER_HOST": "unix://\(sandbox["SANDBOX_LOCAL_DOCKER_SOCKET"])"])
    }

    func useBastion(knownHosts: String? = nil) throws {
        let url = project.appendingPathComponent("tmeops.yml")
        var text = try String(contentsOf: url, encoding: .utf8)
        text = text.replacingOccurrences(
            of: "      hosts: [10.97.150.11, 10.97.150.12, 10.97.150.13]\n",
            with: "      hosts: [10.97.150.11, 10.97.150.12, 10.97.150.13]\n      proxy_jump: tme-user@\(bastion)\n")
        if let knownHosts { text = text.replacingOccurrences(of: sandbox["SANDBOX_KNOWN_HOSTS"], with: knownHosts) }
        try Data(text.utf8).write(to: url)
    }

    func testAServerBehindABastionIsReachedThroughIt() throws {
        let direct = try tmeops(["ssh", "check", "-e", "fleet", "--host", hidden])
        XCTAssertEqual(direct.status, 1, "the firewall refuses this machine: \(direct.stdout) \(direct.stderr)")
        try useBastion()
        let through = try tmeops(["ssh", "check", "-e", "fleet", "--host", hidden])
        XCTAssertEqual(through.status, 0, through.stdout + through.stderr)
        // The engine and the app behind it, over the same tunnel: every host validated.
        let validated = try tmeops(["validate", "-e", "fleet"])
        XCTAssertEqual(validated.status, 0, validated.stdout + validated.stderr)
        XCTAssertTrue(validated.stdout.contains("validate fleet on \(hidden):"), validated.stdout)
    }

    func testABastionWhoseHostKeyChangedIsRefused() throws {
        // The bastion's line in a copy of known_hosts carries another server's key.
        let original = try String(contentsOfFile: sandbox["SANDBOX_KNOWN_HOSTS"], encoding: .utf8)
        let lines = original.split(separator: "\n").map(String.init)
        let otherKey = try XCTUnwrap(lines.first { $0.hasPrefix("10.97.150.12 ") }).dropFirst("10.97.150.12 ".count)
        let forged = lines.map { $0.hasPrefix("\(bastion) ") ? "\(bastion) \(otherKey)" : $0 }.joined(separator: "\n") + "\n"
        let knownHosts = project.appendingPathComponent("known_hosts")
        try Data(forged.utf8).write(to: knownHosts)
        try useBastion(knownHosts: knownHosts.path)
        let refused = try tmeops(["ssh", "check", "-e", "fleet", "--host", hidden])
        XCTAssertEqual(refused.status, 1, refused.stdout + refused.stderr)
        let text = refused.stdout + refused.stderr
        XCTAssertTrue(text.contains(bastion), text)
        XCTAssertTrue(text.contains("SHA256:"), "the fingerprints are shown: \(text)")
    }
}

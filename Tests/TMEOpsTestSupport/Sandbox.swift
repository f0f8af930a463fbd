import Foundation
import TMEOpsCore
import TMEOpsSSH
import XCTest

/// The sandbox production host made by `scripts/sandbox up`, as its `env` command describes it.
///
/// Without a running sandbox these tests skip, unless `TMEOPS_REQUIRE_SANDBOX=1` (set by `make test`
/// and CI), which turns a missing sandbox into a failure.
public struct Sandbox: Sendable {
    public let facts: [String: String]

    public static var script: String { TMEOpsBinary.packageRoot.appendingPathComponent("scripts/sandbox").path }

    public static func require() throws -> Sandbox {
        let required = ProcessInfo.processInfo.environment["TMEOPS_REQUIRE_SANDBOX"] == "1"
        let env = try ProcessRunner.run("/bin/bash", [script, "env"])
        var facts: [String: String] = [:]
        for line in env.stdout.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { facts[parts[0]] = parts[1] }
        }
        let status = try ProcessRunner.run("/bin/bash", [script, "status"])
        guard status.status == 0, let directory = facts["SANDBOX_DIR"], FileManager.default.fileExists(atPath: "\(directory)/sandbox.env") else {
            let message = "the sandbox is not up (run `sudo scripts/sandbox up`):\n\(status.stdout)\(status.stderr)"
            if required { throw TMEOpsError(message) }
            throw XCTSkip(message)
        }
        return Sandbox(facts: facts)
    }

    public subscript(_ key: String) -> String { facts[key] ?? "" }

    public func secret(_ name: String) throws -> String {
        try String(contentsOfFile: "\(self["SANDBOX_DIR"])/secrets/\(name)", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs a program inside the sandbox host's network namespace.
    @discardableResult
    public func inNamespace(_ arguments: [String], environment: [String: String] = [:]) throws -> ProcessResult {
        var base = ProcessInfo.processInfo.environment
        base.merge(environment) { _, new in new }
        return try ProcessRunner.run("/usr/bin/nsenter", ["--net=\(self["SANDBOX_NETNS"])"] + arguments, environment: base)
    }

    /// Runs the docker CLI against the sandbox's engine (tests may; tmeops itself never does).
    @discardableResult
    public func docker(_ arguments: [String]) throws -> ProcessResult {
        var environment = ProcessInfo.processInfo.environment
        environment["DOCKER_HOST"] = "unix://\(self["SANDBOX_DOCKER_SOCKET"])"
        return try ProcessRunner.run("/usr/bin/docker", arguments, environment: environment)
    }
}

extension Sandbox {
    /// Connection options for the sandbox host with its authorised key and recorded known_hosts.
    public func sshOptions(identity: String? = nil, knownHosts: String? = nil, policy: SSHConnectionOptions.HostKeyPolicy = .strict) -> SSHConnectionOptions {
        SSHConnectionOptions(
            host: self["SANDBOX_SSH_HOST"], port: Int(self["SANDBOX_SSH_PORT"]) ?? 22, user: self["SANDBOX_SSH_USER"],
            identity: identity ?? self["SANDBOX_SSH_IDENTITY"], knownHosts: knownHosts ?? self["SANDBOX_KNOWN_HOSTS"],
            hostKeyPolicy: policy, connectTimeout: 5)
    }
}

extension TestHarness {
    /// Writes the sandbox's tmeops.yml and .tmeops/secrets.env into the harness's folder.
    public func writeSandboxConfig() throws {
        let written = try ProcessRunner.run("/bin/bash", [Sandbox.script, "config", "--write", directory.path])
        guard written.status == 0 else { throw TMEOpsError("scripts/sandbox config --write failed: \(written.stderr)") }
    }
}

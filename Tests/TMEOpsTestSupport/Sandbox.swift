import Foundation
import Synchronization
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

    /// The sandbox, read once per test process: `scripts/sandbox env` and `status` (two bash runs and
    /// about eighteen probes) run on the first call only; later calls return the same facts or throw the
    /// same error. A test that takes a component down and back up checks it itself.
    public static func require() throws -> Sandbox {
        let result = memo.withLock { memo in
            if let memo { return memo }
            let fresh = Result { try probe() }
            memo = fresh
            return fresh
        }
        switch result {
        case .success(let sandbox): return sandbox
        case .failure(let error as TMEOpsError): throw error
        case .failure:
            // XCTSkip is rethrown as a new value so each test that meets it is skipped with the message.
            throw XCTSkip(notUpMessage.withLock { $0 })
        }
    }

    private static let memo = Mutex<Result<Sandbox, any Error>?>(nil)
    private static let notUpMessage = Mutex("")

    private static func probe() throws -> Sandbox {
        let required = ProcessInfo.processInfo.environment["TMEOPS_REQUIRE_SANDBOX"] == "1"
        let env = try ProcessRunner.run("/bin/bash", [script, "env"])
        var facts: [String: String] = [:]
        for line in env.stdout.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { facts[parts[0]] = parts[1] }
        }
        // Another stream's test may be in the middle of a swap (the app's port closed for a moment) or
        // repairing a server it broke: a sandbox that was brought up is given a minute to answer.
        var status = try ProcessRunner.run("/bin/bash", [script, "status"])
        let deadline = Date().addingTimeInterval(60)
        while status.status != 0, Date() < deadline, FileManager.default.fileExists(atPath: "\(facts["SANDBOX_DIR"] ?? "")/sandbox.env") {
            Thread.sleep(forTimeInterval: 1)
            status = try ProcessRunner.run("/bin/bash", [script, "status"])
        }
        guard status.status == 0, let directory = facts["SANDBOX_DIR"], FileManager.default.fileExists(atPath: "\(directory)/sandbox.env") else {
            let message = "the sandbox is not up (run `sudo scripts/sandbox up`):\n\(status.stdout)\(status.stderr)"
            if required { throw TMEOpsError(message) }
            notUpMessage.withLock { $0 = message }
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

extension Sandbox {
    /// Cuts the SSH connections that this test holds to the sandbox's hosts, as a dropped link would: the
    /// sshd processes serving them are killed. "This test" is this process and the processes it started
    /// (a tmeops binary run by the test), so a test running beside it keeps its own connections, and the
    /// servers keep listening, so reconnecting works. Returns how many connections were cut.
    @discardableResult
    public static func cutSSHConnections(ofProcessesUnder root: pid_t = getpid()) throws -> Int {
        // Each connection as the client sees it: "local-address peer-address", for this process and its children.
        var ours: Set<String> = []
        for line in try ProcessRunner.run("/usr/bin/ss", ["-tnpH", "state", "established"]).stdout.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard fields.count >= 5, fields[3].hasSuffix(":22") || fields[3].hasSuffix(":2222") else { continue }
            let pids = processIDs(in: fields[4...].joined(separator: " "))
            if pids.contains(where: { $0 == root || parent(of: $0) == root }) { ours.insert("\(fields[3]) \(fields[2])") }
        }
        guard !ours.isEmpty else { return 0 }
        // The sshd processes serving them, found in each sandbox namespace (the host's and the fleet's).
        var serving: Set<pid_t> = []
        let namespaces = (try? FileManager.default.contentsOfDirectory(atPath: "/var/run/netns")) ?? []
        for namespace in namespaces where namespace.hasPrefix("tmeops-") {
            let listed = try ProcessRunner.run("/usr/bin/nsenter", ["--net=/var/run/netns/\(namespace)", "ss", "-tnpH", "state", "established"])
            for line in listed.stdout.split(separator: "\n") {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                guard fields.count >= 5, ours.contains("\(fields[2]) \(fields[3])") else { continue }
                serving.formUnion(processIDs(in: fields[4...].joined(separator: " ")))
            }
        }
        for pid in serving { kill(pid, SIGKILL) }
        // kill returns once signalled; the connections are gone once the processes are.
        for _ in 0..<100 where serving.contains(where: { kill($0, 0) == 0 }) { usleep(20_000) }
        return ours.count
    }

    /// The `pid=N` values of an `ss -p` users column.
    private static func processIDs(in users: String) -> [pid_t] {
        users.components(separatedBy: "pid=").dropFirst().compactMap { pid_t($0.prefix { $0.isNumber }) }
    }

    /// The parent of `pid`, read from /proc (nil once it is gone).
    private static func parent(of pid: pid_t) -> pid_t? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let end = stat.lastIndex(of: ")") else { return nil }
        // After the command's closing parenthesis: state, then the parent's pid.
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        return fields.count > 1 ? pid_t(fields[1]) : nil
    }
}

extension Sandbox {
    /// Resets production (`["seed"]`) or the fleet (`["seed", "fleet"]`) to the runbook's start with its
    /// hand-migrated database adopted, as `scripts/sandbox seed` and `tmeops migrate adopt` leave it.
    /// The first time a binary does it, `adopt` runs and the result is kept as a template (`seed
    /// --save`); later calls restore the template (`seed --fast`), a second instead of seven.
    public func seedAdopted(_ seedArguments: [String], adopt: () throws -> ProcessResult) throws {
        let key = Self.binaryKey
        let fast = try ProcessRunner.run("/bin/bash", [Self.script] + seedArguments + ["--fast", key])
        if fast.status == 0 { return }
        guard fast.status == 3 else { throw TMEOpsError("scripts/sandbox \(seedArguments.joined(separator: " ")) --fast failed: \(fast.stderr)") }
        let seeded = try ProcessRunner.run("/bin/bash", [Self.script] + seedArguments)
        guard seeded.status == 0 else { throw TMEOpsError("scripts/sandbox \(seedArguments.joined(separator: " ")) failed: \(seeded.stderr)") }
        let adopted = try adopt()
        guard adopted.status == 0 else { throw TMEOpsError("tmeops migrate adopt failed: \(adopted.stdout)\(adopted.stderr)") }
        let saved = try ProcessRunner.run("/bin/bash", [Self.script] + seedArguments + ["--save", key])
        guard saved.status == 0 else { throw TMEOpsError("scripts/sandbox \(seedArguments.joined(separator: " ")) --save failed: \(saved.stderr)") }
    }

    /// What made a template: the tmeops binary's size and modification time (a rebuilt binary may
    /// record its ledger differently, so it adopts anew).
    static var binaryKey: String {
        let attributes = try? FileManager.default.attributesOfItem(atPath: TMEOpsBinary.url.path)
        let size = (attributes?[.size] as? NSNumber)?.intValue ?? 0
        let time = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        return "tmeops-\(size)-\(Int(time * 1000))"
    }
}

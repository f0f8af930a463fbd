import Foundation
import TMEOpsTestSupport
import XCTest

/// `tmeops ssh exec` through the real binary: streams, exit status and signals pass through.
final class SSHCommandSandboxTests: XCTestCase {
    func project() throws -> URL {
        _ = try Sandbox.require()
        let directory = try TemporaryDirectory.make(prefix: "tmeops-ssh-e2e")
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        let written = try ProcessRunner.run("/bin/bash", [Sandbox.script, "config", "--write", directory.path])
        XCTAssertEqual(written.status, 0, written.stderr)
        return directory
    }

    func testExecPassesStreamsAndExitStatusThrough() throws {
        let directory = try project()
        let result = try TMEOpsBinary.run(["ssh", "exec", "-e", "sandbox", "--", "sh", "-c", "echo out; echo err >&2; exit 3"], in: directory)
        XCTAssertEqual(result.status, 3)
        XCTAssertEqual(result.stdout, "out\n")
        XCTAssertEqual(result.stderr, "err\n")
        let quoted = try TMEOpsBinary.run(["-e", "sandbox", "ssh", "exec", "--", "printf", "[%s]", "a b", "$HOME", "it's"], in: directory)
        XCTAssertEqual(quoted.stdout, "[a b][$HOME][it's]")
        let signalled = try TMEOpsBinary.run(["ssh", "exec", "-e", "sandbox", "--", "sh", "-c", "kill -TERM $$"], in: directory)
        XCTAssertEqual(signalled.status, 143)
        XCTAssertTrue(signalled.stderr.contains("killed by signal TERM"), signalled.stderr)
    }

    func testStrictHostKeyCheckingRefusesAnUnknownHost() throws {
        let directory = try project()
        let config = directory.appendingPathComponent("tmeops.yml")
        let empty = directory.appendingPathComponent("empty_known_hosts")
        try Data().write(to: empty)
        let text = try String(contentsOf: config, encoding: .utf8)
            .replacingOccurrences(of: #"known_hosts: .*"#, with: "known_hosts: \(empty.path)", options: .regularExpression)
        try Data(text.utf8).write(to: config)
        let result = try TMEOpsBinary.run(["ssh", "check", "-e", "sandbox"], in: directory)
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("is not in \(empty.path)"), result.stderr)
        XCTAssertTrue(result.stderr.contains("host_key_policy is strict"), result.stderr)
    }
}

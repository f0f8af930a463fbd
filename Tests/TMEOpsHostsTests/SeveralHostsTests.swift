import Foundation
import TMEOpsCore
import TMEOpsHosts
import TMEOpsTestSupport
import XCTest

@testable import BackupPlugin
@testable import SwapPlugin
@testable import TransferPlugin
@testable import tmeops

/// An environment of two hosts against the sandbox: the sandbox host and an address where nothing
/// answers. What acts on every host names the one that failed; what acts on one refuses, changing
/// nothing; the database commands reach `database.host`.
final class SeveralHostsSerial: XCTestCase {
    let unreachable = "10.97.149.250"

    func harness() throws -> (TestHarness, String) {
        let sandbox = try Sandbox.require()
        let harness = try TestHarness(environment: ["HOME": NSHomeDirectory()])
        try registerPlugins(into: harness.registry)
        try harness.writeSandboxConfig()
        let host = sandbox["SANDBOX_SSH_HOST"]
        let config = harness.directory.appendingPathComponent("tmeops.yml")
        var text = try String(contentsOf: config, encoding: .utf8)
        text = text.replacingOccurrences(of: "      host: \(host)\n", with: "      hosts: [\(host), \(unreachable)]\n      connect_timeout: 2s\n")
        text = text.replacingOccurrences(
            of: "    database:\n      container: tme-user-postgres-1\n", with: "    database:\n      host: \(host)\n      container: tme-user-postgres-1\n")
        try Data(text.utf8).write(to: config)
        return (harness, host)
    }

    func testCheckAndExecRunOnEveryHostAndNameTheOneThatFailed() async throws {
        let (harness, host) = try harness()
        var result = await harness.outcome(try SSHCheckCommand.parse(["-e", "sandbox"]))
        XCTAssertEqual(result.status, 1, result.error)
        XCTAssertTrue(result.error.contains("1 of 2 hosts of sandbox failed the check: \(unreachable)"), result.error)
        XCTAssertTrue(harness.stdout.text.contains("== \(host)\n✓ connected to tme-user@\(host):22"), harness.stdout.text)
        XCTAssertTrue(harness.stdout.text.contains("== \(unreachable)\n✗ "), harness.stdout.text)

        result = await harness.outcome(try SSHCheckCommand.parse(["-e", "sandbox", "--host", host]))
        XCTAssertEqual(result.status, 0, result.error)

        result = await harness.outcome(try SSHExecCommand.parse(["-e", "sandbox", "--all-hosts", "--", "echo", "hello from $HOSTNAME"]))
        XCTAssertEqual(result.status, 1, result.error)
        XCTAssertTrue(harness.stdout.text.contains("== \(host)\nhello from $HOSTNAME\n"), "argv is quoted, never expanded: \(harness.stdout.text)")
        XCTAssertTrue(result.error.contains("failed on 1 of 2 hosts: \(unreachable)"), result.error)

        result = await harness.outcome(try SSHExecCommand.parse(["-e", "sandbox", "--host", host, "--", "true"]))
        XCTAssertEqual(result.status, 0, result.error)
        result = await harness.outcome(try SSHExecCommand.parse(["-e", "sandbox", "--host", "elsewhere", "--", "true"]))
        XCTAssertEqual(result.status, 2, result.error)
        XCTAssertTrue(result.error.contains("'elsewhere' is not one of environments.sandbox.ssh.hosts"), result.error)
    }

    func testADeployNamesTheUnreachableHostBeforeAnythingChangesAndTheDatabaseHostIsReached() async throws {
        let (harness, _) = try harness()
        var result = await harness.outcome(try SSHExecCommand.parse(["-e", "sandbox", "--", "true"]))
        XCTAssertEqual(result.status, 2, "a command on one host needs --host or --all-hosts: \(result.error)")

        result = await harness.outcome(try DeployCommand.parse(["-e", "sandbox", "--image", "tme-portal-server:sandbox-2"]))
        XCTAssertEqual(result.status, 1, result.error)
        XCTAssertTrue(result.error.contains("cannot reach 1 of 2 hosts of sandbox, so nothing was done: \(unreachable)"), result.error)

        // The backups live on the database host, reached without touching the other.
        result = await harness.outcome(try BackupListCommand.parse(["-e", "sandbox"]))
        XCTAssertEqual(result.status, 0, result.error)
    }

    func testEveryHostIsReachedAtOnceAndOneErrorNamesTheUnreachable() throws {
        let (harness, host) = try harness()
        let context = harness.context
        defer { context.connections.closeAll() }
        let environment = try context.loadConfig(selecting: .named("sandbox")).environment("sandbox")
        XCTAssertEqual(try context.hosts(environment).map(\.name), [host, unreachable])
        XCTAssertThrowsError(try context.connectedHosts(environment)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("cannot reach 1 of 2 hosts of sandbox, so nothing was done: \(unreachable): "), text)
            XCTAssertFalse(text.contains("\(host): "), text)
        }
        XCTAssertEqual(try context.databaseHost(environment)?.name, host)
    }
}

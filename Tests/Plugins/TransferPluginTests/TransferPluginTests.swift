import ArgumentParser
import Foundation
import Logging
import TMEOpsCore
import TMEOpsSSH
import TMEOpsTestSupport
import XCTest

@testable import TransferPlugin
@testable import tmeops

final class TransferCommandsSerial: XCTestCase {

    /// A harness whose folder holds the sandbox's tmeops.yml and secrets.
    func sandboxHarness(_ arguments: [String] = []) throws -> (TestHarness, Sandbox) {
        let sandbox = try Sandbox.require()
        let harness = try TestHarness(environment: ["HOME": NSHomeDirectory()], arguments: arguments)
        try registerPlugins(into: harness.registry)
        try harness.writeSandboxConfig()
        return (harness, sandbox)
    }

    func testSSHCheckReportsTheHost() async throws {
        let (harness, sandbox) = try sandboxHarness(["--json"])
        let user = sandbox["SANDBOX_SSH_USER"]
        try ProcessRunner.run("/usr/bin/install", ["-d", "-o", user, "-g", user, "-m", "0700", "/home/\(user)/backups"])
        try await harness.run(SSHCheckCommand.parse(["-e", "sandbox", "--json"]))
        let report = try JSONDecoder().decode(SSHCheckCommand.Report.self, from: Data(harness.stdout.text.utf8))
        XCTAssertEqual(report.destination, "\(sandbox["SANDBOX_SSH_USER"])@\(sandbox["SANDBOX_SSH_HOST"]):22")
        XCTAssertTrue(report.hostKey.hasPrefix("ED25519 SHA256:"), report.hostKey)
        XCTAssertEqual(report.user, sandbox["SANDBOX_SSH_USER"])
        XCTAssertTrue(report.os.hasPrefix("Debian GNU/Linux"), report.os)
        XCTAssertTrue(report.docker.hasPrefix("20.10"), report.docker)
        XCTAssertEqual(report.dockerAPI, "1.41")
        XCTAssertEqual(report.backupDirectory, "/home/\(sandbox["SANDBOX_SSH_USER"])/backups")
        XCTAssertGreaterThan(report.backupFreeBytes ?? 0, 0)
    }

    func testSSHCheckOfALocalEnvironmentIsAUsageError() async throws {
        let (harness, _) = try sandboxHarness()
        do {
            try await harness.run(SSHCheckCommand.parse(["-e", "development"]))
            XCTFail("expected an error")
        } catch let error as TMEOpsError {
            XCTAssertEqual(error.exitStatus, .usage)
            XCTAssertTrue(error.message.contains("environment 'development' has no ssh section"), error.message)
        }
    }

    func testPutAndGetThroughTheCommands() async throws {
        let (harness, sandbox) = try sandboxHarness(["--json"])
        try harness.write("payload.bin", String(repeating: "tmeops ", count: 200_000))
        let remote = "/home/\(sandbox["SANDBOX_SSH_USER"])/plugin-test-\(UUID().uuidString.prefix(6)).bin"
        try await harness.run(TransferPutCommand.parse(["payload.bin", remote, "-e", "sandbox", "--json", "--sensitive"]))
        let put = try JSONSerialization.jsonObject(with: Data(harness.stdout.text.utf8)) as? [String: Any]
        XCTAssertEqual(put?["bytes"] as? Int, 1_400_000)
        let local = try SHA256Hex.ofFile(harness.directory.appendingPathComponent("payload.bin").path)
        XCTAssertEqual(put?["sha256"] as? String, local)

        let back = try TestHarness(environment: ["HOME": NSHomeDirectory()], arguments: ["--json"])
        try registerPlugins(into: back.registry)
        try back.writeSandboxConfig()
        try await back.run(TransferGetCommand.parse([remote, "copy.bin", "-e", "sandbox", "--json"]))
        XCTAssertEqual(try SHA256Hex.ofFile(back.directory.appendingPathComponent("copy.bin").path), local)

        let session = try SSHSession(sandbox.sshOptions())
        defer { session.close() }
        XCTAssertEqual(try session.capture(["stat", "-c", "%a", remote]).stdoutText, "600\n")
        _ = try session.capture(["rm", "-f", remote])
        let plain = try FileManager.default.attributesOfItem(atPath: back.directory.appendingPathComponent("copy.bin").path)
        XCTAssertEqual((plain[.posixPermissions] as? NSNumber)?.intValue, 0o644, "a file outside the backups folder keeps the usual mode")

        // Under backups.dir (reached through `..`, too), the download is owner-only without --sensitive.
        let backups = "/home/\(sandbox["SANDBOX_SSH_USER"])/backups"
        let dump = "\(backups)/transfer-test-\(UUID().uuidString.prefix(6)).dump"
        XCTAssertEqual(try session.script(#"mkdir -p -- "$(dirname -- "$1")" && echo data > "$1""#, [dump], what: "writing a dump").exit.succeeded, true)
        defer { _ = try? session.capture(["rm", "-f", dump]) }
        let viaParent = dump.replacingOccurrences(of: "/backups/", with: "/backups/../backups/")
        try await back.run(TransferGetCommand.parse([viaParent, "dump.bin", "-e", "sandbox", "--json"]))
        let copy = try FileManager.default.attributesOfItem(atPath: back.directory.appendingPathComponent("dump.bin").path)
        XCTAssertEqual((copy[.posixPermissions] as? NSNumber)?.intValue, 0o600)
    }

    func testMissingLocalFileIsAUsageError() async throws {
        let (harness, _) = try sandboxHarness()
        do {
            try await harness.run(TransferPutCommand.parse(["nope.bin", "/tmp/", "-e", "sandbox"]))
            XCTFail("expected an error")
        } catch let error as TMEOpsError {
            XCTAssertEqual(error.message, "nope.bin does not exist or cannot be read")
            XCTAssertEqual(error.exitStatus, .usage)
        }
    }

    func testDryRunConnectsToNothing() async throws {
        let (harness, _) = try sandboxHarness(["--dry-run"])
        try harness.write("a.txt", "a")
        try await harness.run(TransferPutCommand.parse(["a.txt", "/tmp/a.txt", "-e", "sandbox", "--dry-run"]))
        XCTAssertEqual(harness.stdout.text, "would upload a.txt to sandbox:/tmp/a.txt (via /tmp/a.txt.part, verified by SHA-256)\n")
    }
}

enum SHA256Hex {
    static func ofFile(_ path: String) throws -> String {
        let output = try ProcessRunner.run("/usr/bin/sha256sum", [path])
        return String(output.stdout.prefix(64))
    }
}

/// The transfer plugin's description and progress lines (no sandbox).
final class TransferPluginTests: XCTestCase {
    func testDescribesItself() {
        XCTAssertEqual(TransferPlugin.description.id, "transfer")
        XCTAssertEqual(TransferPlugin.commands.map { $0._commandName }, ["ssh", "transfer"])
    }

    func testProgressLineFormat() {
        let line = ProgressReporter.line(label: "upload x", done: 512 << 20, total: 1 << 30, elapsed: 4)
        XCTAssertEqual(line, "upload x [============>           ]  50%  512.0 MiB / 1.0 GiB  128.0 MiB/s  ETA 4s")
        XCTAssertTrue(ProgressReporter.line(label: "u", done: 0, total: 10, elapsed: 0).hasSuffix("ETA --"))
        // A size not known ahead (a dump as it is written): bytes, rate and time so far.
        XCTAssertEqual(ProgressReporter.line(label: "backup db", done: 300 << 20, total: 0, elapsed: 3), "backup db  300.0 MiB  100.0 MiB/s  3s")
    }

    /// A muted bar (a deploy's push while other steps print) is drawn only once unmuted, from what is
    /// known by then, and ends its line once.
    func testAMutedBarIsDrawnOnlyAfterUnmute() {
        let terminal = BufferSink(isTerminal: true)
        let bar = ProgressReporter(label: "push app:1", sink: terminal, logger: Logger(label: "test"), muted: true)
        bar.update(10, 100)
        bar.update(50, 100)
        XCTAssertEqual(terminal.text, "")
        bar.unmute()
        XCTAssertTrue(terminal.text.hasPrefix("\r\u{1B}[2Kpush app:1 ["), terminal.text)
        XCTAssertTrue(terminal.text.contains(" 50%"), terminal.text)
        bar.update(100, 100)
        bar.finish()
        bar.finish()
        XCTAssertTrue(terminal.text.contains("100%"), terminal.text)
        XCTAssertTrue(terminal.text.hasSuffix("\n") && !terminal.text.hasSuffix("\n\n"), terminal.text)
        let silent = BufferSink(isTerminal: true)
        let never = ProgressReporter(label: "x", sink: silent, logger: Logger(label: "test"), muted: true)
        never.update(1, 2)
        never.finish()
        XCTAssertEqual(silent.text, "", "a bar never shown leaves no empty line")
    }
}

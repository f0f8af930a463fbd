import Foundation
import TMEOpsCrypto
import TMEOpsSSH
import TMEOpsTestSupport
import XCTest

/// Remote commands over one reused session on the sandbox's sshd.
final class RemoteCommandSandboxTests: XCTestCase {
    nonisolated(unsafe) static var shared: SSHSession?

    func session() throws -> SSHSession {
        if let session = Self.shared { return session }
        let session = try SSHSession(try Sandbox.require().sshOptions())
        Self.shared = session
        return session
    }

    override class func tearDown() {
        shared?.close()
        shared = nil
    }

    func testArgumentsArriveExactlyAsGiven() throws {
        let words = [
            "plain", "two words", "it's", "\"double\"", "$HOME", "`id`", "$(id)", "a;b|c&d", "*", "~", "back\\slash", "new\nline", "", "-n", "naïve ü",
        ]
        let output = try session().capture(["printf", "%s\\0"] + words)
        XCTAssertTrue(output.exit.succeeded, output.stderrText)
        let received = output.stdout.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
        XCTAssertEqual(received, words)
    }

    func testExitStatusAndSignal() throws {
        let session = try session()
        XCTAssertEqual(try session.capture(["sh", "-c", "exit 7"]).exit, RemoteExit(status: 7, signal: nil))
        XCTAssertEqual(try session.capture(["sh", "-c", "kill -TERM $$"]).exit.signal, "TERM")
        let missing = try session.capture(["no-such-program-tmeops"])
        XCTAssertEqual(missing.exit.status, 127)
        XCTAssertTrue(missing.stderrText.contains("not found"), missing.stderrText)
    }

    func testStdinIsStreamed() throws {
        let data = Data((0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let output = try session().capture(["sha256sum"], stdin: data)
        XCTAssertEqual(String(output.stdoutText.prefix(64)), SHA256.hex(SHA256.digest(data)))
    }

    func testLargeStdoutAndStderrTogetherDoNotDeadlock() throws {
        var out = 0
        var err = 0
        let exit = try session().run(
            ["sh", "-c", "head -c 5242880 /dev/zero >&2 & head -c 52428800 /dev/zero; wait"],
            stdout: { out += $0.count }, stderr: { err += $0.count })
        XCTAssertTrue(exit.succeeded)
        XCTAssertEqual(out, 52_428_800)
        XCTAssertEqual(err, 5_242_880)
    }

    func testTimeout() throws {
        let started = Date()
        XCTAssertThrowsError(try session().capture(["sleep", "10"], timeout: 1)) { error in
            XCTAssertEqual((error as? SSHError)?.kind, .timeout)
            XCTAssertTrue("\(error)".contains("`sleep 10` did not finish within 1 s"), "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        // The session is still usable afterwards.
        XCTAssertEqual(try session().capture(["echo", "ok"]).stdoutText, "ok\n")
    }

    func testAClosedSessionRefusesWork() throws {
        let session = try SSHSession(try Sandbox.require().sshOptions())
        session.close()
        session.close()
        XCTAssertThrowsError(try session.capture(["true"])) { XCTAssertEqual(($0 as? SSHError)?.kind, .closed, "\($0)") }
    }

    func testOneSessionCarriesManyCommands() throws {
        let session = try session()
        for index in 0..<50 {
            XCTAssertEqual(try session.capture(["echo", "\(index)"]).stdoutText, "\(index)\n")
        }
    }

    /// Captures go through one kept runner: one channel for many commands, each with its own input,
    /// output, errors and status, every byte kept.
    func testCapturesShareOneKeptRunnerAndKeepEveryByte() throws {
        let session = try SSHSession(try Sandbox.require().sshOptions())
        defer { session.close() }
        let binary = Data((0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let before = SSHStatistics.shared.count(.command)
        for index in 0..<20 {
            let output = try session.capture(["sh", "-c", "cat; printf 'warn %s\\n' \"$1\" >&2; exit $2", "sh", "\(index)", "\(index % 3)"], stdin: binary)
            XCTAssertEqual(output.stdout, binary)
            XCTAssertEqual(output.stderrText, "warn \(index)\n")
            XCTAssertEqual(output.exit, RemoteExit(status: Int32(index % 3), signal: nil))
        }
        XCTAssertEqual(try session.capture(["printf", "no newline at the end"]).stdoutText, "no newline at the end")
        XCTAssertEqual(try session.capture(["sh", "-c", "read line; echo \"[$line]\""]).stdoutText, "[]\n", "no input: end of file at once")
        XCTAssertEqual(SSHStatistics.shared.count(.command) - before, 1, "twenty-two commands over one channel")
        // sshd refuses an exec request this large; through the runner it runs.
        let large = try session.capture(["sh", "-c", "printf '%s' \"$1\" | wc -c", "sh", String(repeating: "x", count: 100 << 10)])
        XCTAssertEqual(large.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), "\(100 << 10)")
        XCTAssertEqual(SSHStatistics.shared.count(.command) - before, 1)
    }

    func testAnUploadStreamsThroughTheKeptRunnerAndAFailedWriterLeavesItInStep() throws {
        let session = try SSHSession(try Sandbox.require().sshOptions())
        defer { session.close() }
        _ = try session.capture(["true"])
        let before = SSHStatistics.shared.count(.command)
        // 5 MiB and a bit, in odd sizes: whole chunks, a partial one, every byte kept.
        let bytes = Data((0..<((5 << 20) + 12345)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        let upload = try XCTUnwrap(
            try session.openUploadThroughRunner([
                "sh", "-c", #"t=$(mktemp) && cat > "$t" && wc -c < "$t" && sha256sum < "$t" | cut -d' ' -f1; rm -f "$t"; echo done >&2"#,
            ]))
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + 70_001)
            try bytes[offset..<end].withUnsafeBytes { try upload.write($0) }
            offset = end
        }
        let output = try upload.finish()
        XCTAssertEqual(output.exit, RemoteExit(status: 0, signal: nil), output.stderrText)
        let lines = output.stdoutText.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first?.trimmingCharacters(in: .whitespaces), "\(bytes.count)")
        let hasher = SHA256()
        bytes.withUnsafeBytes { hasher.update($0) }
        XCTAssertEqual(lines.last, hasher.finishHex())
        XCTAssertEqual(output.stderrText, "done\n")

        // A writer that stops reading early (a full disk, say) fails with its own words; the rest of the
        // input is still taken from the channel, so the runner serves the next command.
        let early = try XCTUnwrap(try session.openUploadThroughRunner(["sh", "-c", "head -c 10 > /dev/null; echo 'No space left on device' >&2; exit 3"]))
        for _ in 0..<4 { try bytes.withUnsafeBytes { try early.write($0) } }
        let failed = try early.finish()
        XCTAssertEqual(failed.exit, RemoteExit(status: 3, signal: nil))
        XCTAssertEqual(failed.stderrText, "No space left on device\n")
        XCTAssertEqual(try session.capture(["echo", "next"]).stdoutText, "next\n")
        XCTAssertEqual(SSHStatistics.shared.count(.command) - before, 0, "uploads and commands on the runner the session kept")

        // Given up midway, the runner is closed; the next command starts a new one.
        let abandoned = try XCTUnwrap(try session.openUploadThroughRunner(["sh", "-c", "cat > /dev/null"]))
        try bytes.withUnsafeBytes { try abandoned.write($0) }
        abandoned.abort()
        XCTAssertEqual(try session.capture(["echo", "again"]).stdoutText, "again\n")
        XCTAssertEqual(SSHStatistics.shared.count(.command) - before, 1)
    }
}

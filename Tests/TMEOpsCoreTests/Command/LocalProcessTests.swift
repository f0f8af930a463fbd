import Foundation
import XCTest

@testable import TMEOpsCore

/// Programs run on this machine: their output, their status, and a child that leaves a daemon behind.
final class LocalProcessTests: XCTestCase {
    func testOutputErrorsAndStatusAreKeptApart() throws {
        let result = try LocalProcess.run(["sh", "-c", "echo out; echo err >&2; exit 7"])
        XCTAssertEqual(String(decoding: result.stdout, as: UTF8.self), "out\n")
        XCTAssertEqual(String(decoding: result.stderr, as: UTF8.self), "err\n")
        XCTAssertEqual(result.status, 7)
        XCTAssertFalse(result.signaled)
        let killed = try LocalProcess.run(["sh", "-c", "kill -9 $$"])
        XCTAssertEqual(killed.status, 9)
        XCTAssertTrue(killed.signaled)
    }

    /// A script that starts a daemon (its output closed, as `dockerd … >>log 2>&1 &` does) and exits:
    /// the run ends with the script, not with the daemon (which keeps every other descriptor it inherited).
    func testAChildThatLeavesADaemonBehindIsSeenToExit() throws {
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("tmeops-daemon-\(UUID().uuidString.prefix(8)).pid")
        defer {
            if let pid = (try? String(contentsOf: pidFile, encoding: .utf8)).flatMap({ pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
                kill(pid, SIGKILL)
            }
            try? FileManager.default.removeItem(at: pidFile)
        }
        let result = try LocalProcess.run([
            "sh", "-c", #"(exec >/dev/null 2>&1 </dev/null; exec sleep 600) & echo $! > "$1"; exit 3"#, "sh", pidFile.path,
        ])
        XCTAssertEqual(result.status, 3)
        XCTAssertFalse(result.signaled)
    }
}

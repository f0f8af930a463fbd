import Foundation
import TMEOpsCore
import XCTest

@testable import TMEOpsHosts

/// The lock and the journal as the host reports them, read without a host.
final class RemoteStateParsingTests: XCTestCase {
    func testTheLockOwnerAndItsHeartbeat() throws {
        let owner = RemoteState.LockOwner(owner: "ana", host: "laptop", pid: 42, at: "2026-12-07T10:00:00Z", message: "deploy r-1", token: "t1")
        let json = String(decoding: try JSONEncoder().encode(owner), as: UTF8.self)
        let read = RemoteState.LockOwner.parse("1765101600\n\(json)")
        XCTAssertEqual(read.owner, "ana")
        XCTAssertEqual(read.token, "t1")
        XCTAssertEqual(read.renewed, 1_765_101_600)
        XCTAssertNil(RemoteState.LockOwner.parse("-\n\(json)").renewed, "no heartbeat file yet")
        // A message holding newlines and braces cannot make the owner unreadable: the JSON escapes them.
        var tricky = owner
        tricky.message = "line one\n}{\"owner\":\"mallory\"}"
        let trickyJSON = String(decoding: try JSONEncoder().encode(tricky), as: UTF8.self)
        XCTAssertEqual(RemoteState.LockOwner.parse("-\n\(trickyJSON)").owner, "ana")
    }

    func testALockWithoutAReadableOwnerIsStillHeld() {
        for text in ["-\n", "-\n{not json", "1765101600\n", ""] {
            let read = RemoteState.LockOwner.parse(text)
            XCTAssertEqual(read.owner, "unknown", text)
            XCTAssertEqual(read.message, "the lock has no readable owner.json", text)
            XCTAssertEqual(read.token, "", text)
        }
    }

    func testJournalLinesAndAHoleNamedByItsLine() throws {
        let lines = [
            RemoteState.JournalEntry(release: "r-1", step: "preflight", phase: "start"),
            RemoteState.JournalEntry(release: "r-1", step: "backup", phase: "taken", data: ["backup": "b1"]),
        ]
        let text = try lines.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }.joined(separator: "\n") + "\n"
        XCTAssertEqual(try RemoteState.JournalEntry.parse(text, place: "h:~/j"), lines)
        XCTAssertEqual(try RemoteState.JournalEntry.parse("", place: "h:~/j"), [])
        XCTAssertThrowsError(try RemoteState.JournalEntry.parse(text + "{\"release\": \"r-1\", \"step\n", place: "h:~/.tmeops/j.jsonl")) {
            XCTAssertTrue("\($0)".hasPrefix("line 3 of the deploy journal h:~/.tmeops/j.jsonl cannot be read"), "\($0)")
            XCTAssertTrue("\($0)".contains("then run `tmeops recover` again"), "\($0)")
        }
    }
}

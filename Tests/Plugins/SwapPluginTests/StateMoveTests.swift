import Foundation
import TMEOpsCore
import TMEOpsTestSupport
import XCTest

/// The state an older tmeops kept for every environment of an app in `~/.tmeops/<app>/`, met by this
/// release: laid out from what a deploy of this release writes (the files are the same; only their
/// folder moved), then moved by the first command into the environment's own folder.
final class StateMoveSerial: SeededDeployProject {
    override var projectPrefix: String { "tmeops-move" }

    var appDir: String { "/home/\(sandbox["SANDBOX_SSH_USER"])/.tmeops/tme-portal" }

    /// Runs `script` with `sh` as the sandbox host's SSH user (the owner of its state files), `$1` the
    /// app's state folder.
    @discardableResult
    func asUser(_ script: String) throws -> ProcessResult {
        let result = try ProcessRunner.run("/usr/sbin/runuser", ["-u", sandbox["SANDBOX_SSH_USER"], "--", "sh", "-c", script, "sh", appDir])
        XCTAssertEqual(result.status, 0, result.stderr)
        return result
    }

    func exists(_ path: String) -> (exists: Bool, directory: Bool) {
        var directory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: "\(appDir)/\(path)", isDirectory: &directory)
        return (exists, directory.boolValue)
    }

    func testAnOlderReleasesSharedStateMovesIntoTheEnvironmentsFolderWholeAndOnce() throws {
        let deployed = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-2", "--message", "before the move"])
        XCTAssertEqual(deployed.status, 0, deployed.stdout + deployed.stderr)
        XCTAssertTrue(exists("sandbox/releases.jsonl").exists)
        // As an older tmeops kept it: the environment's files one level up. A move killed half way left
        // the ledger in the staging folder already; an older deploy's lock was renewed a minute ago.
        try asUser(
            #"""
            set -e; cd "$1"; rm -f lock
            mkdir .moving-sandbox; mv sandbox/releases.jsonl .moving-sandbox/
            mv sandbox/* .; rmdir sandbox
            mkdir lock; echo '{"owner":"older","host":"elsewhere","pid":1,"at":"2026-01-01T00:00:00Z","message":"older","token":"t"}' > lock/owner.json
            touch lock/heartbeat
            """#)
        let ledger = try String(contentsOfFile: "\(appDir)/.moving-sandbox/releases.jsonl", encoding: .utf8)
        let journals = try FileManager.default.contentsOfDirectory(atPath: "\(appDir)/journals").sorted()
        let audit = try String(contentsOfFile: "\(appDir)/audit.jsonl", encoding: .utf8)

        // While the older tmeops may still be deploying, nothing moves and the command stops.
        let refused = try tmeops(["releases", "-e", "sandbox"])
        XCTAssertNotEqual(refused.status, 0, refused.stdout)
        XCTAssertTrue(refused.stderr.contains("held by an older tmeops"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("nothing was moved"), refused.stderr)
        XCTAssertTrue(exists("journals").directory && exists("lock").directory && !exists("sandbox").exists)

        // Abandoned two hours ago: the first command moves everything, says so, and reads it.
        try asUser(#"touch -d '2 hours ago' "$1/lock/heartbeat""#)
        let listed = try tmeops(["releases", "-e", "sandbox", "--json"])
        XCTAssertEqual(listed.status, 0, listed.stdout + listed.stderr)
        XCTAssertTrue(listed.stderr.contains("into ~/.tmeops/tme-portal/sandbox"), listed.stderr)
        XCTAssertTrue(listed.stdout.contains("before the move"), listed.stdout)
        XCTAssertEqual(try String(contentsOfFile: "\(appDir)/sandbox/releases.jsonl", encoding: .utf8), ledger)
        XCTAssertEqual(try String(contentsOfFile: "\(appDir)/sandbox/audit.jsonl", encoding: .utf8), audit)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: "\(appDir)/sandbox/journals").sorted(), journals)
        XCTAssertTrue(exists("sandbox/lock").directory, "the abandoned lock moved with the history")
        XCTAssertFalse(exists(".moving-sandbox").exists || exists("journals").exists || exists("releases.jsonl").exists)
        // The old place can no longer be locked by an older tmeops (its lock is a mkdir there).
        XCTAssertTrue(exists("lock").exists && !exists("lock").directory)
        XCTAssertNotEqual(try ProcessRunner.run("/usr/sbin/runuser", ["-u", sandbox["SANDBOX_SSH_USER"], "--", "mkdir", "\(appDir)/lock"]).status, 0)

        // Once only: the next command says nothing of it, and the environment goes on from its history.
        XCTAssertEqual(try tmeops(["lock", "release", "-e", "sandbox", "--force"]).status, 0)
        let again = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-1", "--message", "after the move"])
        XCTAssertEqual(again.status, 0, again.stdout + again.stderr)
        XCTAssertFalse(again.stderr.contains("moved"), again.stderr)
        let releases = try tmeops(["releases", "-e", "sandbox", "--json"])
        XCTAssertTrue(releases.stdout.contains("before the move") && releases.stdout.contains("after the move"), releases.stdout)
    }
}

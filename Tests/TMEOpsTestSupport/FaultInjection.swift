import Foundation
import TMEOpsCore
import XCTest

/// Breaks things on the sandbox at a chosen moment of a running tmeops process, so that each failure
/// path can be tested where it happens rather than guessed at with timing.
///
/// The process is started with `pausing(at:)` in its environment; at that fault point it stops and
/// waits. The test breaks what it wants (`cutSSH()`, `makeUnwritable(_:)`, `fill(_:)`), then lets it go
/// on with `resume(_:)`.
public final class FaultInjection {
    public let sandbox: Sandbox
    public let directory: URL
    private var undo: [() -> Void] = []

    public init(sandbox: Sandbox) throws {
        self.sandbox = sandbox
        directory = try TemporaryDirectory.make(prefix: "tmeops-faults")
    }

    deinit {
        for step in undo.reversed() { step() }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Environment variables that make tmeops pause at `point` (a step's `<step>.start`/`.done`, or a
    /// swap point such as `swap.after-stop`).
    public func pausing(at point: String) -> [String: String] {
        ["TMEOPS_FAULT_PAUSE": point, "TMEOPS_FAULT_DIR": directory.path]
    }

    /// Waits (at most `timeout` seconds, or until `process` ends) for the process to reach `point`.
    @discardableResult
    public func waitUntilReached(_ point: String, while process: Process, timeout: TimeInterval = 180) -> Bool {
        let marker = directory.appendingPathComponent("\(point).reached").path
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline, process.isRunning {
            if FileManager.default.fileExists(atPath: marker) { return true }
            usleep(20_000)
        }
        return FileManager.default.fileExists(atPath: marker)
    }

    /// Lets the paused process go on.
    public func resume(_ point: String) {
        FileManager.default.createFile(atPath: directory.appendingPathComponent("\(point).go").path, contents: Data())
    }

    /// Ends the SSH connections of the tmeops processes this test started (the sshd processes serving
    /// them), as a dropped link would; the server keeps listening, so reconnecting works. Tests running
    /// beside this one keep theirs.
    public func cutSSH() throws {
        XCTAssertGreaterThan(try Sandbox.cutSSHConnections(), 0, "no SSH connection of this test to cut")
    }

    /// Makes `path` on the host read-only for its owner (the sandbox user); undone when this is released.
    public func makeUnwritable(_ path: String) throws {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0o600
        try FileManager.default.setAttributes([.posixPermissions: 0o400], ofItemAtPath: path)
        undo.append { try? FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path) }
    }

    /// Fills the filesystem holding `folder` (the sandbox's small one, `SANDBOX_SMALL_DIR`) until no byte
    /// is left; the filler file is removed when this is released.
    public func fill(_ folder: String) throws {
        let filler = "\(folder)/tmeops-fault-filler-\(UUID().uuidString.prefix(6))"
        _ = try ProcessRunner.run("/bin/sh", ["-c", #"dd if=/dev/zero of="$1" bs=1M 2>/dev/null; sync"#, "fill", filler])
        undo.append { try? FileManager.default.removeItem(atPath: filler) }
    }
}

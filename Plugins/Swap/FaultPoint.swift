import Foundation
import TMEOpsArchive
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import ValidatePlugin

/// Test-only points in the deploy where a fault can be injected.
///
/// With TMEOPS_FAULT_AT=<name>, the process kills itself with SIGKILL there, as a power cut would, so
/// tests can prove that `recover` restores production from any such point. With
/// TMEOPS_FAULT_PAUSE=<name> and TMEOPS_FAULT_DIR=<folder>, it writes `<folder>/<name>.reached` and
/// waits (at most two minutes) for `<folder>/<name>.go`, so a test can break something at exactly
/// that moment (cut the SSH connection, fill a disk) and let the deploy go on into the fault.
public enum FaultPoint {
    public static func hit(_ name: String, _ context: CommandContext) {
        if let wanted = context.environment["TMEOPS_FAULT_AT"], wanted == name {
            context.logger.warning("TMEOPS_FAULT_AT=\(name): killing this process now")
            kill(getpid(), SIGKILL)
        }
        if let wanted = context.environment["TMEOPS_FAULT_PAUSE"], wanted == name, let dir = context.environment["TMEOPS_FAULT_DIR"] {
            context.logger.warning("TMEOPS_FAULT_PAUSE=\(name): waiting for \(dir)/\(name).go")
            FileManager.default.createFile(atPath: "\(dir)/\(name).reached", contents: Data())
            let deadline = Date().addingTimeInterval(120)
            while !FileManager.default.fileExists(atPath: "\(dir)/\(name).go"), Date() < deadline { usleep(20_000) }
        }
    }
}

import Foundation
import XCTest

@testable import TMEOpsHosts

/// Who holds a lock, judged without a host: by machine and boot, never by hostname alone.
final class LockOwnerTests: XCTestCase {
    func owner(machine: String?, host: String = ProcessInfo.processInfo.hostName, pid: Int32 = getpid()) -> RemoteState.LockOwner {
        RemoteState.LockOwner(
            owner: "ops", host: host, pid: pid, at: ISO8601DateFormatter().string(from: Date()), message: "m", token: "t", machine: machine)
    }

    func testAHolderIsLiveOnlyOnThisMachineInThisBoot() {
        XCTAssertTrue(owner(machine: RemoteState.LockOwner.thisMachine).isLiveProcessHere)
        // Another machine with the same hostname (a CI runner, a container): its pid means nothing here.
        XCTAssertFalse(owner(machine: "another-machine/another-boot").isLiveProcessHere)
        XCTAssertFalse(owner(machine: "another-machine/another-boot").isAbandoned(ttl: 60), "renewed just now, elsewhere: alive")
        // This machine before a reboot: the process is gone whatever its pid.
        if RemoteState.LockOwner.thisMachine.contains("/") {
            let before = RemoteState.LockOwner.thisMachine.split(separator: "/").first.map { "\($0)/an-earlier-boot" }
            XCTAssertFalse(owner(machine: before).isThisMachine)
        }
        // An older lock without a machine id is judged by its hostname, as before.
        XCTAssertTrue(owner(machine: nil).isLiveProcessHere)
        XCTAssertTrue(owner(machine: RemoteState.LockOwner.thisMachine, pid: 999_999).isAbandoned(ttl: 3600), "its process is gone")
    }

    func testALockTakenByHandNeverExpires() {
        var held = owner(machine: "elsewhere/boot")
        held.at = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-7200))
        XCTAssertTrue(held.isExpired(ttl: 60))
        held.byHand = true
        XCTAssertFalse(held.isExpired(ttl: 60))
    }
}

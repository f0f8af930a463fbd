import Foundation
import TMEOpsHosts
import XCTest

/// `OnEachHost.map`: every item on a thread of its own, results in the items' order.
final class OnEachHostTests: XCTestCase {
    /// Eight items that can finish only when all eight have started: a pool bounded by the cores
    /// (two here) would never let them; a thread each does.
    func testEveryItemRunsAtTheSameTime() {
        let arrived = NSCondition()
        var count = 0
        let results = OnEachHost.map(Array(0..<8)) { item -> Int in
            arrived.lock()
            count += 1
            arrived.broadcast()
            let deadline = Date().addingTimeInterval(20)
            while count < 8, arrived.wait(until: deadline) {}
            let all = count == 8
            arrived.unlock()
            guard all else { throw CancellationError() }
            return item * 10
        }
        XCTAssertEqual(results.compactMap { try? $0.get() }, [0, 10, 20, 30, 40, 50, 60, 70])
    }

    func testAFailureStaysWithItsItem() {
        struct Refused: Error {}
        let results = OnEachHost.map(["a", "b", "c"]) { name -> String in
            if name == "b" { throw Refused() }
            return name.uppercased()
        }
        XCTAssertEqual(results.map { try? $0.get() }, ["A", nil, "C"])
        XCTAssertNotNil(results[1].failureText)
    }
}

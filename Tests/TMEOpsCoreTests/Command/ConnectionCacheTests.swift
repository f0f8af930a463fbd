import TMEOpsCore
import XCTest

/// Counts what it opened and closed, in order.
final class OpenLog: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String] = []
    func add(_ entry: String) { lock.withLock { entries.append(entry) } }
    var all: [String] { lock.withLock { entries } }
}

final class ConnectionCacheTests: XCTestCase {
    func testOneValuePerKeyClosedNewestFirst() throws {
        let cache = ConnectionCache()
        let log = OpenLog()
        func open(_ key: String) -> String {
            cache.value(key) {
                log.add("open \(key)")
                return ("\(key)-connection", { log.add("close \(key)") })
            }
        }
        XCTAssertEqual(open("a"), "a-connection")
        XCTAssertEqual(open("a"), "a-connection")
        XCTAssertEqual(open("b"), "b-connection")
        XCTAssertEqual(log.all, ["open a", "open b"], "a second ask reuses the first connection")
        cache.closeAll()
        XCTAssertEqual(log.all, ["open a", "open b", "close b", "close a"])
        _ = open("a")
        XCTAssertEqual(log.all.last, "open a", "after closeAll a new ask opens again")
        cache.closeAll()
    }

    func testDiscardClosesOneAndTheNextAskOpensAgain() {
        let cache = ConnectionCache()
        let log = OpenLog()
        let make = { (key: String) in
            cache.value(key) { () -> (Int, close: () -> Void) in
                log.add("open \(key)")
                return (1, { log.add("close \(key)") })
            }
        }
        _ = make("ssh")
        _ = make("engine")
        cache.discard("ssh")
        XCTAssertEqual(log.all, ["open ssh", "open engine", "close ssh"])
        _ = make("ssh")
        XCTAssertEqual(log.all.last, "open ssh")
        cache.closeAll()
        XCTAssertEqual(Array(log.all.suffix(2)), ["close ssh", "close engine"])
    }

    func testAFailedOpenKeepsNothing() {
        struct Refused: Error {}
        let cache = ConnectionCache()
        XCTAssertThrowsError(try cache.value("x") { () throws -> (Int, close: () -> Void) in throw Refused() })
        XCTAssertEqual(cache.value("x") { (2, close: {}) }, 2)
    }

    func testCopiesOfAContextShareItsConnections() throws {
        let context = try TestHarnessLite().context
        let copy = context.with("step", "backup")
        XCTAssertTrue(context.connections === copy.connections)
    }
}

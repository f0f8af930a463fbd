import TMEOpsCore
import TMEOpsTestSupport
import XCTest

@testable import SwapPlugin

final class SwapPluginTests: XCTestCase {
    func testDescribesItself() {
        XCTAssertFalse(SwapPlugin.description.summary.isEmpty)
    }
}

/// `tmeops audit --since`: a duration back from now, a date, or a timestamp.
final class AuditSinceTests: XCTestCase {
    func testSinceReadsDurationsDatesAndTimestamps() throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        XCTAssertNil(try AuditCommand.start(nil, now: now))
        XCTAssertEqual(try AuditCommand.start("24h", now: now), now.addingTimeInterval(-86_400))
        XCTAssertEqual(try AuditCommand.start("7d", now: now), now.addingTimeInterval(-7 * 86_400))
        XCTAssertEqual(try AuditCommand.start("2026-12-01", now: now), ISO8601DateFormatter().date(from: "2026-12-01T00:00:00Z"))
        XCTAssertEqual(try AuditCommand.start("2026-12-01T09:30:00Z", now: now), ISO8601DateFormatter().date(from: "2026-12-01T09:30:00Z"))
        XCTAssertThrowsError(try AuditCommand.start("yesterday", now: now))
    }
}

import TMEOpsCore
import TMEOpsTestSupport
import XCTest

@testable import BackupPlugin

final class BackupPluginTests: XCTestCase {
    func testDescribesItself() {
        XCTAssertFalse(BackupPlugin.description.summary.isEmpty)
    }
}

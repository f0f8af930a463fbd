import TMEOpsCore
import TMEOpsTestSupport
import XCTest

@testable import TransferPlugin

final class TransferPluginTests: XCTestCase {
    func testDescribesItself() {
        XCTAssertFalse(TransferPlugin.description.summary.isEmpty)
    }
}

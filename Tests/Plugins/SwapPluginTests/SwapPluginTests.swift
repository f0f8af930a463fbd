import TMEOpsCore
import TMEOpsTestSupport
import XCTest

@testable import SwapPlugin

final class SwapPluginTests: XCTestCase {
    func testDescribesItself() {
        XCTAssertFalse(SwapPlugin.description.summary.isEmpty)
    }
}

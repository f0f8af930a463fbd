import TMEOpsCore
import TMEOpsTestSupport
import XCTest

@testable import ValidatePlugin

final class ValidatePluginTests: XCTestCase {
    func testDescribesItself() {
        XCTAssertFalse(ValidatePlugin.description.summary.isEmpty)
    }
}

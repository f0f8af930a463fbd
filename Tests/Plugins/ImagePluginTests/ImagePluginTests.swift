import TMEOpsCore
import TMEOpsTestSupport
import XCTest

@testable import ImagePlugin

final class ImagePluginTests: XCTestCase {
    func testDescribesItself() {
        XCTAssertFalse(ImagePlugin.description.summary.isEmpty)
    }
}

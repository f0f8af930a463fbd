import TMEOpsCore
import TMEOpsTestSupport
import XCTest

@testable import SchemaPlugin

final class SchemaPluginTests: XCTestCase {
    func testDescribesItself() {
        XCTAssertFalse(SchemaPlugin.description.summary.isEmpty)
    }
}

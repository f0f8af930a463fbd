import Foundation
import TMEOpsCrypto
import XCTest

/// The random bytes a link measurement sends: as many as asked, and not the same twice.
final class RandomBytesTests: XCTestCase {
    func testAsManyBytesAsAskedAndNeverTheSameTwice() {
        XCTAssertEqual(RandomBytes.make(0).count, 0)
        XCTAssertEqual(RandomBytes.make(13).count, 13)
        let first = RandomBytes.make(1 << 20)
        let second = RandomBytes.make(1 << 20)
        XCTAssertEqual(first.count, 1 << 20)
        XCTAssertNotEqual(first, second)
        // Every byte value turns up in a mebibyte of them (a zeroed or constant buffer would fail).
        XCTAssertEqual(Set(first).count, 256)
    }
}

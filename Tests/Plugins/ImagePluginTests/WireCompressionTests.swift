import Foundation
import TMEOpsArchive
import XCTest

@testable import ImagePlugin

/// The sample the compressor's rate is measured on: pure logic, no sandbox.
final class WireCompressionSampleTests: XCTestCase {
    func testTheSampleIsAsLargeAsAskedAndHalfOfItDoesNotCompress() throws {
        let sample = WireCompression.layerLikeSample(size: 1 << 20)
        XCTAssertEqual(sample.count, 1 << 20)
        var compressed = 0
        let writer = try CompressedStreamWriter(destination: "a sample", compression: .gzip, level: 1) { compressed += $0.count }
        try writer.write(sample)
        try writer.close()
        let ratio = Double(compressed) / Double(sample.count)
        // The text half shrinks to almost nothing, the random half not at all.
        XCTAssertGreaterThan(ratio, 0.45, "\(ratio)")
        XCTAssertLessThan(ratio, 0.6, "\(ratio)")
    }
}

import Foundation
import TMEOpsTestSupport
import XCTest

@testable import TMEOpsArchive

/// The gzip stream file transfers use on this side, against itself and against the `gzip` program a
/// server runs on the other side.
final class GzipStreamTests: XCTestCase {
    func text(_ count: Int) -> Data {
        var data = Data()
        var line = 0
        while data.count < count {
            data.append(Data("export function render\(line % 97)(props) { return props.children; } // \(line)\n".utf8))
            line += 1
        }
        return data.prefix(count)
    }

    func random(_ count: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    func run(_ stream: GzipStream, _ data: Data, chunk: Int) throws -> Data {
        var out = Data()
        var offset = 0
        while offset < data.count {
            let piece = data[offset..<min(offset + chunk, data.count)]
            try piece.withUnsafeBytes { try stream.process($0) { out.append(contentsOf: $0) } }
            offset += chunk
        }
        try stream.finish { out.append(contentsOf: $0) }
        return out
    }

    func testWhatItCompressesItDecompressesWhateverTheChunks() throws {
        for data in [text(3 << 20), random(1 << 20), Data()] {
            for chunk in [1 << 20, 65_537, 4099] {
                let compressed = try run(GzipStream(.compress(level: 1)), data, chunk: chunk)
                XCTAssertEqual(try run(GzipStream(.decompress), compressed, chunk: 1000), data)
            }
        }
        let compressed = try run(GzipStream(.compress(level: 1)), text(3 << 20), chunk: 1 << 20)
        XCTAssertLessThan(compressed.count, (3 << 20) / 4, "text shrinks")
    }

    func testItReadsTheGzipProgramsOutputAndItsOwnIsReadByIt() throws {
        let data = text(2 << 20)
        let folder = try TemporaryDirectory.make(prefix: "tmeops-gzip")
        defer { try? FileManager.default.removeItem(at: folder) }
        let plain = folder.appendingPathComponent("plain")
        try data.write(to: plain)
        // Two members one after the other, as `gzip` writes for appended input.
        let made = try ProcessRunner.run("/bin/sh", ["-c", #"gzip -1 -c "$1" > "$1.gz" && gzip -1 -c "$1" >> "$1.gz""#, "sh", plain.path])
        XCTAssertEqual(made.status, 0, made.stderr)
        let members = try Data(contentsOf: URL(fileURLWithPath: plain.path + ".gz"))
        XCTAssertEqual(try run(GzipStream(.decompress), members, chunk: 7919), data + data)

        let ours = folder.appendingPathComponent("ours.gz")
        try run(GzipStream(.compress(level: 1)), data, chunk: 65_536).write(to: ours)
        let read = try ProcessRunner.run("/bin/sh", ["-c", #"gzip -dc "$1" | cmp - "$2""#, "sh", ours.path, plain.path])
        XCTAssertEqual(read.status, 0, read.stderr + read.stdout)
    }

    func testATruncatedOrDamagedStreamIsAnErrorNeverShortData() throws {
        let compressed = try run(GzipStream(.compress(level: 1)), text(1 << 20), chunk: 1 << 20)
        XCTAssertThrowsError(try run(GzipStream(.decompress), compressed.prefix(compressed.count / 2), chunk: 4096)) { error in
            XCTAssertTrue("\(error)".contains("truncated"), "\(error)")
        }
        var damaged = compressed
        for index in stride(from: 100, to: 400, by: 3) { damaged[index] ^= 0x5A }
        XCTAssertThrowsError(try run(GzipStream(.decompress), damaged, chunk: 4096)) { error in
            XCTAssertTrue("\(error)".contains("damaged"), "\(error)")
        }
        XCTAssertThrowsError(try run(GzipStream(.decompress), Data("not gzip at all".utf8), chunk: 4096))
    }
}

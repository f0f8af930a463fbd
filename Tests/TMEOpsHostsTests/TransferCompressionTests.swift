import Foundation
import TMEOpsCrypto
import TMEOpsSSH
import TMEOpsTestSupport
import XCTest

@testable import TMEOpsHosts

/// When a file transfer compresses, and that a compressed transfer keeps every guarantee of a plain one.
final class TransferCompressionTests: XCTestCase {
    typealias Sample = TransferCompression.Sample

    func testAutoCompressesWhereItPaysOnly() {
        let mib = 1024.0 * 1024
        let text = Sample(ratio: 0.26, bytesPerSecond: 75 * mib)
        let big: UInt64 = 200 << 20
        // 100 Mbit/s is 12 MiB/s: text shrunk to a quarter travels at about 29 MiB/s.
        XCTAssertTrue(TransferCompression.decide(.auto, size: big, sample: text, linkBytesPerSecond: 12 * mib))
        XCTAssertTrue(TransferCompression.decide(.auto, size: big, sample: text, linkBytesPerSecond: 2.4 * mib))
        // A link as fast as the compressor, incompressible bytes, a small file, nothing measured: as they are.
        XCTAssertFalse(TransferCompression.decide(.auto, size: big, sample: text, linkBytesPerSecond: 70 * mib))
        XCTAssertFalse(TransferCompression.decide(.auto, size: big, sample: Sample(ratio: 1.0, bytesPerSecond: 30 * mib), linkBytesPerSecond: 2 * mib))
        XCTAssertFalse(TransferCompression.decide(.auto, size: 1 << 20, sample: text, linkBytesPerSecond: 2 * mib))
        XCTAssertFalse(TransferCompression.decide(.auto, size: big, sample: nil, linkBytesPerSecond: nil))
        // Asked for, it is done (files travel as gzip whatever image setting names); none never.
        XCTAssertTrue(TransferCompression.decide(.gzip, size: 10, sample: nil, linkBytesPerSecond: nil))
        XCTAssertTrue(TransferCompression.decide(.zstd, size: 10, sample: nil, linkBytesPerSecond: nil))
        XCTAssertFalse(TransferCompression.decide(.none, size: big, sample: text, linkBytesPerSecond: 1))
    }

    func testASlowLinkGetsTheStrongerLevelWhileTheCompressorKeepsAhead() {
        let mib = 1024.0 * 1024
        let fast = Sample(ratio: 0.26, bytesPerSecond: 75 * mib)
        let strong = Sample(ratio: 0.21, bytesPerSecond: 25 * mib)
        XCTAssertEqual(TransferCompression.level(fast: fast, strong: strong, linkBytesPerSecond: 2.4 * mib), 6, "20 Mbit/s: fewer bytes win")
        XCTAssertEqual(TransferCompression.level(fast: fast, strong: strong, linkBytesPerSecond: 12 * mib), 1, "100 Mbit/s: level 6 could not keep up")
    }

    func testTheCheapestEncodingForTheLinkWinsOnlyByAMargin() {
        let mib = 1024.0 * 1024
        let gzip6 = Sample(ratio: 0.20, bytesPerSecond: 25 * mib)
        let zstd6 = Sample(ratio: 0.16, bytesPerSecond: 60 * mib)
        let slowZstd = Sample(ratio: 0.15, bytesPerSecond: 2 * mib)
        XCTAssertEqual(
            TransferCompression.cheapest([("gzip", gzip6), ("zstd -6", zstd6)], linkBytesPerSecond: 2.4 * mib), "zstd -6", "20 Mbit/s: a fifth fewer bytes")
        XCTAssertEqual(
            TransferCompression.cheapest([("gzip", gzip6), ("zstd -19", slowZstd)], linkBytesPerSecond: 2.4 * mib), "gzip",
            "a compressor slower than the link loses")
        XCTAssertEqual(
            TransferCompression.cheapest([("gzip", gzip6), ("same", Sample(ratio: 0.195, bytesPerSecond: 25 * mib))], linkBytesPerSecond: 2.4 * mib), "gzip",
            "2% is not enough to change")
        XCTAssertNil(TransferCompression.cheapest([(String, Sample)](), linkBytesPerSecond: 1))
    }

    func testARandomFileSamplesIncompressibleAndATextFileDoesNot() throws {
        let folder = try TemporaryDirectory.make(prefix: "tmeops-sample")
        defer { try? FileManager.default.removeItem(at: folder) }
        let random = folder.appendingPathComponent("random")
        let made = try ProcessRunner.run(
            "/bin/sh", ["-c", #"head -c 6000000 /dev/urandom > "$1"; cat /usr/include/*.h > "$2""#, "sh", random.path, random.path + ".h"])
        XCTAssertEqual(made.status, 0, made.stderr)
        XCTAssertGreaterThan(try XCTUnwrap(TransferCompression.sample(localFile: random.path)).ratio, 0.95)
        XCTAssertLessThan(try XCTUnwrap(TransferCompression.sample(localFile: random.path + ".h")).ratio, 0.5)
    }
}

/// Compressed transfers against the sandbox's sshd.
final class CompressedTransferSandboxTests: XCTestCase {
    var sandbox: Sandbox!
    var session: SSHSession!
    var local: URL!
    var remote: String!

    override func setUpWithError() throws {
        sandbox = try Sandbox.require()
        session = try SSHSession(sandbox.sshOptions())
        local = try TemporaryDirectory.make(prefix: "tmeops-gzip-transfer")
        remote = "/home/\(sandbox["SANDBOX_SSH_USER"])/tmeops-gzip-test-\(UUID().uuidString.prefix(8))"
        XCTAssertTrue(try session.capture(["mkdir", "-p", remote]).exit.succeeded)
    }

    override func tearDownWithError() throws {
        _ = try? session?.capture(["rm", "-rf", remote])
        session?.close()
        try? FileManager.default.removeItem(at: local)
    }

    func textFile(_ name: String, bytes: Int) throws -> String {
        let path = local.appendingPathComponent(name).path
        let made = try ProcessRunner.run(
            "/bin/sh", ["-c", #"for i in $(seq 40); do cat /usr/include/*.h; done | head -c "$2" > "$1""#, "sh", path, String(bytes)])
        XCTAssertEqual(made.status, 0, made.stderr)
        return path
    }

    func gzipTransfer() -> FileTransfer {
        var transfer = FileTransfer(session: session)
        transfer.encoding = { _ in .gzip }
        return transfer
    }

    func testAGzipUploadAndDownloadSendFewerBytesAndVerifyTheFilesOwnHash() throws {
        let file = try textFile("schema.sql", bytes: 6 << 20)
        let up = try gzipTransfer().upload(file, to: "\(remote!)/schema.sql")
        XCTAssertEqual(up.encoding, "gzip")
        XCTAssertEqual(up.bytes, 6 << 20)
        XCTAssertLessThan(up.wireBytes, up.bytes / 2, "text travels compressed")
        XCTAssertEqual(up.sha256, try SHA256.hexOfFile(atPath: file))
        XCTAssertEqual(String(try session.capture(["sha256sum", "\(remote!)/schema.sql"]).stdoutText.prefix(64)), up.sha256)

        let back = local.appendingPathComponent("back.sql").path
        let down = try gzipTransfer().download("\(remote!)/schema.sql", to: back)
        XCTAssertEqual(down.encoding, "gzip")
        XCTAssertLessThan(down.wireBytes, down.bytes / 2)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: back)), try Data(contentsOf: URL(fileURLWithPath: file)))
    }

    func testAZstdUploadToAServerWithZstdKeepsEveryByte() throws {
        XCTAssertTrue(TransferCompression.zstdOnServer(session), "the sandbox's hosts have zstd, as a server may")
        let file = try textFile("log.txt", bytes: 7 << 20)
        var transfer = FileTransfer(session: session)
        transfer.encoding = { _ in .zstd(level: 6) }
        let up = try transfer.upload(file, to: "\(remote!)/log.txt")
        XCTAssertEqual(up.encoding, "zstd")
        XCTAssertLessThan(up.wireBytes, up.bytes / 3, "text travels compressed")
        XCTAssertEqual(String(try session.capture(["sha256sum", "\(remote!)/log.txt"]).stdoutText.prefix(64)), try SHA256.hexOfFile(atPath: file))
        let zstd = try XCTUnwrap(TransferCompression.sample(localFile: file) { try ZstdCompressor(level: 6) })
        let gzip = try XCTUnwrap(TransferCompression.sample(localFile: file, level: 6))
        XCTAssertLessThan(zstd.ratio, gzip.ratio, "zstd -6 shrinks text more than gzip -6")
    }

    func testACompressedUploadResumesAPartAndAStreamTheServerCannotReadLeavesTheDestinationUntouched() throws {
        let file = try textFile("dump.sql", bytes: 5 << 20)
        let target = "\(remote!)/dump.sql"
        let firstPart = try Data(contentsOf: URL(fileURLWithPath: file)).prefix(2 << 20)
        XCTAssertTrue(try session.capture(["sh", "-c", #"cat > "$1""#, "sh", target + ".part"], stdin: firstPart).exit.succeeded)
        let resumed = try gzipTransfer().upload(file, to: target, resume: true)
        XCTAssertEqual(resumed.resumedFrom, 2 << 20)
        XCTAssertEqual(String(try session.capture(["sha256sum", target]).stdoutText.prefix(64)), try SHA256.hexOfFile(atPath: file))

        // This side sends plain bytes while the server expects gzip: the server's decoder refuses them.
        final class Identity: StreamCoder {
            func process(_ input: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) throws { try emit(input) }
            func finish(emit: (UnsafeRawBufferPointer) throws -> Void) throws {}
        }
        var broken = FileTransfer(session: session)
        broken.encoding = { _ in
            WireEncoding(name: "gzip", serverDecoder: "gzip -dc", serverEncoder: "gzip -1 -c", makeEncoder: { Identity() }, makeDecoder: { Identity() })
        }
        let other = "\(remote!)/other.sql"
        XCTAssertThrowsError(try broken.upload(file, to: other)) { error in
            XCTAssertTrue("\(error)".contains("untouched"), "\(error)")
        }
        XCTAssertFalse(try session.capture(["test", "-e", other]).exit.succeeded, "nothing in place of the destination")
    }
}

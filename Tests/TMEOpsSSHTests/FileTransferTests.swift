import Foundation
import TMEOpsCrypto
import TMEOpsTestSupport
import XCTest

@testable import TMEOpsSSH

/// Uploads and downloads against the sandbox's sshd, including the failures an operator meets.
final class FileTransferSerial: XCTestCase {
    var sandbox: Sandbox!
    var session: SSHSession!
    var local: URL!
    /// A fresh folder on the sandbox host for each test.
    var remote: String!

    override func setUpWithError() throws {
        sandbox = try Sandbox.require()
        session = try SSHSession(sandbox.sshOptions())
        local = try TemporaryDirectory.make(prefix: "tmeops-transfer")
        remote = "/home/\(sandbox["SANDBOX_SSH_USER"])/tmeops-test-\(UUID().uuidString.prefix(8))"
        XCTAssertTrue(try session.capture(["mkdir", "-p", remote]).exit.succeeded)
    }

    override func tearDownWithError() throws {
        if let session, let remote {
            let cleanup = try? SSHSession(sandbox.sshOptions())
            _ = try? cleanup?.capture(["rm", "-rf", remote])
            cleanup?.close()
            session.close()
        }
        try? FileManager.default.removeItem(at: local)
    }

    func makeFile(_ name: String, bytes: Int, seed: UInt8 = 7) throws -> String {
        var bytesArray = [UInt8](repeating: 0, count: bytes)
        var state = UInt32(seed) &* 2_654_435_761
        for index in 0..<bytes {
            state = state &* 1_103_515_245 &+ 12345
            bytesArray[index] = UInt8(truncatingIfNeeded: state >> 16)
        }
        let data = Data(bytesArray)
        let path = local.appendingPathComponent(name).path
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    func remoteSHA(_ path: String) throws -> String {
        String(try session.capture(["sha256sum", "--", path]).stdoutText.prefix(64))
    }

    func remoteExists(_ path: String) throws -> Bool {
        try session.capture(["test", "-e", path]).exit.succeeded
    }

    func testUploadThenDownloadRoundTripsAndVerifies() throws {
        let file = try makeFile("release.tar", bytes: 3 << 20)
        var reported: [UInt64] = []
        let transfer = FileTransfer(session: session) { done, _ in reported.append(done) }
        let up = try transfer.upload(file, to: "\(remote!)/release.tar")
        XCTAssertEqual(up.bytes, 3 << 20)
        XCTAssertEqual(up.sha256, try SHA256.hexOfFile(atPath: file))
        XCTAssertEqual(try remoteSHA("\(remote!)/release.tar"), up.sha256)
        XCTAssertFalse(try remoteExists("\(remote!)/release.tar.part"))
        XCTAssertEqual(reported.last, 3 << 20)
        XCTAssertEqual(try session.capture(["stat", "-c", "%a", "\(remote!)/release.tar"]).stdoutText, "644\n")

        let back = local.appendingPathComponent("back.tar").path
        let down = try transfer.download("\(remote!)/release.tar", to: back)
        XCTAssertEqual(down.sha256, up.sha256)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: back)), try Data(contentsOf: URL(fileURLWithPath: file)))
        XCTAssertFalse(FileManager.default.fileExists(atPath: back + ".part"))
    }

    /// A server without Python 3 writes and hashes through `tee | openssl dgst`: same result, same checks.
    func testAServerWithoutPythonUsesTheShellPipeline() throws {
        let file = try makeFile("plain.bin", bytes: 2 << 20, seed: 5)
        var transfer = FileTransfer(session: session)
        transfer.serverPython = false
        let up = try transfer.upload(file, to: "\(remote!)/plain.bin")
        XCTAssertEqual(try remoteSHA("\(remote!)/plain.bin"), up.sha256)
        let small = "\(sandbox["SANDBOX_SMALL_DIR"])/plain-\(UUID().uuidString.prefix(6)).bin"
        defer { _ = try? session.capture(["rm", "-f", small, small + ".part"]) }
        XCTAssertThrowsError(try transfer.upload(try makeFile("big.bin", bytes: 3 << 20), to: small)) { error in
            XCTAssertTrue("\(error)".contains("is untouched"), "\(error)")
        }
    }

    func testSensitiveFilesAre0600AndFolderTargetsKeepTheName() throws {
        let file = try makeFile("secrets.env", bytes: 100)
        let report = try FileTransfer(session: session).upload(file, to: remote, mode: 0o600)
        XCTAssertEqual(report.destination, "\(remote!)/secrets.env")
        XCTAssertEqual(try session.capture(["stat", "-c", "%a", report.destination]).stdoutText, "600\n")
    }

    func testEmptyFileAndAwkwardNames() throws {
        let name = "it's a \"file\" with $dollars & spaces.txt"
        let empty = local.appendingPathComponent(name).path
        XCTAssertTrue(FileManager.default.createFile(atPath: empty, contents: Data()))
        let report = try FileTransfer(session: session).upload(empty, to: "\(remote!)/\(name)")
        XCTAssertEqual(report.bytes, 0)
        XCTAssertEqual(try session.capture(["stat", "-c", "%s", "\(remote!)/\(name)"]).stdoutText, "0\n")
        let back = local.appendingPathComponent("back \"quoted\"").path
        XCTAssertEqual(try FileTransfer(session: session).download("\(remote!)/\(name)", to: back).bytes, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: back)), Data())
    }

    func testMissingRemoteFolderIsNamedUnlessAskedToCreateIt() throws {
        let file = try makeFile("a.bin", bytes: 10)
        XCTAssertThrowsError(try FileTransfer(session: session).upload(file, to: "\(remote!)/no/such/a.bin")) { error in
            XCTAssertEqual(
                "\(error)", "remote folder \(self.remote!)/no/such does not exist on \(self.sandbox["SANDBOX_SSH_HOST"]); create it first or pass --mkdir")
        }
        XCTAssertNoThrow(try FileTransfer(session: session).upload(file, to: "\(remote!)/no/such/a.bin", createDirectories: true))
        XCTAssertThrowsError(try FileTransfer(session: session).upload(file, to: "\(remote!)/releases/"))
        let intoFolder = try FileTransfer(session: session).upload(file, to: "\(remote!)/releases/", createDirectories: true)
        XCTAssertEqual(intoFolder.destination, "\(remote!)/releases/a.bin")
        XCTAssertThrowsError(try FileTransfer(session: session).download("\(remote!)/missing.bin", to: local.path)) { error in
            XCTAssertTrue("\(error)".contains("missing.bin does not exist on"), "\(error)")
        }
    }

    func testRemoteDiskFullLeavesTheDestinationUntouched() throws {
        let small = sandbox["SANDBOX_SMALL_DIR"]
        let file = try makeFile("big.bin", bytes: 3 << 20)
        let target = "\(small)/big-\(UUID().uuidString.prefix(6)).bin"
        defer { _ = try? session.capture(["rm", "-f", target, target + ".part"]) }
        XCTAssertThrowsError(try FileTransfer(session: session).upload(file, to: target)) { error in
            XCTAssertTrue("\(error)".contains("No space left on device"), "\(error)")
            XCTAssertTrue("\(error)".contains("is untouched"), "\(error)")
        }
        XCTAssertFalse(try remoteExists(target), "no partial file in place of the destination")
    }

    func testConnectionKilledMidUploadThenResumeCompletes() throws {
        let file = try makeFile("release.tar", bytes: 24 << 20, seed: 3)
        let target = "\(remote!)/release.tar"
        var killed = false
        let transfer = FileTransfer(session: session) { done, _ in
            if !killed, done > 6 << 20 {
                killed = true
                // Kill the sshd processes serving this test's connections, as a dropped link would.
                _ = try? Sandbox.cutSSHConnections()
            }
        }
        XCTAssertThrowsError(try transfer.upload(file, to: target)) { error in
            XCTAssertTrue("\(error)".contains("--resume"), "\(error)")
        }
        XCTAssertTrue(killed)
        session = try SSHSession(sandbox.sshOptions())
        XCTAssertFalse(try remoteExists(target), "the final file is never a partial one")
        let partial = Int(try session.capture(["stat", "-c", "%s", target + ".part"]).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        XCTAssertGreaterThan(partial, 0)

        let report = try FileTransfer(session: session).upload(file, to: target, resume: true)
        XCTAssertEqual(report.resumedFrom, UInt64(partial))
        XCTAssertEqual(try remoteSHA(target), try SHA256.hexOfFile(atPath: file))
        XCTAssertFalse(try remoteExists(target + ".part"))
    }

    func testResumeStartsOverWhenThePartDoesNotMatch() throws {
        let file = try makeFile("a.bin", bytes: 1 << 20)
        let target = "\(remote!)/a.bin"
        XCTAssertTrue(try session.capture(["sh", "-c", "head -c 1000 /dev/urandom > \(ShellQuote.quote(target + ".part"))"]).exit.succeeded)
        let report = try FileTransfer(session: session).upload(file, to: target, resume: true)
        XCTAssertEqual(report.resumedFrom, 0)
        XCTAssertEqual(try remoteSHA(target), try SHA256.hexOfFile(atPath: file))
    }

    func testDownloadResumesAMatchingPart() throws {
        let file = try makeFile("data.bin", bytes: 2 << 20, seed: 9)
        _ = try FileTransfer(session: session).upload(file, to: "\(remote!)/data.bin")
        let target = local.appendingPathComponent("copy.bin").path
        try Data(try Data(contentsOf: URL(fileURLWithPath: file)).prefix(700_000)).write(to: URL(fileURLWithPath: target + ".part"))
        let report = try FileTransfer(session: session).download("\(remote!)/data.bin", to: target, resume: true)
        XCTAssertEqual(report.resumedFrom, 700_000)
        XCTAssertEqual(try SHA256.hexOfFile(atPath: target), try SHA256.hexOfFile(atPath: file))
    }

    func testSFTPMetadata() throws {
        let sftp = try SFTPClient(session)
        XCTAssertNil(try sftp.stat("\(remote!)/nothing"))
        try sftp.makeDirectories("\(remote!)/x/y/z")
        XCTAssertEqual(try sftp.stat("\(remote!)/x/y/z")?.isDirectory, true)
        XCTAssertEqual(try sftp.list("\(remote!)/x"), ["y"])
        try sftp.remove("\(remote!)/nothing")
        XCTAssertGreaterThan(try sftp.availableBytes(remote), 0)
        XCTAssertLessThanOrEqual(try sftp.availableBytes(sandbox["SANDBOX_SMALL_DIR"]), 2 << 20)
    }
}

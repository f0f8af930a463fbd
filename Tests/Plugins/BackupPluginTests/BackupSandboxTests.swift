import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsPostgres
import TMEOpsTestSupport
import XCTest

@testable import BackupPlugin
@testable import tmeops

/// Backups of the sandbox's production database container, each test in a backups folder of its own.
final class BackupSerial: XCTestCase {
    struct Setup {
        let harness: TestHarness
        let dir: String
    }

    /// A harness with the sandbox's tmeops.yml, its backups.dir replaced by `dir`, and `edit` applied.
    func setup(dir: String? = nil, edit: (String) -> String = { $0 }) throws -> Setup {
        _ = try Sandbox.require()
        let harness = try TestHarness(environment: ["HOME": NSHomeDirectory()])
        try registerPlugins(into: harness.registry)
        try harness.writeSandboxConfig()
        let folder = dir ?? "/home/tme-user/backups-test-\(UUID().uuidString.prefix(8))"
        let config = harness.directory.appendingPathComponent("tmeops.yml")
        let text = try String(contentsOf: config, encoding: .utf8).replacingOccurrences(of: "dir: /home/tme-user/backups", with: "dir: \(folder)")
        try Data(edit(text).utf8).write(to: config)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: folder) }
        return Setup(harness: harness, dir: folder)
    }

    func run<C: TMEOpsCommand>(_ harness: TestHarness, _ command: C) async -> (status: Int32, error: String) { await harness.outcome(command) }

    func metadata(_ dir: String) throws -> [BackupMetadata] {
        try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".json") }.sorted().map {
            try JSONDecoder().decode(BackupMetadata.self, from: Data(contentsOf: URL(fileURLWithPath: dir).appendingPathComponent($0)))
        }
    }

    func testCreateListVerifyAndTheChecksThatCatchDamage() async throws {
        let s = try setup()
        var result = await run(s.harness, try BackupCreateCommand.parse(["-e", "sandbox", "--label", "test"]))
        XCTAssertEqual(result.status, 0, result.error)
        let backup = try XCTUnwrap(try metadata(s.dir).first)
        XCTAssertTrue(backup.id.hasSuffix("-test"))
        XCTAssertEqual(backup.database, "tme_portal")
        XCTAssertEqual(backup.serverVersion / 10000, 15)
        let file = (s.dir as NSString).appendingPathComponent(backup.file)
        let attributes = try FileManager.default.attributesOfItem(atPath: file)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        XCTAssertEqual(attributes[.size] as? UInt64, backup.size)
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: s.dir).contains { $0.hasSuffix(".part") })

        result = await run(s.harness, try BackupListCommand.parse(["-e", "sandbox"]))
        XCTAssertTrue(s.harness.stdout.text.contains("\(backup.id)  "), s.harness.stdout.text)
        XCTAssertTrue(s.harness.stdout.text.contains("not verified"), s.harness.stdout.text)

        result = await run(s.harness, try BackupVerifyCommand.parse(["latest", "-e", "sandbox"]))
        XCTAssertEqual(result.status, 0, result.error + s.harness.stdout.text)
        XCTAssertTrue(s.harness.stdout.text.contains("✓ row counts:"), s.harness.stdout.text)
        XCTAssertEqual(try metadata(s.dir).first?.verified?.ok, true)

        // Corrupted: one byte changed in the middle.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        bytes[bytes.count / 2] ^= 0xff
        try bytes.write(to: URL(fileURLWithPath: file))
        result = await run(s.harness, try BackupVerifyCommand.parse([backup.id, "-e", "sandbox"]))
        XCTAssertEqual(result.status, 3)
        XCTAssertTrue(s.harness.stdout.text.contains("✗ sha256: the file's SHA-256 is"), s.harness.stdout.text)
        XCTAssertTrue(s.harness.stdout.text.contains("(corrupted)"), s.harness.stdout.text)
        XCTAssertEqual(try metadata(s.dir).first?.verified?.ok, false, "the failure is recorded")

        // Truncated.
        try bytes.prefix(bytes.count / 3).write(to: URL(fileURLWithPath: file))
        result = await run(s.harness, try BackupVerifyCommand.parse([backup.id, "-e", "sandbox"]))
        XCTAssertEqual(result.status, 3)
        XCTAssertTrue(s.harness.stdout.text.contains("(truncated)"), s.harness.stdout.text)

        result = await run(s.harness, try BackupVerifyCommand.parse(["20200101-000000", "-e", "sandbox"]))
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.error.contains("no backup 20200101-000000 in \(s.dir)"), result.error)
        XCTAssertTrue(result.error.contains(backup.id), "it names what exists: \(result.error)")

        result = await run(s.harness, try BackupRestoreCommand.parse([backup.id, "-e", "sandbox"]))
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.error.contains("pass --yes"), result.error)
    }

    func testRestoreAlongsideInPlaceAndRefusalOfANewerMajorVersion() async throws {
        let s = try setup()
        var result = await run(s.harness, try BackupCreateCommand.parse(["-e", "sandbox"]))
        XCTAssertEqual(result.status, 0, result.error)
        let backup = try XCTUnwrap(try metadata(s.dir).first)
        let copy = "tme_portal_copy_\(UUID().uuidString.prefix(6).lowercased())"
        result = await run(s.harness, try BackupRestoreCommand.parse([backup.id, "-e", "sandbox", "--to-db", copy]))
        XCTAssertEqual(result.status, 0, result.error)
        let sandbox = try Sandbox.require()
        let listed = try sandbox.docker([
            "exec", sandbox["SANDBOX_PG_CONTAINER"], "psql", "-h", "/tmp", "-U", "tme_user", "-d", "postgres", "-tAc",
            "SELECT datname FROM pg_database ORDER BY 1",
        ])
        XCTAssertTrue(listed.stdout.contains(copy), listed.stdout)
        _ = try sandbox.docker([
            "exec", sandbox["SANDBOX_PG_CONTAINER"], "psql", "-h", "/tmp", "-U", "tme_user", "-d", "postgres", "-c", "DROP DATABASE \(copy)",
        ])

        result = await run(s.harness, try BackupRestoreCommand.parse([backup.id, "-e", "sandbox", "--yes"]))
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(s.harness.stdout.text.contains("safety backup of the replaced database: "), s.harness.stdout.text)
        XCTAssertEqual(try metadata(s.dir).count, 2, "the safety backup is kept beside the restored one")

        // A backup from PostgreSQL 17 cannot go into this 15 server.
        var newer = backup
        newer.serverVersion = 170002
        try newer.encoded().write(to: URL(fileURLWithPath: s.dir).appendingPathComponent("\(backup.id).json"))
        result = await run(s.harness, try BackupRestoreCommand.parse([backup.id, "-e", "sandbox", "--yes"]))
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.error.contains("was taken from PostgreSQL 17; the server of sandbox runs 15"), result.error)
    }

    func testDiskFullLeavesNoPartAndTouchesNoOlderBackup() async throws {
        let sandbox = try Sandbox.require()
        let small = sandbox["SANDBOX_SMALL_DIR"] + "/backups-\(UUID().uuidString.prefix(6))"
        let s = try setup(dir: small)
        var result = await run(s.harness, try BackupCreateCommand.parse(["-e", "sandbox", "--label", "small"]))
        XCTAssertEqual(result.status, 0, result.error)
        let older = try metadata(s.dir)
        XCTAssertEqual(older.count, 1)
        // Make the database bigger than the 2 MiB file system: incompressible enough rows.
        let psql = ["exec", sandbox["SANDBOX_PG_CONTAINER"], "psql", "-h", "/tmp", "-U", "tme_user", "-d", "tme_portal", "-c"]
        _ = try sandbox.docker(
            psql + ["CREATE TABLE tmeops_test_bulk AS SELECT md5(random()::text) || md5(random()::text) AS a FROM generate_series(1, 80000)"])
        defer { _ = try? sandbox.docker(psql + ["DROP TABLE IF EXISTS tmeops_test_bulk"]) }
        result = await run(s.harness, try BackupCreateCommand.parse(["-e", "sandbox"]))
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.error.contains("No space left on device"), result.error)
        let left = try FileManager.default.contentsOfDirectory(atPath: s.dir)
        XCTAssertFalse(left.contains { $0.hasSuffix(".part") }, "\(left)")
        XCTAssertEqual(try metadata(s.dir), older, "the older backup is untouched")
        XCTAssertTrue(left.contains(older[0].file))
    }

    func testAWrongDatabasePasswordChangesNothing() async throws {
        let s = try setup { $0.replacingOccurrences(of: "password: ${TMEOPS_DB_PASSWORD}", with: "password: not-the-password") }
        let result = await run(s.harness, try BackupCreateCommand.parse(["-e", "sandbox"]))
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.error.contains("password authentication failed"), result.error)
        XCTAssertFalse(FileManager.default.fileExists(atPath: s.dir), "no folder, no file")
    }

    func testPruneKeepsWhatTheRulesSayAndRemovesTheRest() async throws {
        let s = try setup {
            $0.replacingOccurrences(of: "keep_last: 4", with: "keep_last: 1").replacingOccurrences(of: "keep_daily: 7", with: "keep_daily: 0")
                .replacingOccurrences(of: "keep_weekly: 4", with: "keep_weekly: 0")
        }
        for label in ["one", "two"] {
            let result = await run(s.harness, try BackupCreateCommand.parse(["-e", "sandbox", "--label", label]))
            XCTAssertEqual(result.status, 0, result.error)
        }
        var result = await run(s.harness, try BackupPruneCommand.parse(["-e", "sandbox", "--dry-run"]))
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(s.harness.stdout.text.contains("would remove"), s.harness.stdout.text)
        XCTAssertEqual(try metadata(s.dir).count, 2)
        result = await run(s.harness, try BackupPruneCommand.parse(["-e", "sandbox"]))
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertEqual(try metadata(s.dir).map { String($0.id.suffix(3)) }, ["two"])
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: s.dir).filter { !$0.hasPrefix("pins") }.count, 2, "file and metadata of the one kept")
    }

    func testALocalEnvironmentKeepsItsBackupsBesideTheConfig() async throws {
        let s = try setup()
        var result = await run(s.harness, try BackupCreateCommand.parse(["-e", "development", "--label", "local"]))
        XCTAssertEqual(result.status, 0, result.error)
        let folder = s.harness.directory.appendingPathComponent(".tmeops/backups").path
        let local = try metadata(folder)
        XCTAssertEqual(local.count, 1)
        XCTAssertEqual(local.first?.database, "tme_portal")
        result = await run(s.harness, try BackupVerifyCommand.parse(["latest", "-e", "development"]))
        XCTAssertEqual(result.status, 0, result.error + s.harness.stdout.text)
        XCTAssertTrue(s.harness.stdout.text.contains("✓ row counts:"), s.harness.stdout.text)
    }

    func testPlainBackupsCompressedWithZstdAndGzipVerifyAndDownload() async throws {
        let s = try setup()
        let download = s.harness.directory.appendingPathComponent("copies")
        try FileManager.default.createDirectory(at: download, withIntermediateDirectories: true)
        for compression in ["zstd", "gzip"] {
            var result = await run(
                s.harness, try BackupCreateCommand.parse(["-e", "sandbox", "--format", "plain", "--compress", compression, "--download", download.path]))
            XCTAssertEqual(result.status, 0, result.error)
            result = await run(s.harness, try BackupVerifyCommand.parse(["latest", "-e", "sandbox"]))
            XCTAssertEqual(result.status, 0, result.error + s.harness.stdout.text)
            XCTAssertTrue(s.harness.stdout.text.contains("✓ row counts:"), s.harness.stdout.text)
        }
        let files = try metadata(s.dir).map(\.file).sorted()
        XCTAssertEqual(files.map { String($0.split(separator: ".", maxSplits: 1)[1]) }.sorted(), ["sql.gz", "sql.zst"])
        let copies = try FileManager.default.contentsOfDirectory(atPath: download.path)
        XCTAssertEqual(Set(copies.filter { !$0.hasSuffix(".json") }), Set(files), "--download keeps the same files here")
        let magic = try Data(contentsOf: URL(fileURLWithPath: s.dir).appendingPathComponent(files.first { $0.hasSuffix(".zst") }!)).prefix(4)
        XCTAssertEqual([UInt8](magic), [0x28, 0xB5, 0x2F, 0xFD], "a zstd frame")
    }
}

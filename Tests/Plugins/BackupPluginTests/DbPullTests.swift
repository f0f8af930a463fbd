import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsPostgres
import TMEOpsTestSupport
import XCTest

@testable import BackupPlugin
@testable import SchemaPlugin
@testable import tmeops

/// `db pull` and `schema sync` from the sandbox host's production into the sandbox's development database.
final class DbPullSerial: XCTestCase {
    var harness: TestHarness!
    var sandbox: Sandbox!

    override func setUpWithError() throws {
        sandbox = try Sandbox.require()
        XCTAssertEqual(try ProcessRunner.run("/bin/bash", [Sandbox.script, "seed"]).status, 0)
        harness = try TestHarness(environment: ["HOME": NSHomeDirectory()])
        try registerPlugins(into: harness.registry)
        try harness.writeSandboxConfig()
    }

    func dev() throws -> PostgresConnection {
        let connection = try PostgresConnection(
            PostgresTarget(
                host: "127.0.0.1", port: Int(sandbox["SANDBOX_DEV_PORT"]) ?? 5434, user: sandbox["SANDBOX_DB_USER"],
                password: try sandbox.secret("dev_db_password"), database: sandbox["SANDBOX_DB_NAME"]),
            applicationName: "db-pull-test")
        try connection.execute("SET search_path = public")
        return connection
    }

    func run<C: TMEOpsCommand>(_ command: C) async -> (status: Int32, error: String) { await harness.outcome(command) }

    func testPullBringsProductionAndKeepsABackupOfDevelopment() async throws {
        let connection = try dev()
        try connection.execute("CREATE TABLE IF NOT EXISTS dev_only (id int); INSERT INTO dev_only VALUES (1)")
        connection.close()
        var result = await run(try DbPullCommand.parse(["--from", "sandbox", "--to", "development", "--yes"]))
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(harness.stdout.text.contains("now holds a fresh dump of sandbox"), harness.stdout.text)
        let after = try dev()
        defer { after.close() }
        XCTAssertEqual(try after.query("SELECT count(*) FROM users").scalar, "50", "production's rows arrived")
        XCTAssertEqual(try after.query("SELECT pg_catalog.to_regclass('public.dev_only') IS NULL").scalar, "t")
        let backups = try FileManager.default.contentsOfDirectory(atPath: harness.directory.appendingPathComponent(".tmeops/backups").path)
        XCTAssertTrue(backups.contains { $0.hasSuffix("-pre-pull.dump") }, "\(backups)")
        result = await run(try SchemaDiffCommand.parse(["--from", "development", "--to", "sandbox"]))
        XCTAssertEqual(result.status, 0, harness.stdout.text)
    }

    func testAProtectedTargetIsRefusedAndNothingChanges() async throws {
        let result = await run(try DbPullCommand.parse(["--from", "development", "--to", "sandbox", "--yes"]))
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.error.contains("db pull refuses to write to environment 'sandbox'"), result.error)
        let sync = await run(try SchemaSyncCommand.parse(["--from", "development", "--to", "sandbox", "--yes"]))
        XCTAssertEqual(sync.status, 2)
        XCTAssertTrue(sync.error.contains("schema sync refuses to write to environment 'sandbox'"), sync.error)
    }

    func testADatabaseInUseIsNamedAndForceEndsTheSessions() async throws {
        let holder = try dev()
        defer { holder.close() }
        var result = await run(try DbPullCommand.parse(["--from", "sandbox", "--to", "development", "--yes"]))
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.error.contains("is in use by 1 other session: db-pull-test (127.0.0.1"), result.error)
        result = await run(try DbPullCommand.parse(["--from", "sandbox", "--to", "development", "--yes", "--force"]))
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertThrowsError(try holder.query("SELECT 1"), "the session was ended")
    }

    func testARestoreThatFailsHalfwayLeavesDevelopmentAsItWas() async throws {
        // A production backup cut short, with metadata that matches the cut file: it passes the checksum
        // and fails in the middle of the restore.
        let create = await run(try BackupCreateCommand.parse(["-e", "sandbox", "--label", "cut"]))
        XCTAssertEqual(create.status, 0, create.error)
        let dir = "/home/\(sandbox["SANDBOX_SSH_USER"])/backups"
        let json = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: dir).first { $0.hasSuffix("-cut.json") })
        var metadata = try JSONDecoder().decode(BackupMetadata.self, from: Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(json)")))
        let file = URL(fileURLWithPath: "\(dir)/\(metadata.file)")
        let cut = try Data(contentsOf: file).prefix(Int(metadata.size) * 6 / 10)
        try cut.write(to: file)
        metadata.size = UInt64(cut.count)
        metadata.sha256 = SHA256Hex.of(cut)
        try metadata.encoded().write(to: URL(fileURLWithPath: "\(dir)/\(json)"))

        let marker = try dev()
        try marker.execute("CREATE TABLE IF NOT EXISTS still_here (id int)")
        marker.close()
        let result = await run(try DbPullCommand.parse(["--from", "sandbox", "--to", "development", "--backup", metadata.id, "--yes"]))
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.error.contains("was left as it was"), result.error)
        let after = try dev()
        defer { after.close() }
        XCTAssertEqual(try after.query("SELECT pg_catalog.to_regclass('public.still_here') IS NOT NULL").scalar, "t")
        XCTAssertEqual(try after.query("SELECT count(*) FROM pg_catalog.pg_database WHERE datname = 'tme_portal_tmeops_pull'").scalar, "0")
    }

    func testSchemaSyncRefusesDataLossUnlessAllowed() async throws {
        var result = await run(try DbPullCommand.parse(["--from", "sandbox", "--to", "development", "--yes"]))
        XCTAssertEqual(result.status, 0, result.error)
        let connection = try dev()
        try connection.execute("ALTER TABLE users DROP COLUMN last_login_at; CREATE TABLE scratch_notes (id int); INSERT INTO scratch_notes VALUES (1), (2)")
        connection.close()
        result = await run(try SchemaSyncCommand.parse(["--from", "sandbox", "--to", "development", "--yes"]))
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.error.contains("public.scratch_notes: drop table (2 rows)"), result.error)
        result = await run(try SchemaSyncCommand.parse(["--from", "sandbox", "--to", "development", "--yes", "--allow-hazards", "deletes-data"]))
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(harness.stdout.text.contains("ALTER TABLE public.users ADD COLUMN last_login_at"), harness.stdout.text)
        result = await run(try SchemaDiffCommand.parse(["--from", "development", "--to", "sandbox"]))
        XCTAssertEqual(result.status, 0, harness.stdout.text)
    }
}

extension DbPullSerial {
    func testSchemaSyncRefusesACheckThatExistingRowsViolate() async throws {
        var result = await run(try DbPullCommand.parse(["--from", "sandbox", "--to", "development", "--yes"]))
        XCTAssertEqual(result.status, 0, result.error)
        let connection = try dev()
        try connection.execute(
            """
            ALTER TABLE user_todos DROP CONSTRAINT user_todos_category_check;
            ALTER TABLE user_todos ADD CONSTRAINT user_todos_category_check CHECK (category IN ('review', 'sign', 'upload', 'urgent'));
            INSERT INTO user_todos (user_id, category) VALUES (1, 'urgent');
            """)
        connection.close()
        result = await run(try SchemaSyncCommand.parse(["--from", "sandbox", "--to", "development", "--yes"]))
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(
            result.error.contains("existing rows of development violate the plan: public.user_todos: add check user_todos_category_check (1 rows)"),
            result.error)
    }
}

enum SHA256Hex {
    static func of(_ data: Data) -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sha-\(UUID().uuidString)")
        try? data.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try? ProcessRunner.run("/usr/bin/sha256sum", [file.path])
        return String((result?.stdout ?? "").prefix(64))
    }
}

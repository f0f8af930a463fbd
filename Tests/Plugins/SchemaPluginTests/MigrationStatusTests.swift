import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsPostgres
import TMEOpsTestSupport
import XCTest

@testable import SchemaPlugin
@testable import tmeops

final class MigrationStatusSerial: XCTestCase {
    func testStatusAgainstTheDevelopmentDatabase() async throws {
        let sandbox = try Sandbox.require()
        let harness = try TestHarness(environment: [
            "HOME": NSHomeDirectory(), "TMEOPS_TEMPLATES": TMEOpsBinary.packageRoot.appendingPathComponent("Templates").path,
        ])
        try registerPlugins(into: harness.registry)
        try harness.writeSandboxConfig()
        for version in 1...15 { try harness.write("database/migrations/\(String(format: "%03d", version))_step\(version).sql", "SELECT \(version);\n") }
        let connection = try PostgresConnection(
            PostgresTarget(
                host: "127.0.0.1", port: Int(sandbox["SANDBOX_DEV_PORT"]) ?? 5434, user: sandbox["SANDBOX_DB_USER"],
                password: try sandbox.secret("dev_db_password"), database: sandbox["SANDBOX_DB_NAME"]))
        try connection.execute("DROP SCHEMA IF EXISTS tmeops CASCADE")
        defer { _ = try? connection.execute("DROP SCHEMA IF EXISTS tmeops CASCADE") }

        // No ledger, but tables: migrated by hand or by another tool. Listing every file as pending would
        // be wrong; it says so, points to migrate adopt, and exits 3.
        try connection.execute("CREATE TABLE IF NOT EXISTS public.tmeops_status_probe (id integer)")
        defer { _ = try? connection.execute("DROP TABLE IF EXISTS public.tmeops_status_probe") }
        do {
            try await harness.run(MigrateStatusCommand.parse(["-e", "development"]))
            XCTFail("a database with tables and no ledger must exit 3")
        } catch let exit as ExitCode {
            XCTAssertEqual(exit.rawValue, 3)
        }
        XCTAssertTrue(harness.stdout.text.contains("but no migration ledger"), harness.stdout.text)
        XCTAssertTrue(harness.stdout.text.contains("tmeops migrate adopt -e development --dry-run"), harness.stdout.text)

        // An empty ledger on an empty database: everything is pending, which is no problem.
        let empty = try PostgresConnection(
            PostgresTarget(
                host: "127.0.0.1", port: Int(sandbox["SANDBOX_DEV_PORT"]) ?? 5434, user: sandbox["SANDBOX_DB_USER"],
                password: try sandbox.secret("dev_db_password"), database: "postgres"))
        _ = try? empty.execute("DROP DATABASE IF EXISTS tmeops_status_empty")
        try empty.execute("CREATE DATABASE tmeops_status_empty")
        defer { _ = try? empty.execute("DROP DATABASE IF EXISTS tmeops_status_empty WITH (FORCE)") }
        try harness.write(
            "tmeops.yml",
            try String(contentsOf: harness.directory.appendingPathComponent("tmeops.yml"), encoding: .utf8)
                .replacingOccurrences(
                    of: "127.0.0.1:\(sandbox["SANDBOX_DEV_PORT"])/\(sandbox["SANDBOX_DB_NAME"])",
                    with: "127.0.0.1:\(sandbox["SANDBOX_DEV_PORT"])/tmeops_status_empty"))
        harness.stdout.clear()
        try await harness.run(MigrateStatusCommand.parse(["-e", "development"]))
        XCTAssertEqual(harness.stdout.text.split(separator: "\n").first, "development: 15 pending")
        try harness.writeSandboxConfig()

        try MigrationLedger.ensure(connection)
        let files = try MigrationFile.load(folder: harness.directory.appendingPathComponent("database/migrations"), displayFolder: "m")
        for file in files where file.version < 10 || file.version == 15 {
            try connection.query(
                "INSERT INTO tmeops.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                [String(file.version), file.name, file.version == 2 ? "0000" : file.checksum])
        }
        harness.stdout.clear()
        do {
            try await harness.run(MigrateStatusCommand.parse(["-e", "development"]))
            XCTFail("gaps must exit 3")
        } catch let exit as ExitCode {
            XCTAssertEqual(exit.rawValue, 3)
        }
        let text = harness.stdout.text
        XCTAssertTrue(text.hasPrefix("development: 9 applied, 5 gap, 1 changed\n"), text)
        XCTAssertTrue(text.contains("010_step10  gap: not applied, but later version 15 is"), text)
        XCTAssertTrue(text.contains("002_step2  changed: edited after it was applied"), text)

        harness.stdout.clear()
        try await harness.run(MigrateNewCommand.parse(["add_revision_number"]))
        XCTAssertEqual(harness.stdout.text, "wrote database/migrations/016_add_revision_number.sql\n")
        let written = try String(contentsOf: harness.directory.appendingPathComponent("database/migrations/016_add_revision_number.sql"), encoding: .utf8)
        XCTAssertTrue(written.hasPrefix("-- 016_add_revision_number.sql: add_revision_number\n"), written)
    }

    /// An environment without `ssh` whose database is a container of the local engine: tmeops connects to
    /// the container's bridge address. Run inside the sandbox's namespace, where the host's engine is the
    /// local one and its bridge is reachable.
    func testALocalEnvironmentReachesItsDatabaseContainerByItsAddress() throws {
        let sandbox = try Sandbox.require()
        let project = try TemporaryDirectory.make(prefix: "tmeops-local-db")
        defer { try? FileManager.default.removeItem(at: project) }
        let written = try ProcessRunner.run("/bin/bash", [Sandbox.script, "config", "--write", project.path, "--migrations"])
        XCTAssertEqual(written.status, 0, written.stderr)
        let config = project.appendingPathComponent("tmeops.yml")
        var yaml = try String(contentsOf: config, encoding: .utf8)
        let local = """
              hostlocal:
                database:
                  container: \(sandbox["SANDBOX_PG_CONTAINER"])
                  user: tme_user
                  name: tme_portal
                  password: ${TMEOPS_DB_PASSWORD}
              nodatabase:
                database:
                  container: no-such-postgres
                  user: tme_user
                  name: tme_portal

            """
        let sandboxEnvironment = try XCTUnwrap(yaml.range(of: "  sandbox:\n"))
        yaml.insert(contentsOf: local, at: sandboxEnvironment.lowerBound)
        try Data(yaml.utf8).write(to: config)
        func tmeops(_ arguments: [String]) throws -> ProcessResult {
            try sandbox.inNamespace(
                [TMEOpsBinary.url.path, "--config", config.path] + arguments, environment: ["DOCKER_HOST": "unix://\(sandbox["SANDBOX_DOCKER_SOCKET"])"])
        }
        let status = try tmeops(["migrate", "status", "-e", "hostlocal"])
        // Reached either way: adopted (a status line) or hand-migrated (it says there is no ledger, exit 3).
        XCTAssertTrue([0, 3].contains(status.status), status.stdout + status.stderr)
        XCTAssertTrue(status.stdout.hasPrefix("hostlocal"), status.stdout)
        let missing = try tmeops(["migrate", "status", "-e", "nodatabase"])
        XCTAssertEqual(missing.status, 1, missing.stdout + missing.stderr)
        XCTAssertTrue(missing.stderr.contains("no running container no-such-postgres in the local Docker engine"), missing.stderr)
    }
}

/// Migration files and their status, worked out without a database.
final class MigrationFilesTests: XCTestCase {
    func entry(_ version: Int, _ checksum: String = "c", success: Bool = true) -> MigrationLedger.Entry {
        MigrationLedger.Entry(version: version, name: "m\(version)", checksum: checksum, appliedAt: "2026-11-01", success: success)
    }

    func file(_ version: Int, _ checksum: String = "c") -> MigrationFile {
        MigrationFile(version: version, name: "m\(version)", path: "/m/\(version).sql", checksum: checksum)
    }

    func testGapsChangesFailuresAndUnknownVersions() {
        let files = (1...16).map { file($0, $0 == 3 ? "edited" : "c") }
        let ledger = (1...9).map { entry($0) } + [entry(15), entry(16, success: false), entry(20)]
        let status = MigrationStatus(files: files, ledger: ledger)
        let states = Dictionary(grouping: status.items, by: \.state).mapValues { $0.map(\.version) }
        XCTAssertEqual(states["gap"], [10, 11, 12, 13, 14], "the runbook's missing 010-014")
        XCTAssertEqual(states["changed"], [3])
        XCTAssertEqual(states["failed"], [16])
        XCTAssertEqual(states["unknown"], [20])
        XCTAssertEqual(states["applied"]?.count, 9)
        XCTAssertTrue(status.hasProblems)
        XCTAssertFalse(MigrationStatus(files: [file(1), file(2)], ledger: [entry(1)]).hasProblems, "pending alone is not a problem")
    }

    func testBadFileNamesAndDuplicateVersionsAreRefused() throws {
        let folder = try TemporaryDirectory.make(prefix: "tmeops-migrations")
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data("select 1;".utf8).write(to: folder.appendingPathComponent("001_init.sql"))
        try Data("select 2;".utf8).write(to: folder.appendingPathComponent("01_again.sql"))
        XCTAssertThrowsError(try MigrationFile.load(folder: folder, displayFolder: "database/migrations")) {
            XCTAssertEqual("\($0)", "database/migrations/01_again.sql and 001_init.sql have the same version 1; renumber one")
        }
        try FileManager.default.removeItem(at: folder.appendingPathComponent("01_again.sql"))
        try Data().write(to: folder.appendingPathComponent("fix-users.sql"))
        XCTAssertThrowsError(try MigrationFile.load(folder: folder, displayFolder: "database/migrations")) {
            XCTAssertEqual("\($0)", "database/migrations/fix-users.sql is not named NNN_name.sql; rename it so its version comes first")
        }
    }
}

import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsTestSupport
import XCTest

@testable import SchemaPlugin
@testable import TMEOpsPostgres
@testable import tmeops

/// `schema diff` on the runbook's own case: production lacks applications.revision_number and
/// submitter_message, and user_todos_category_check differs.
final class SchemaDiffSerial: XCTestCase {
    static let development = """
        CREATE SCHEMA drift;
        CREATE TABLE drift.applications (id serial PRIMARY KEY, title text NOT NULL,
            revision_number integer NOT NULL DEFAULT 1, submitter_message text);
        CREATE TABLE drift.user_todos (id serial PRIMARY KEY, category text,
            CONSTRAINT user_todos_category_check CHECK (category = ANY (ARRAY['review'::text, 'sign'::text, 'urgent'::text])));
        CREATE INDEX user_todos_category ON drift.user_todos (category);
        """
    static let production = """
        CREATE SCHEMA drift;
        CREATE TABLE drift.applications (id serial PRIMARY KEY,   title   text NOT NULL);
        CREATE TABLE drift.user_todos (id serial PRIMARY KEY, category text,
            CONSTRAINT user_todos_category_check CHECK (category IN ('review', 'sign')));
        """

    var sandbox: Sandbox!
    var harness: TestHarness!

    override func setUpWithError() throws {
        sandbox = try Sandbox.require()
        harness = try TestHarness(environment: ["HOME": NSHomeDirectory()])
        try registerPlugins(into: harness.registry)
        try harness.writeSandboxConfig()
        // Both sides start empty: a demo or deploy test may have left the sample app's tables behind.
        let reset = "DROP SCHEMA IF EXISTS drift CASCADE; DROP SCHEMA IF EXISTS tmeops CASCADE; DROP SCHEMA public CASCADE; CREATE SCHEMA public"
        try dev(reset)
        try prod(reset)
    }

    override func tearDownWithError() throws {
        try? dev("DROP SCHEMA IF EXISTS drift CASCADE")
        try? prod("DROP SCHEMA IF EXISTS drift CASCADE")
    }

    func dev(_ sql: String) throws {
        let connection = try PostgresConnection(
            PostgresTarget(
                host: "127.0.0.1", port: Int(sandbox["SANDBOX_DEV_PORT"]) ?? 5434, user: sandbox["SANDBOX_DB_USER"],
                password: try sandbox.secret("dev_db_password"), database: sandbox["SANDBOX_DB_NAME"]))
        try connection.execute(sql)
    }

    func prod(_ sql: String) throws {
        let result = try sandbox.docker([
            "exec", sandbox["SANDBOX_PG_CONTAINER"], "psql", "-v", "ON_ERROR_STOP=1", "-h", "/tmp", "-U", sandbox["SANDBOX_DB_USER"],
            "-d", sandbox["SANDBOX_DB_NAME"], "-qc", sql,
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
    }

    func testTheRunbooksDriftIsReportedByTable() async throws {
        try dev(Self.development)
        try prod(Self.production)
        do {
            try await harness.run(SchemaDiffCommand.parse(["--from", "sandbox", "--to", "development"]))
            XCTFail("drift must exit 3")
        } catch let exit as ExitCode {
            XCTAssertEqual(exit.rawValue, 3)
        }
        let report = harness.stdout.text
        XCTAssertTrue(report.contains("sandbox differs from development in 4 places"), report)
        XCTAssertTrue(
            report.contains(
                "  drift.applications\n    missing column revision_number: integer NOT NULL DEFAULT 1\n    missing column submitter_message: text\n"), report)
        XCTAssertTrue(
            report.contains(
                "constraint user_todos_category_check differs:\n      has:      CHECK (category = ANY (ARRAY['review', 'sign']))\n      expected: CHECK (category = ANY (ARRAY['review', 'sign', 'urgent']))"
            ), report)
        XCTAssertTrue(report.contains("missing index user_todos_category"), report)
        XCTAssertFalse(report.contains("sequence"), "serial sequences exist on both sides; nothing else differs: \(report)")
    }

    func testEqualSchemasWrittenDifferentlyReportNothing() async throws {
        try dev(
            Self.production.replacingOccurrences(
                of: "CHECK (category IN ('review', 'sign'))", with: "CHECK (category = ANY (ARRAY['review'::text,   'sign'::text]))"))
        try prod(Self.production)
        try await harness.run(SchemaDiffCommand.parse(["--from", "sandbox", "--to", "development"]))
        XCTAssertEqual(harness.stdout.text, "✓ sandbox matches development: no schema drift\n")
    }

    func testSnapshotFilesAndJSON() async throws {
        try dev(Self.development)
        try prod(Self.production)
        try await harness.run(SchemaSnapshotCommand.parse(["-e", "sandbox", "-o", "prod.json"]))
        harness.stdout.clear()
        do {
            try await harness.run(SchemaDiffCommand.parse(["--from", "prod.json", "--to", "development", "--json"]))
        } catch let exit as ExitCode {
            XCTAssertEqual(exit.rawValue, 3)
        }
        let diff = try JSONDecoder().decode(SchemaDiff.self, from: Data(harness.stdout.text.utf8))
        XCTAssertEqual(diff.tables.map(\.table), ["drift.applications", "drift.user_todos"])
        XCTAssertEqual(diff.tables[0].changes.map(\.name), ["revision_number", "submitter_message"])
    }
}

/// How definitions are normalised before they are compared (no database).
final class SchemaNormalisationTests: XCTestCase {
    func testNormalisation() {
        XCTAssertEqual(SchemaText.normalized("CHECK ((category = ANY (ARRAY['a'::text,\n  'b'::text])))"), "CHECK ((category = ANY (ARRAY['a', 'b'])))")
        XCTAssertEqual(SchemaText.normalized("nextval('public.x_id_seq'::regclass)"), "nextval('x_id_seq'::regclass)")
    }
}

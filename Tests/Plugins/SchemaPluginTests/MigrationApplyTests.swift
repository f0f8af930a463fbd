import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsPostgres
import TMEOpsTestSupport
import XCTest

@testable import SchemaPlugin

/// `migrate test`, `migrate apply` and `migrate adopt` against real PostgreSQL (the sandbox's development
/// server), with the faults the issue lists.
final class MigrationApplySandboxTests: XCTestCase {
    static let initial = """
        -- 001_init.sql
        CREATE TABLE applications (id serial PRIMARY KEY, title text NOT NULL);
        CREATE TABLE user_todos (id serial PRIMARY KEY, category text);
        """

    func testApplyNeedsAProofFromMigrateTestThenRunsInOrder() async throws {
        let db = try ScratchDatabase(self, migrations: ["001_init.sql": Self.initial])
        try db.migration(
            "002_revision.sql",
            "BEGIN;\nALTER TABLE applications ADD COLUMN revision_number integer NOT NULL DEFAULT 1;\nCOMMIT;\n")

        var result = await db.run(try MigrateApplyCommand.parse(["-e", "scratch"]))
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.error.contains("no passing test proof for 001_init.sql, 002_revision.sql"), result.error)
        XCTAssertTrue(result.error.contains("run `tmeops migrate test -e scratch` first"), result.error)
        XCTAssertEqual(try db.connection.query("SELECT pg_catalog.to_regclass('public.applications') IS NULL").scalar, "t", "nothing ran")

        result = await db.run(try MigrateTestCommand.parse(["-e", "scratch"]))
        XCTAssertEqual(result.status, 0, result.error + db.harness.stderr.text)
        XCTAssertTrue(db.harness.stdout.text.contains("(pg_dump | pg_restore), dropped"), "the test's connection is open: \(db.harness.stdout.text)")
        XCTAssertTrue(db.harness.stdout.text.contains("proof recorded for schema"), db.harness.stdout.text)
        XCTAssertEqual(try db.connection.query("SELECT count(*) FROM tmeops.migration_proofs WHERE result = 'passed'").scalar, "2")
        XCTAssertEqual(try db.connection.query("SELECT count(*) FROM pg_catalog.pg_database WHERE datname = $1", [db.name + "_tmeops_test"]).scalar, "0")

        result = await db.run(try MigrateApplyCommand.parse(["-e", "scratch"]))
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(db.harness.stdout.text.contains("✓ 001_init"), db.harness.stdout.text)
        XCTAssertTrue(db.harness.stdout.text.contains("✓ 002_revision"), db.harness.stdout.text)
        let ledger = try db.connection.query("SELECT version, success, note FROM tmeops.schema_migrations ORDER BY version").rows
        XCTAssertEqual(ledger.map { $0[0] }, ["1", "2"])
        XCTAssertTrue(ledger.allSatisfy { $0[1] == "t" && ($0[2] ?? "").hasPrefix("tested against schema") })

        // A file edited after it was applied stops everything.
        try db.migration("002_revision.sql", "ALTER TABLE applications ADD COLUMN revision_number bigint;\n")
        try db.migration("003_more.sql", "SELECT 1;\n")
        result = await db.run(try MigrateApplyCommand.parse(["-e", "scratch", "--untested"]))
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.error.contains("002_revision changed"), result.error)
    }

    func testASyntaxErrorNamesFileAndLineAndChangesNothing() async throws {
        let db = try ScratchDatabase(self, migrations: ["001_init.sql": Self.initial])
        let r1 = await db.run(try MigrateApplyCommand.parse(["-e", "scratch", "--untested"]))
        XCTAssertEqual(r1.status, 0, r1.error)
        try db.migration(
            "002_broken.sql",
            """
            -- 002: add a column and a table
            ALTER TABLE applications
                ADD COLUMN submitter_message text;

            CREATE TABLE notes (
                id serial PRIMARY KEY,
                body txet NOT NULL
            );
            """)
        let result = await db.run(try MigrateApplyCommand.parse(["-e", "scratch", "--untested"]))
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.error.hasPrefix("002_broken.sql:7: type \"txet\" does not exist (SQLSTATE 42704)"), result.error)
        XCTAssertTrue(result.error.contains("nothing of 002_broken.sql is applied"), result.error)
        XCTAssertEqual(
            try db.connection.query(
                "SELECT count(*) FROM pg_catalog.pg_attribute WHERE attrelid = 'public.applications'::regclass AND attname = 'submitter_message'"
            )
            .scalar, "0", "the first statement was rolled back with the second")
        XCTAssertEqual(try db.connection.query("SELECT count(*) FROM tmeops.schema_migrations WHERE version = 2").scalar, "0")
    }

    func testAMigrationThatViolatesANewCheckOnExistingRowsIsRolledBack() async throws {
        let db = try ScratchDatabase(self, migrations: ["001_init.sql": Self.initial])
        let r2 = await db.run(try MigrateApplyCommand.parse(["-e", "scratch", "--untested"]))
        XCTAssertEqual(r2.status, 0, r2.error)
        try db.connection.execute("INSERT INTO user_todos (category) VALUES ('review'), ('urgent')")
        try db.migration(
            "002_category_check.sql",
            "ALTER TABLE user_todos ADD COLUMN done boolean;\nALTER TABLE user_todos ADD CONSTRAINT user_todos_category_check CHECK (category IN ('review', 'sign'));\n"
        )
        try db.migration("003_later.sql", "CREATE TABLE later (id int);\n")
        let result = await db.run(try MigrateApplyCommand.parse(["-e", "scratch", "--untested"]))
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.error.hasPrefix("002_category_check.sql:2: check constraint \"user_todos_category_check\""), result.error)
        XCTAssertTrue(result.error.contains("SQLSTATE 23514"), result.error)
        XCTAssertTrue(result.error.contains("not run: 003_later.sql"), result.error)
        XCTAssertEqual(try db.connection.query("SELECT pg_catalog.to_regclass('public.later') IS NULL").scalar, "t")
        XCTAssertEqual(
            try db.connection.query("SELECT count(*) FROM pg_catalog.pg_attribute WHERE attrelid = 'public.user_todos'::regclass AND attname = 'done'").scalar,
            "0")
    }

    func testALockHeldByAnotherSessionTimesOutIsRetriedAndThenSucceeds() async throws {
        let db = try ScratchDatabase(self, migrations: ["001_init.sql": Self.initial])
        let r3 = await db.run(try MigrateApplyCommand.parse(["-e", "scratch", "--untested"]))
        XCTAssertEqual(r3.status, 0, r3.error)
        try db.migration("002_lock.sql", "ALTER TABLE applications ADD COLUMN urgency text;\n")
        let holder = try PostgresConnection(db.target)
        defer { holder.close() }
        try holder.execute("BEGIN; LOCK TABLE public.applications IN ACCESS SHARE MODE")
        var result = await db.run(try MigrateApplyCommand.parse(["-e", "scratch", "--untested"]))
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.error.hasPrefix("002_lock.sql:1: canceling statement due to lock timeout (SQLSTATE 55P03)"), result.error)
        XCTAssertTrue(db.harness.stderr.text.contains("retrying in"), db.harness.stderr.text)

        // Released during the retry: the second attempt succeeds.
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) { _ = try? holder.execute("COMMIT") }
        try holder.execute("BEGIN; LOCK TABLE public.applications IN ACCESS SHARE MODE")
        result = await db.run(try MigrateApplyCommand.parse(["-e", "scratch", "--untested"]))
        XCTAssertEqual(result.status, 0, result.error)
    }

    func testConnectionLostMidApplyLeavesTheMigrationUnapplied() async throws {
        let db = try ScratchDatabase(self, migrations: ["001_init.sql": Self.initial])
        let r4 = await db.run(try MigrateApplyCommand.parse(["-e", "scratch", "--untested"]))
        XCTAssertEqual(r4.status, 0, r4.error)
        try db.migration("002_slow.sql", "ALTER TABLE applications ADD COLUMN slow text;\nSELECT pg_catalog.pg_sleep(5);\n")
        let killer = try PostgresConnection(db.target)
        defer { killer.close() }
        // The connection is killed once the migration sleeps in it; the killer's own query is done before
        // the test uses that connection again (two threads must not share it).
        let killed = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            defer { killed.signal() }
            for _ in 0..<100 {
                usleep(100_000)
                let terminated = try? killer.query(
                    "SELECT count(pg_catalog.pg_terminate_backend(pid)) FROM pg_catalog.pg_stat_activity WHERE datname = $1 AND query LIKE '%pg_sleep%' AND pid <> pg_catalog.pg_backend_pid()",
                    [db.name]
                ).scalar
                if let terminated, terminated != "0" { return }
            }
        }
        let result = await db.run(try MigrateApplyCommand.parse(["-e", "scratch", "--untested"]))
        killed.wait()
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.error.hasPrefix("002_slow.sql:2:"), result.error)
        XCTAssertTrue(result.error.contains("the connection was lost"), result.error)
        XCTAssertEqual(
            try killer.query("SELECT count(*) FROM pg_catalog.pg_attribute WHERE attrelid = 'public.applications'::regclass AND attname = 'slow'").scalar, "0")
    }

    func testNoTransactionFilesRunStatementByStatement() async throws {
        let db = try ScratchDatabase(self, migrations: ["001_init.sql": Self.initial])
        try db.migration(
            "002_index.sql", "-- tmeops:no-transaction\nCREATE INDEX CONCURRENTLY applications_title ON applications (title);\n")
        let r5 = try await db.whileDisconnected { await db.run(try MigrateTestCommand.parse(["-e", "scratch"])) }
        XCTAssertEqual(r5.status, 0, r5.error)
        XCTAssertTrue(db.harness.stdout.text.contains("(CREATE DATABASE … TEMPLATE), dropped"), "nobody is connected: \(db.harness.stdout.text)")
        let result = await db.run(try MigrateApplyCommand.parse(["-e", "scratch"]))
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(db.harness.stdout.text.contains("002_index  ") && db.harness.stdout.text.contains("no transaction"), db.harness.stdout.text)
        XCTAssertEqual(
            try db.connection.query("SELECT indisvalid FROM pg_catalog.pg_index WHERE indexrelid = 'public.applications_title'::regclass").scalar, "t")
    }

    func testMigrateTestComparesWithTheExpectedSchema() async throws {
        let db = try ScratchDatabase(self, migrations: ["001_init.sql": Self.initial])
        let expected = try ScratchDatabase(self)
        try expected.connection.execute(Self.initial + "\nALTER TABLE applications ADD COLUMN revision_number integer;")
        let url = "postgresql://\(expected.target.user):\(expected.target.password ?? "")@127.0.0.1:\(expected.target.port)/\(expected.name)"
        let result = await db.run(try MigrateTestCommand.parse(["-e", "scratch", "--expect", url]))
        XCTAssertEqual(result.status, 3, result.error)
        XCTAssertTrue(db.harness.stdout.text.contains("missing column revision_number: integer"), db.harness.stdout.text)
        XCTAssertFalse(db.harness.stdout.text.contains(expected.target.password ?? "-"), "the URL's password is redacted")
        XCTAssertEqual(try db.connection.query("SELECT result FROM tmeops.migration_proofs").scalar?.hasPrefix("failed: 1 differences"), true)
        let r6 = await db.run(try MigrateApplyCommand.parse(["-e", "scratch"]))
        XCTAssertEqual(r6.status, 1, "a failed proof is no proof")
    }

    func testAdoptRecordsWhatAHandChangedDatabaseAlreadyHas() async throws {
        let db = try ScratchDatabase(self, migrations: ["001_init.sql": Self.initial])
        try db.migration("002_revision.sql", "ALTER TABLE applications ADD COLUMN revision_number integer NOT NULL DEFAULT 1;\n")
        try db.migration("003_message.sql", "ALTER TABLE applications ADD COLUMN submitter_message text;\n")
        // By hand: 001 and 002's change, not 003's.
        try db.connection.execute(Self.initial + "\nALTER TABLE applications ADD COLUMN revision_number integer NOT NULL DEFAULT 1;")

        var result = await db.run(try MigrateAdoptCommand.parse(["-e", "scratch", "--dry-run"]))
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(db.harness.stdout.text.contains("✓ 001_init.sql: already in the schema; would record as applied"), db.harness.stdout.text)
        XCTAssertTrue(db.harness.stdout.text.contains("✓ 002_revision.sql"), db.harness.stdout.text)
        XCTAssertTrue(db.harness.stdout.text.contains("· 003_message.sql: still pending (public.applications|column|submitter_message"), db.harness.stdout.text)
        XCTAssertEqual(try db.connection.query("SELECT pg_catalog.to_regclass('tmeops.schema_migrations') IS NULL").scalar, "t", "dry run records nothing")

        result = await db.run(try MigrateAdoptCommand.parse(["-e", "scratch"]))
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertEqual(try db.connection.query("SELECT string_agg(version::text, ',' ORDER BY version) FROM tmeops.schema_migrations").scalar, "1,2")
        result = await db.run(try MigrateStatusCommand.parse(["-e", "scratch"]))
        XCTAssertTrue(db.harness.stdout.text.hasPrefix("scratch: 2 applied, 1 pending"), db.harness.stdout.text)
    }
}

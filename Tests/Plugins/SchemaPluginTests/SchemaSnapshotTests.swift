import Foundation
import TMEOpsCore
import TMEOpsTestSupport
import XCTest

@testable import SchemaPlugin
@testable import TMEOpsPostgres
@testable import tmeops

/// `schema snapshot` on the sandbox's development database, with a schema that has one of everything.
final class SchemaSnapshotSerial: XCTestCase {
    static let schema = """
        DROP SCHEMA IF EXISTS snap CASCADE;
        CREATE SCHEMA snap;
        CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA snap;
        CREATE TYPE snap.urgency AS ENUM ('low', 'normal', 'high');
        CREATE TABLE snap.applications (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            title text NOT NULL,
            revision_number integer NOT NULL DEFAULT 1,
            urgency snap.urgency DEFAULT 'normal',
            title_length integer GENERATED ALWAYS AS (length(title)) STORED,
            CONSTRAINT applications_revision_check CHECK (revision_number > 0)
        );
        CREATE TABLE snap.user_todos (
            id serial PRIMARY KEY,
            application_id bigint REFERENCES snap.applications(id),
            category text
        );
        ALTER TABLE snap.user_todos ADD CONSTRAINT user_todos_category_check CHECK (category IN ('review', 'sign')) NOT VALID;
        CREATE UNIQUE INDEX user_todos_app_category ON snap.user_todos (application_id, category);
        CREATE VIEW snap.open_todos AS SELECT id, category FROM snap.user_todos WHERE category IS NOT NULL;
        CREATE FUNCTION snap.bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.revision_number := OLD.revision_number + 1; RETURN NEW; END $$;
        CREATE TRIGGER applications_bump BEFORE UPDATE ON snap.applications FOR EACH ROW EXECUTE FUNCTION snap.bump();
        """

    func testSnapshotReadsEveryKindOfObjectAndLeavesOutExtensions() async throws {
        // A database of its own: the shared development database holds the sample app's tables.
        let scratch = try ScratchDatabase(self)
        let harness = scratch.harness
        let connection = scratch.connection
        try connection.execute(Self.schema)

        try await harness.run(SchemaSnapshotCommand.parse(["-e", "scratch", "-o", "dev.json"]))
        XCTAssertTrue(harness.stdout.text.contains("on scratch: 2 tables"), harness.stdout.text)
        let snapshot = try SchemaSnapshot.load(Data(contentsOf: harness.directory.appendingPathComponent("dev.json")), file: "dev.json")
        XCTAssertEqual(snapshot.schemas, ["public", "snap"])

        let applications = try XCTUnwrap(snapshot.tables.first { $0.qualifiedName == "snap.applications" })
        XCTAssertEqual(applications.columns.map(\.name), ["id", "title", "revision_number", "urgency", "title_length"])
        XCTAssertEqual(applications.columns[0].identity, "always")
        XCTAssertEqual(applications.columns[2].defaultExpression, "1")
        XCTAssertEqual(applications.columns[3].type, "snap.urgency", "types are schema-qualified (empty search_path)")
        XCTAssertEqual(applications.columns[4].generated, "length(title)")
        XCTAssertNil(applications.columns[4].defaultExpression)
        XCTAssertTrue(applications.constraints.contains { $0.name == "applications_revision_check" && $0.definition == "CHECK (revision_number > 0)" })
        XCTAssertEqual(applications.triggers.map(\.name), ["applications_bump"])

        let todos = try XCTUnwrap(snapshot.tables.first { $0.qualifiedName == "snap.user_todos" })
        let check = try XCTUnwrap(todos.constraints.first { $0.name == "user_todos_category_check" })
        XCTAssertFalse(check.validated, "NOT VALID is kept")
        XCTAssertEqual(check.kind, "check")
        XCTAssertTrue(todos.constraints.contains { $0.kind == "foreign key" })
        XCTAssertTrue(todos.indexes.contains { $0.name == "user_todos_app_category" && $0.unique && $0.definition.contains("snap.user_todos") })
        XCTAssertTrue(snapshot.sequences.contains { $0.name == "user_todos_id_seq" && $0.ownedBy == "user_todos.id" })
        XCTAssertEqual(snapshot.enums.first { $0.name == "urgency" }?.labels, ["low", "normal", "high"])
        XCTAssertEqual(snapshot.views.map(\.name), ["open_todos"])
        XCTAssertEqual(snapshot.functions.filter { $0.schema == "snap" }.map(\.name), ["bump"], "pg_trgm's functions belong to the extension and are left out")
        XCTAssertTrue(snapshot.extensions.contains { $0.name == "pg_trgm" })

        // The same schema read twice gives the same snapshot.
        XCTAssertEqual(try SchemaIntrospector.snapshot(connection), try SchemaIntrospector.snapshot(connection))
    }

    func testProductionIsReachedThroughItsContainer() async throws {
        _ = try Sandbox.require()
        let harness = try TestHarness(environment: ["HOME": NSHomeDirectory()])
        try registerPlugins(into: harness.registry)
        try harness.writeSandboxConfig()
        try await harness.run(SchemaSnapshotCommand.parse(["-e", "sandbox", "-o", "prod.json"]))
        XCTAssertTrue(harness.stdout.text.contains("tme_portal on sandbox:"), harness.stdout.text)
        let snapshot = try SchemaSnapshot.load(Data(contentsOf: harness.directory.appendingPathComponent("prod.json")), file: "prod.json")
        XCTAssertGreaterThanOrEqual(snapshot.serverVersion, 150000)
    }
}

/// `schema dump` through pg_dump: in the production container, and locally for a URL.
final class SchemaDumpSerial: XCTestCase {
    func testDumpsBothWays() async throws {
        let sandbox = try Sandbox.require()
        let harness = try TestHarness(environment: ["HOME": NSHomeDirectory(), "PATH": "/usr/bin:/bin"])
        try registerPlugins(into: harness.registry)
        try harness.writeSandboxConfig()
        let create = try sandbox.docker([
            "exec", sandbox["SANDBOX_PG_CONTAINER"], "psql", "-h", "/tmp", "-U", sandbox["SANDBOX_DB_USER"], "-d", sandbox["SANDBOX_DB_NAME"], "-qc",
            "DROP SCHEMA IF EXISTS dumped CASCADE; CREATE SCHEMA dumped; CREATE TABLE dumped.widgets (id int PRIMARY KEY, label text NOT NULL)",
        ])
        XCTAssertEqual(create.status, 0, create.stderr)
        defer {
            _ = try? sandbox.docker([
                "exec", sandbox["SANDBOX_PG_CONTAINER"], "psql", "-h", "/tmp", "-U", sandbox["SANDBOX_DB_USER"], "-d", sandbox["SANDBOX_DB_NAME"], "-qc",
                "DROP SCHEMA IF EXISTS dumped CASCADE",
            ])
        }

        try await harness.run(SchemaDumpCommand.parse(["-e", "sandbox"]))
        XCTAssertTrue(harness.stdout.text.contains("CREATE TABLE dumped.widgets"), harness.stdout.text)
        harness.stdout.clear()
        try await harness.run(SchemaDumpCommand.parse(["-e", "development"]))
        XCTAssertTrue(harness.stdout.text.contains("PostgreSQL database dump"), harness.stdout.text)
        XCTAssertFalse(harness.stdout.text.contains("dumped.widgets"), "development is another database")
    }
}

/// Snapshot files read without a database.
final class SchemaSnapshotFileTests: XCTestCase {
    func testAFileThatIsNotASnapshotIsRefused() {
        XCTAssertThrowsError(try SchemaSnapshot.load(Data(#"{"tables": []}"#.utf8), file: "other.json")) { error in
            XCTAssertEqual(
                "\(error)",
                "other.json is not a tmeops schema snapshot (its \"format\" is not tmeops-schema-snapshot/1); make one with `tmeops schema snapshot`")
        }
        XCTAssertThrowsError(try SchemaSnapshot.load(Data("not json".utf8), file: "x.json"))
    }
}

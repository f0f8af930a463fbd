import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsTestSupport
import XCTest

@testable import SchemaPlugin
@testable import TMEOpsPostgres

/// `schema plan` on real PostgreSQL: every plan printed here was validated on a scratch database.
final class SchemaPlanSandboxTests: XCTestCase {
    static let production = """
        CREATE TABLE applications (id serial PRIMARY KEY, title text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
        CREATE TABLE user_todos (
            id serial PRIMARY KEY,
            application_id integer REFERENCES applications (id),
            category text,
            CONSTRAINT user_todos_category_check CHECK (category IN ('review', 'sign', 'other'))
        );
        INSERT INTO applications (title) VALUES ('a'), ('b');
        INSERT INTO user_todos (application_id, category) VALUES (1, 'review'), (2, 'other');
        """
    static let development = """
        CREATE TABLE applications (
            id serial PRIMARY KEY, title text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
            revision_number integer NOT NULL DEFAULT 1, submitter_message text
        );
        CREATE TABLE user_todos (
            id serial PRIMARY KEY,
            application_id integer REFERENCES applications (id),
            category text,
            CONSTRAINT user_todos_category_check CHECK (category IN ('review', 'sign', 'approve'))
        );
        """

    func testTheRunbooksProductionSync() async throws {
        let production = try ScratchDatabase(self)
        try production.connection.execute(Self.production)
        let development = try ScratchDatabase(self)
        try development.connection.execute(Self.development)

        let result = await production.run(
            try SchemaPlanCommand.parse(["--from", production.url, "--to", development.url, "-o", "database/migrations/100_production_sync.sql"]))
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(
            production.harness.stdout.text.contains("public.user_todos: add check user_todos_category_check: 1 existing rows violate it"),
            production.harness.stdout.text)
        XCTAssertFalse(production.harness.stdout.text.contains(production.target.password ?? "-"), "passwords in URLs are redacted")
        let sql = try String(contentsOf: production.harness.directory.appendingPathComponent("database/migrations/100_production_sync.sql"), encoding: .utf8)
        let statements = sql.split(separator: "\n").filter { !$0.hasPrefix("--") && !$0.isEmpty }
        XCTAssertEqual(
            statements,
            [
                "BEGIN;",
                "ALTER TABLE public.user_todos DROP CONSTRAINT user_todos_category_check;",
                "ALTER TABLE public.applications ADD COLUMN revision_number integer DEFAULT 1 NOT NULL;",
                "ALTER TABLE public.applications ADD COLUMN submitter_message text;",
                "ALTER TABLE public.user_todos ADD CONSTRAINT user_todos_category_check CHECK (category = ANY (ARRAY['review'::text, 'sign'::text, 'approve'::text]));",
                "COMMIT;",
            ], sql)
        XCTAssertTrue(sql.contains("-- validated on a scratch database"), sql)
        XCTAssertTrue(sql.contains("[may fail on existing rows; takes an ACCESS EXCLUSIVE lock]  (1 existing row violate"), sql)
        XCTAssertTrue(sql.contains(MigrationFile.noTransactionMarker), sql)

        // Fixed by hand, the plan applies as a migration, and then the schemas diff empty.
        try production.connection.execute("UPDATE user_todos SET category = 'review' WHERE category = 'other'")
        let applied = await production.run(try MigrateApplyCommand.parse(["-e", "scratch", "--untested"]))
        XCTAssertEqual(applied.status, 0, applied.error)
        let diff = await production.run(try SchemaDiffCommand.parse(["--from", production.url, "--to", development.url]))
        XCTAssertEqual(diff.status, 0, production.harness.stdout.text)
    }

    func testEveryKindOfObjectIsPlannedAndValidated() async throws {
        let empty = try ScratchDatabase(self)
        let full = try ScratchDatabase(self)
        try full.connection.execute(SchemaSnapshotSerial.schema)
        try full.connection.execute(
            """
            CREATE VIEW snap.open_todo_count AS SELECT count(*) AS n FROM snap.open_todos;
            CREATE MATERIALIZED VIEW snap.todo_stats AS SELECT category, count(*) FROM snap.user_todos GROUP BY category;
            CREATE INDEX applications_title_lower ON snap.applications (lower(title));
            """)
        let result = await empty.run(try SchemaPlanCommand.parse(["--from", empty.url, "--to", full.url]))
        XCTAssertEqual(result.status, 0, result.error)
        let sql = empty.harness.stdout.text
        for expected in [
            "CREATE SCHEMA snap;", "CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA snap VERSION '",
            "CREATE TYPE snap.urgency AS ENUM ('low', 'normal', 'high');",
            "CREATE VIEW snap.open_todo_count AS", "CREATE MATERIALIZED VIEW snap.todo_stats AS", "CREATE TRIGGER applications_bump",
            "CREATE INDEX applications_title_lower ON snap.applications",
        ] {
            XCTAssertTrue(sql.contains(expected), "missing \(expected) in\n\(sql)")
        }
        let openTodos = try XCTUnwrap(sql.range(of: "CREATE VIEW snap.open_todos AS"))
        let count = try XCTUnwrap(sql.range(of: "CREATE VIEW snap.open_todo_count AS"))
        XCTAssertLessThan(openTodos.lowerBound, count.lowerBound, "a view comes after the view it reads")

        // And back: everything goes, which deletes data and is refused without --allow-hazards.
        var back = await full.run(try SchemaPlanCommand.parse(["--from", full.url, "--to", empty.url]))
        XCTAssertEqual(back.status, 1)
        XCTAssertTrue(back.error.contains("deletes data: public.") || back.error.contains("deletes data: snap."), back.error)
        XCTAssertTrue(back.error.contains("--allow-hazards deletes-data"), back.error)
        back = await full.run(try SchemaPlanCommand.parse(["--from", full.url, "--to", empty.url, "--allow-hazards", "deletes-data"]))
        XCTAssertEqual(back.status, 0, back.error)
        XCTAssertTrue(full.harness.stdout.text.contains("DROP TABLE snap.applications;"), full.harness.stdout.text)
    }

    func testAnIndexOnAnExistingTableIsBuiltConcurrentlyAlone() async throws {
        let production = try ScratchDatabase(self)
        try production.connection.execute(Self.production)
        let development = try ScratchDatabase(self)
        try development.connection.execute(Self.production + "\nCREATE INDEX user_todos_category ON user_todos (category);")
        let result = await production.run(try SchemaPlanCommand.parse(["--from", production.url, "--to", development.url, "--json"]))
        XCTAssertEqual(result.status, 0, result.error)
        let plan = try JSONDecoder().decode(SchemaPlan.self, from: Data(production.harness.stdout.text.utf8))
        XCTAssertEqual(plan.statements.map(\.sql), ["CREATE INDEX CONCURRENTLY user_todos_category ON public.user_todos USING btree (category)"])
        XCTAssertEqual(plan.statements[0].hazards, [.buildsIndex, .noTransaction])
        XCTAssertFalse(plan.sql(header: []).contains("BEGIN;"))
    }

    /// A new column and what is declared on it in the same plan (the most common migration): a CHECK,
    /// a default, an index, a foreign key, NOT NULL with a default. Planned, validated, and applied to
    /// the database it was planned from.
    func testANewColumnWithItsConstraintsInOnePlan() async throws {
        let production = try ScratchDatabase(self)
        try production.connection.execute(Self.production)
        let development = try ScratchDatabase(self)
        try development.connection.execute(
            Self.production
                + """

                ALTER TABLE user_todos ADD COLUMN urgency text NOT NULL DEFAULT 'normal' CONSTRAINT user_todos_urgency_check CHECK (urgency IN ('low', 'normal', 'high'));
                ALTER TABLE user_todos ADD COLUMN owner_id integer CONSTRAINT user_todos_owner_fk REFERENCES applications (id);
                ALTER TABLE user_todos ADD COLUMN weight integer DEFAULT 1 CONSTRAINT user_todos_weight_positive CHECK (weight > 0);
                CREATE INDEX user_todos_urgency ON user_todos (urgency);
                """)
        let result = await production.run(try SchemaPlanCommand.parse(["--from", production.url, "--to", development.url, "--json"]))
        XCTAssertEqual(result.status, 0, result.error)
        let plan = try JSONDecoder().decode(SchemaPlan.self, from: Data(production.harness.stdout.text.utf8))
        XCTAssertTrue(plan.statements.contains { $0.sql.contains("ADD CONSTRAINT user_todos_urgency_check") }, "\(plan.statements.map(\.sql))")
        XCTAssertTrue(plan.statements.filter { $0.sql.contains("urgency") || $0.sql.contains("weight") }.allSatisfy { $0.violationQuery == nil })
        // The validated plan applies to the real database it was planned from.
        for statement in plan.statements { try production.connection.execute(statement.sql) }
        let columns = try production.connection.query(
            "SELECT string_agg(column_name, ',' ORDER BY column_name) FROM information_schema.columns WHERE table_name = 'user_todos'"
        ).scalar
        XCTAssertEqual(columns, "application_id,category,id,owner_id,urgency,weight")
    }

    func testEqualSchemasAndTwoSnapshotFilesWithoutAServer() async throws {
        let db = try ScratchDatabase(self)
        try db.connection.execute(Self.production)
        var result = await db.run(try SchemaPlanCommand.parse(["--from", "scratch", "--to", db.url]))
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(db.harness.stdout.text.contains("already matches"), db.harness.stdout.text)

        try await db.harness.run(SchemaSnapshotCommand.parse(["-e", "scratch", "-o", "a.json"]))
        try db.harness.write(
            "b.json",
            String(
                decoding: try SchemaSnapshot.load(Data(contentsOf: db.harness.directory.appendingPathComponent("a.json")), file: "a").encoded(), as: UTF8.self))
        try db.connection.execute("ALTER TABLE applications ADD COLUMN note text")
        try await db.harness.run(SchemaSnapshotCommand.parse(["-e", "scratch", "-o", "c.json"]))
        result = await db.run(try SchemaPlanCommand.parse(["--from", "a.json", "--to", "c.json"]))
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.error.contains("name a server with --scratch"), result.error)
        result = await db.run(try SchemaPlanCommand.parse(["--from", "a.json", "--to", "c.json", "--scratch", "scratch"]))
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(db.harness.stdout.text.contains("ALTER TABLE public.applications ADD COLUMN note text;"), db.harness.stdout.text)
    }
}

import TMEOpsPostgres
import XCTest

final class SQLScriptTests: XCTestCase {
    func testStatementsAndTheirLines() {
        let script = SQLScript(
            """
            -- 001_init.sql
            CREATE TABLE a (id int);

            /* a block /* nested */ comment; with a semicolon */
            INSERT INTO a VALUES (1); INSERT INTO a VALUES (2);
            CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$;
            SELECT 'it''s; here', E'a\\'; b', "odd;name" FROM a;
            SELECT $1::int;
            CREATE RULE r AS ON INSERT TO a DO ALSO (SELECT 1; SELECT 2);
            -- trailing comment
            """)
        XCTAssertEqual(script.statements.map(\.line), [2, 5, 5, 6, 7, 8, 9])
        XCTAssertEqual(script.statements[0].text, "-- 001_init.sql\nCREATE TABLE a (id int)")
        XCTAssertEqual(script.statements[3].text, "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$")
        XCTAssertEqual(script.statements[4].text, #"SELECT 'it''s; here', E'a\'; b', "odd;name" FROM a"#)
        XCTAssertEqual(script.statements[6].text, "CREATE RULE r AS ON INSERT TO a DO ALSO (SELECT 1; SELECT 2)")
    }

    func testBeginAtomicBodiesAreOneStatementAsPsqlReadsThem() {
        let script = SQLScript(
            """
            BEGIN;
            CREATE FUNCTION n() RETURNS bigint LANGUAGE sql STABLE
            BEGIN ATOMIC
                SELECT CASE WHEN count(*) > 0 THEN count(*) ELSE 0 END FROM a;
                SELECT 1;
            END;
            CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO a VALUES (1); END;
            SELECT CASE WHEN true THEN 1 END; END;
            COMMIT;
            """)
        XCTAssertEqual(script.statements.map(\.line), [1, 2, 7, 8, 8, 9])
        XCTAssertEqual(
            script.statements[1].text,
            "CREATE FUNCTION n() RETURNS bigint LANGUAGE sql STABLE\nBEGIN ATOMIC\n    SELECT CASE WHEN count(*) > 0 THEN count(*) ELSE 0 END FROM a;\n    SELECT 1;\nEND"
        )
        XCTAssertEqual(script.statements[2].text, "CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO a VALUES (1); END")
        XCTAssertEqual(script.statements[3].text, "SELECT CASE WHEN true THEN 1 END")
        XCTAssertEqual(script.statements[4].text, "END")
    }

    func testEmptyAndUnterminatedInput() {
        XCTAssertEqual(SQLScript("").statements, [])
        XCTAssertEqual(SQLScript("-- only a comment\n;;\n").statements, [])
        XCTAssertEqual(SQLScript("SELECT 'open").statements.map(\.text), ["SELECT 'open"])
        XCTAssertEqual(SQLScript("SELECT $$ never closed").statements.count, 1)
    }
}

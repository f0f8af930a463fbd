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

    func testEmptyAndUnterminatedInput() {
        XCTAssertEqual(SQLScript("").statements, [])
        XCTAssertEqual(SQLScript("-- only a comment\n;;\n").statements, [])
        XCTAssertEqual(SQLScript("SELECT 'open").statements.map(\.text), ["SELECT 'open"])
        XCTAssertEqual(SQLScript("SELECT $$ never closed").statements.count, 1)
    }
}

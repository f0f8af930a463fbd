import TMEOpsSSH
import XCTest

final class ShellQuoteTests: XCTestCase {
    func testSafeWordsStayAsTheyAre() {
        XCTAssertEqual(ShellQuote.quote("/home/tme-user/backups/db_2026-11-26.dump"), "/home/tme-user/backups/db_2026-11-26.dump")
        XCTAssertEqual(ShellQuote.quote("user@host:22,a=b+c%d"), "user@host:22,a=b+c%d")
    }

    /// `A=b cmd` would run cmd with A set; as an argument it must reach the program as the word `A=b`.
    func testAWordThatLooksLikeAnAssignmentIsQuoted() {
        XCTAssertEqual(ShellQuote.quote("A=b"), "'A=b'")
        XCTAssertEqual(ShellQuote.quote("_x1=/tmp"), "'_x1=/tmp'")
        XCTAssertEqual(ShellQuote.command(["A=b", "env"]), "'A=b' env")
        XCTAssertEqual(ShellQuote.quote("--opt=value"), "--opt=value")
        XCTAssertEqual(ShellQuote.quote("1A=b"), "1A=b")
    }

    func testEverythingElseIsSingleQuoted() {
        XCTAssertEqual(ShellQuote.quote(""), "''")
        XCTAssertEqual(ShellQuote.quote("a b"), "'a b'")
        XCTAssertEqual(ShellQuote.quote("it's"), "'it'\\''s'")
        XCTAssertEqual(ShellQuote.quote("$(rm -rf /)"), "'$(rm -rf /)'")
        XCTAssertEqual(ShellQuote.quote("`id`;|&><*?~#!\\\n"), "'`id`;|&><*?~#!\\\n'")
        XCTAssertEqual(ShellQuote.quote("-e"), "-e", "options are words too; commands put -- where it matters")
        XCTAssertEqual(ShellQuote.quote("naïve"), "'naïve'")
    }

    func testCommandJoinsQuotedWords() {
        XCTAssertEqual(ShellQuote.command(["printf", "%s\\n", "a b", "c'd"]), "printf '%s\\n' 'a b' 'c'\\''d'")
    }
}

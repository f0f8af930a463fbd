import TMEOpsTestSupport
import XCTest

final class InitTests: XCTestCase {
    func testInitRendersAValidConfigAndRefusesToOverwrite() throws {
        let project = try Project()
        let first = try project.tmeops("init", "--app", "tme-portal")
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stdout.contains("created tmeops.yml for app tme-portal (image tme-portal-server)"), first.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: project.directory.appendingPathComponent("database/migrations").path))
        XCTAssertEqual(try project.read(".tmeops/.gitignore"), "secrets.env\nlocks/\n")
        let written = try project.read("tmeops.yml")
        XCTAssertTrue(written.hasPrefix("# tmeops configuration."), written)

        let check = try project.tmeops("config", "check", environment: ["TMEOPS_DB_PASSWORD": "x", "DEV_DB_PASSWORD": "y"])
        XCTAssertEqual(check.status, 0, check.stderr)

        try project.write("tmeops.yml", "app: mine\n")
        let second = try project.tmeops("init")
        XCTAssertEqual(second.status, 1)
        XCTAssertEqual(second.stderr, "error: tmeops.yml already exists; nothing was changed. Edit it, or move it aside and run `tmeops init` again\n")
        XCTAssertEqual(try project.read("tmeops.yml"), "app: mine\n", "untouched")
    }

    func testInitDryRunWritesNothing() throws {
        let project = try Project()
        let result = try project.tmeops("init", "--dry-run", "--app", "demo")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("would write tmeops.yml (app demo, image demo-server)"), result.stdout)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: project.directory.path), [])
    }

    func testInitRejectsABadAppName() throws {
        let result = try Project().tmeops("init", "--app", "Bad App")
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.contains("--app 'Bad App' cannot name containers"), result.stderr)
    }
}

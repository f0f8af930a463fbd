import TMEOpsTestSupport
import XCTest

final class HelpTests: XCTestCase {
    func testRootHelpGroupsCommandsByPlugin() throws {
        let result = try Project().tmeops("--help")
        XCTAssertEqual(result.status, 0, result.stderr)
        let sections = result.stdout.split(separator: "\n").filter { $0.hasSuffix("SUBCOMMANDS:") }
        XCTAssertEqual(
            sections,
            [
                "SUBCOMMANDS:", "TRANSFER PLUGIN SUBCOMMANDS:", "IMAGE PLUGIN SUBCOMMANDS:", "SCHEMA PLUGIN SUBCOMMANDS:",
                "BACKUP PLUGIN SUBCOMMANDS:", "SWAP PLUGIN SUBCOMMANDS:", "SWARM PLUGIN SUBCOMMANDS:", "VALIDATE PLUGIN SUBCOMMANDS:",
            ])
        XCTAssertTrue(result.stdout.contains("  deploy "), result.stdout)
    }

    func testHelpPluginShowsSummaryCommandsConfigAndExamples() throws {
        let result = try Project().tmeops("help", "swap")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.hasPrefix("swap — The deploy pipeline"), result.stdout)
        XCTAssertTrue(result.stdout.contains("COMMANDS:\n  deploy"), result.stdout)
        XCTAssertTrue(result.stdout.contains("environments.<name>.deploy"), result.stdout)
        XCTAssertTrue(result.stdout.contains("EXAMPLES:\n  tmeops deploy -e production --dry-run\n"), result.stdout)
    }

    func testHelpOfACommandStillWorks() throws {
        let result = try Project().tmeops("help", "config", "check")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("USAGE: tmeops config check"), result.stdout)
    }

    func testUsageErrorsExitTwo() throws {
        let project = try Project()
        let unknownOption = try project.tmeops("config", "check", "--frobnicate")
        XCTAssertEqual(unknownOption.status, 2)
        XCTAssertTrue(unknownOption.stderr.contains("Unknown option '--frobnicate'"), unknownOption.stderr)
        let unknownCommand = try project.tmeops("frobnicate")
        XCTAssertEqual(unknownCommand.status, 2)
        XCTAssertTrue(unknownCommand.stderr.contains("frobnicate"), unknownCommand.stderr)
    }

    func testVersionNamesTheLinkedLibraries() throws {
        let result = try Project().tmeops("version", "--json")
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: String]
        // At least 1.11 (RSA keys, chacha20-poly1305): the build links scripts/build-libssh2's where the system's is older.
        XCTAssertTrue(object?["libssh2"].map { $0.compare("1.11", options: .numeric) != .orderedAscending } == true, result.stdout)
        XCTAssertTrue(object?["libpq"]?.hasPrefix("15.") == true, result.stdout)
        XCTAssertTrue(object?["libarchive"]?.hasPrefix("3.") == true, result.stdout)
    }

    func testCompletionScripts() throws {
        let project = try Project()
        let bash = try project.tmeops("completion", "bash")
        XCTAssertEqual(bash.status, 0)
        XCTAssertTrue(bash.stdout.contains("_tmeops"), bash.stdout)
        XCTAssertEqual(try project.tmeops("completion", "tcsh").status, 2)
    }

    /// `-e <TAB>` offers the environments of the tmeops.yml the command would read, as the generated
    /// scripts ask for them (`tmeops ---completion ...`); a folder without one offers nothing.
    func testCompletionOffersEnvironmentNames() throws {
        let project = try Project()
        let bash = try project.tmeops("completion", "bash").stdout
        XCTAssertTrue(bash.contains("---completion deploy -- --env"), "the deploy's -e asks tmeops for candidates")
        XCTAssertEqual(try project.tmeops("---completion", "deploy", "--", "--env", "3", "0", "tmeops", "deploy", "-e", "").stdout, "")
        try project.write("tmeops.yml", "app: shop\nimage: shop\nenvironments:\n  production: {}\n  staging: {}\n  development: {}\n")
        try project.write("other.yml", "app: shop\nimage: shop\nenvironments:\n  qa: {}\n")
        let all = try project.tmeops("---completion", "deploy", "--", "--env", "3", "0", "tmeops", "deploy", "-e", "")
        XCTAssertEqual(all.stdout.split(separator: "\n"), ["production", "staging", "development"], all.stderr)
        let some = try project.tmeops("---completion", "deploy", "--", "--env", "3", "1", "tmeops", "deploy", "-e", "s")
        XCTAssertEqual(some.stdout.split(separator: "\n"), ["staging"])
        let other = try project.tmeops("---completion", "deploy", "--", "--env", "5", "0", "tmeops", "deploy", "--config", "other.yml", "-e", "")
        XCTAssertEqual(other.stdout.split(separator: "\n"), ["qa"])
    }
}

import Foundation
import TMEOpsTestSupport
import XCTest

@testable import TMEOpsCore

final class ExternalPluginTests: XCTestCase {
    var root: URL!

    override func setUpWithError() throws {
        root = try TemporaryDirectory.make()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root)
    }

    func makeExecutable(_ path: String, executable: Bool = true) throws {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("#!/bin/sh\nexit 0\n".utf8).write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: executable ? 0o755 : 0o644], ofItemAtPath: url.path)
    }

    func testFindsProjectPluginsFirstThenPathInOrder() throws {
        try makeExecutable("project/.tmeops/plugins/tmeops-notify")
        try makeExecutable("bin1/tmeops-notify")
        try makeExecutable("bin1/tmeops-report")
        try makeExecutable("bin2/tmeops-report")
        try makeExecutable("bin2/tmeops-deploy")
        try makeExecutable("bin2/tmeops-data", executable: false)
        try makeExecutable("bin2/not-a-plugin")
        try makeExecutable("bin2/tmeops-")
        let finder = ExternalPluginFinder(
            projectDirectory: root.appendingPathComponent("project"),
            searchPath: "\(root.path)/bin1::\(root.path)/bin2:/nonexistent",
            reservedNames: ["deploy": "swap"])
        let found = finder.all()
        XCTAssertEqual(found.map(\.name), ["notify", "report", "deploy"])
        XCTAssertEqual(found[0].source, .project)
        XCTAssertEqual(found[0].path, root.appendingPathComponent("project/.tmeops/plugins/tmeops-notify").path)
        XCTAssertEqual(found[1].path, "\(root.path)/bin1/tmeops-report")
        XCTAssertEqual(found[2].shadowedBy, "swap")
        XCTAssertNil(finder.runnable("deploy"), "a built-in command always wins")
        XCTAssertEqual(finder.runnable("report")?.source, .path)
        XCTAssertNil(finder.runnable("data"), "not executable")
    }

    func testPluginEnvironment() {
        let environment = ExternalPluginFinder.environment(
            base: ["PATH": "/bin", "TMEOPS_ENV": "old"], configURL: URL(fileURLWithPath: "/p/tmeops.yml"),
            environmentName: "production", logFormat: .json, dryRun: true)
        XCTAssertEqual(environment["TMEOPS_CONFIG"], "/p/tmeops.yml")
        XCTAssertEqual(environment["TMEOPS_ENV"], "production")
        XCTAssertEqual(environment["TMEOPS_LOG_FORMAT"], "json")
        XCTAssertEqual(environment["TMEOPS_DRY_RUN"], "1")
        XCTAssertEqual(environment["PATH"], "/bin")
    }

    func testLeadingOptionsFindTheCommandName() {
        let options = LeadingOptions(["--config=x.yml", "-e", "prod", "--dry-run", "-v", "--log-format", "json", "notify", "--channel", "ops"])
        XCTAssertEqual(options.config, "x.yml")
        XCTAssertEqual(options.environment, "prod")
        XCTAssertEqual(options.logFormat, .json)
        XCTAssertTrue(options.dryRun)
        XCTAssertEqual(options.commandName, "notify")
        XCTAssertEqual(options.commandIndex, 7)
        XCTAssertEqual(options.globalWords, ["--config=x.yml", "-e", "prod", "--dry-run", "-v", "--log-format", "json"])
        XCTAssertNil(LeadingOptions(["--unknown", "notify"]).commandName)
        XCTAssertEqual(LeadingOptions(["notify"]).commandIndex, 0)
    }

    func testLeadingGlobalOptionsMoveBehindTheCommand() {
        let arguments = ["--config", "x.yml", "--json", "config", "check"]
        XCTAssertEqual(LeadingOptions(arguments).movedAfterCommand(arguments), ["config", "check", "--config", "x.yml", "--json"])
        let remote = ["-e", "prod", "ssh", "exec", "--", "ls", "-e"]
        XCTAssertEqual(LeadingOptions(remote).movedAfterCommand(remote), ["ssh", "exec", "-e", "prod", "--", "ls", "-e"])
        XCTAssertEqual(LeadingOptions(["--help"]).movedAfterCommand(["--help"]), ["--help"])
    }
}

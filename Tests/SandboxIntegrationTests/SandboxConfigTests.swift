import Foundation
import TMEOpsTestSupport
import XCTest

/// tmeops reads the configuration `scripts/sandbox config` writes for the sandbox.
final class ConfigFileSandboxTests: XCTestCase {
    func testTmeopsChecksAndShowsTheSandboxConfigWithSecretsRedacted() throws {
        let sandbox = try Sandbox.require()
        let project = try TemporaryDirectory.make(prefix: "tmeops-sandbox-config")
        defer { try? FileManager.default.removeItem(at: project) }
        let written = try ProcessRunner.run("/bin/bash", [Sandbox.script, "config", "--write", project.path])
        XCTAssertEqual(written.status, 0, written.stderr)
        let mode = try FileManager.default.attributesOfItem(atPath: project.appendingPathComponent(".tmeops/secrets.env").path)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)

        let check = try TMEOpsBinary.run(["config", "check"], in: project)
        XCTAssertEqual(check.status, 0, check.stderr)
        XCTAssertTrue(check.stdout.contains("checked environments development, sandbox"), check.stdout)

        let show = try TMEOpsBinary.run(["config", "show", "-e", "sandbox"], in: project)
        XCTAssertEqual(show.status, 0, show.stderr)
        XCTAssertTrue(show.stdout.contains("host: \(sandbox["SANDBOX_SSH_HOST"])"), show.stdout)
        XCTAssertFalse(show.stdout.contains(try sandbox.secret("db_password")), "the database password is redacted")
        XCTAssertTrue(show.stdout.contains("password: '********'") || show.stdout.contains("password: ********"), show.stdout)

        let development = try TMEOpsBinary.run(["config", "show", "-e", "development", "--json"], in: project)
        XCTAssertFalse(development.stdout.contains(try sandbox.secret("dev_db_password")), development.stdout)
    }
}

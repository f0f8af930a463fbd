import Foundation
import TMEOpsCore
import TMEOpsTestSupport
import XCTest

/// `tmeops plugin new` in a copy of this source tree, then a real `swift build` and the scaffolded test.
final class PluginScaffoldEndToEndTests: XCTestCase {
    func testScaffoldedPluginBuildsRegistersAndPassesItsTest() throws {
        let copy = try TemporaryDirectory.make(prefix: "tmeops-scaffold")
        defer { try? FileManager.default.removeItem(at: copy) }
        for item in ["Package.swift", "Sources", "Plugins", "Tests", "Templates", ".swift-format"] {
            try FileManager.default.copyItem(at: TMEOpsBinary.packageRoot.appendingPathComponent(item), to: copy.appendingPathComponent(item))
        }

        let created = try TMEOpsBinary.run(["plugin", "new", "hello-team", "--summary", "Say hello for the team."], in: copy)
        XCTAssertEqual(created.status, 0, created.stderr)
        XCTAssertTrue(created.stdout.contains("wrote Plugins/HelloTeam/HelloTeamPlugin.swift"), created.stdout)
        let again = try TMEOpsBinary.run(["plugin", "new", "hello-team"], in: copy)
        XCTAssertNotEqual(again.status, 0, "an existing plugin is never overwritten")
        XCTAssertEqual(try TMEOpsBinary.run(["plugin", "generate", "--check"], in: copy).status, 0)

        let swift = try Self.swiftExecutable()
        // What the scaffold writes passes the project's own format check, as CI applies it.
        let lint = try ProcessRunner.run(
            swift, ["format", "lint", "--strict", "--recursive", "Plugins/HelloTeam", "Tests/Plugins/HelloTeamPluginTests"], directory: copy)
        XCTAssertEqual(lint.status, 0, lint.stdout + lint.stderr)
        let build = try ProcessRunner.run(swift, ["build", "--product", "tmeops"], directory: copy)
        XCTAssertEqual(build.status, 0, build.stdout + build.stderr)
        let test = try ProcessRunner.run(swift, ["test", "--filter", "HelloTeamPluginTests"], directory: copy)
        XCTAssertEqual(test.status, 0, test.stdout + test.stderr)
        XCTAssertTrue((test.stdout + test.stderr).contains("Executed 3 tests, with 0 failures"), test.stdout + test.stderr)

        let binary = copy.appendingPathComponent(".build/debug/tmeops").path
        let greet = try ProcessRunner.run(binary, ["hello-team", "greet", "--name", "ops"], directory: copy)
        XCTAssertEqual(greet.stdout, "Hello, ops, from the hello-team plugin.\n", greet.stderr)
        let plugins = try ProcessRunner.run(binary, ["plugins"], directory: copy)
        XCTAssertTrue(plugins.stdout.split(separator: "\n").contains { $0.hasPrefix("hello-team") && $0.contains("team (compiled in)") }, plugins.stdout)
        let help = try ProcessRunner.run(binary, ["help", "hello-team"], directory: copy)
        XCTAssertTrue(help.stdout.hasPrefix("hello-team — Say hello for the team.\nOrigin: team (compiled in)\n"), help.stdout)
    }

    static func swiftExecutable() throws -> String {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") + ["/opt/swift/usr/bin", "/usr/bin"] {
            let candidate = "\(directory)/swift"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw TMEOpsError("no swift toolchain on PATH or in /opt/swift/usr/bin")
    }
}

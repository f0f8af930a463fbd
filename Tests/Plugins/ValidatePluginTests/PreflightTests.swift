import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsTestSupport
import XCTest

@testable import ValidatePlugin
@testable import tmeops

/// `preflight` with the sample app's project (package.json and a build output) against the sandbox's
/// production container, whose image holds /app/package.json.
final class PreflightSerial: XCTestCase {
    func project() throws -> TestHarness {
        _ = try Sandbox.require()
        XCTAssertEqual(try ProcessRunner.run("/bin/bash", [Sandbox.script, "seed"]).status, 0)
        let harness = try TestHarness(environment: ["HOME": NSHomeDirectory()])
        try registerPlugins(into: harness.registry)
        let written = try ProcessRunner.run("/bin/bash", [Sandbox.script, "config", "--write", harness.directory.path, "--migrations"])
        XCTAssertEqual(written.status, 0, written.stderr)
        return harness
    }

    func testACleanProjectPasses() async throws {
        let harness = try project()
        try await harness.run(PreflightCommand.parse(["-e", "sandbox"]))
        let text = harness.stdout.text
        XCTAssertTrue(text.contains("✓ NODE_ENV in build.args: NODE_ENV=production"), text)
        XCTAssertTrue(text.contains("✓ package.json matches production: 5 dependencies, same versions as /app/package.json in tme-user-app-1"), text)
        XCTAssertTrue(text.contains("✓ no forbidden files in .next"), text)
    }

    func testDriftingDependenciesATurbopackBuildAndADevelopmentNodeEnvAreListed() async throws {
        let harness = try project()
        let package = try String(contentsOf: harness.directory.appendingPathComponent("package.json"), encoding: .utf8)
            .replacingOccurrences(of: "\"next\": \"14.2.3\"", with: "\"next\": \"15.0.0\"").replacingOccurrences(of: "\"pg\": \"8.11.5\", ", with: "")
        try harness.write("package.json", package)
        try harness.write(".next/static/chunks/turbopack-runtime.js", "// dev build\n")
        let config = harness.directory.appendingPathComponent("tmeops.yml")
        try Data(
            try String(contentsOf: config, encoding: .utf8).replacingOccurrences(of: "args: { NODE_ENV: production }", with: "args: { NODE_ENV: development }")
                .utf8
        )
        .write(to: config)
        do {
            try await harness.run(PreflightCommand.parse(["-e", "sandbox"]))
            XCTFail("preflight must exit 3")
        } catch let exit as ExitCode {
            XCTAssertEqual(exit.rawValue, 3)
        }
        let text = harness.stdout.text
        XCTAssertTrue(text.contains("✗ NODE_ENV in build.args: NODE_ENV=development"), text)
        XCTAssertTrue(text.contains("next: here 15.0.0, production 14.2.3"), text)
        XCTAssertTrue(text.contains("pg: here absent, production 8.11.5"), text)
        XCTAssertTrue(text.contains(".next/static/chunks/turbopack-runtime.js"), text)
        XCTAssertTrue(text.contains("✗ 3 of"), text)
    }
}

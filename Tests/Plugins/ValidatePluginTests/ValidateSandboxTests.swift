import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsHosts
import TMEOpsSSH
import TMEOpsTestSupport
import XCTest

@testable import ValidatePlugin
@testable import tmeops

/// The validation plugin against the sandbox host's real containers.
final class ValidateSerial: XCTestCase {
    func harness(edit: (String) -> String = { $0 }) throws -> TestHarness {
        _ = try Sandbox.require()
        let harness = try TestHarness(environment: ["HOME": NSHomeDirectory()])
        try registerPlugins(into: harness.registry)
        try harness.writeSandboxConfig()
        let config = harness.directory.appendingPathComponent("tmeops.yml")
        try Data(edit(try String(contentsOf: config, encoding: .utf8)).utf8).write(to: config)
        return harness
    }

    func run<C: TMEOpsCommand>(_ harness: TestHarness, _ command: C) async -> (status: Int32, error: String) { await harness.outcome(command) }

    /// Starts a container on the sandbox's network; removed when the test ends.
    func container(_ name: String, _ arguments: [String]) throws {
        let sandbox = try Sandbox.require()
        _ = try sandbox.docker(["rm", "-f", name])
        let started = try sandbox.docker(["run", "-d", "--name", name, "--network", sandbox["SANDBOX_NETWORK"]] + arguments)
        XCTAssertEqual(started.status, 0, started.stderr)
        addTeardownBlock { _ = try? sandbox.docker(["rm", "-f", name]) }
    }

    func testProbesShareOneKeptConnectionUntilTheAppClosesIt() throws {
        let sandbox = try Sandbox.require()
        let h = try harness()
        let context = h.context
        defer { context.connections.closeAll() }
        let environment = try context.loadConfig(selecting: .named("sandbox")).environment("sandbox")
        let host = try XCTUnwrap(try context.hosts(environment).first)
        let session = try host.session()
        let details = try XCTUnwrap(try host.engine().container(sandbox["SANDBOX_APP_CONTAINER"]))
        let address = try XCTUnwrap(containerAddress(details, network: nil))
        let before = SSHStatistics.shared.count(.tcp)
        for _ in 0..<10 {
            XCTAssertEqual(try HTTPProbe.request(session: session, host: address, port: 3000, path: "/api/health").status, 200)
        }
        XCTAssertEqual(SSHStatistics.shared.count(.tcp) - before, 1, "ten probes over one kept connection")
        // The app closes a connection idle for 5 s (as Node's server does): the next probe opens a fresh one.
        Thread.sleep(forTimeInterval: 6)
        XCTAssertEqual(try HTTPProbe.request(session: session, host: address, port: 3000, path: "/api/health").status, 200)
        XCTAssertEqual(SSHStatistics.shared.count(.tcp) - before, 2)
    }

    func testTheChecklistPassesOnAHealthySandbox() async throws {
        let h = try harness()
        var result = await run(h, try ValidateAllCommand.parse(["-e", "sandbox"]))
        XCTAssertEqual(result.status, 0, result.error + h.stdout.text)
        for line in [
            "✓ container: running", "✓ health: /api/health", "✓ smoke: application loads", "✓ smoke: status endpoint", "✓ logs: no error patterns",
            "✓ database: connections",
        ] {
            XCTAssertTrue(h.stdout.text.contains(line), "missing \(line) in\n\(h.stdout.text)")
        }
        result = await run(h, try LogsCommand.parse(["-e", "sandbox", "--tail", "3"]))
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(h.stdout.text.contains("GET /api/health 200"), h.stdout.text)
    }

    func testAContainerThatExitsFailsFastWithItsLogs() async throws {
        let h = try harness()
        try container(
            "tmeops-test-exits",
            [try Sandbox.require()["SANDBOX_APP_IMAGE"], "sh", "-c", "echo starting; sleep 1; echo 'fatal: cannot bind port 3000' >&2; exit 3"])
        let started = Date()
        let result = await run(h, try ValidateHealthCommand.parse(["-e", "sandbox", "--container", "tmeops-test-exits"]))
        XCTAssertEqual(result.status, 3, result.error)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "10 attempts x 1 s must not be waited out")
        XCTAssertTrue(h.stdout.text.contains("exit code 3"), h.stdout.text)
        XCTAssertTrue(h.stdout.text.contains("fatal: cannot bind port 3000"), h.stdout.text)
    }

    func testAnEndpointThatFailsThenRecoversPassesAfterRetries() async throws {
        let h = try harness()
        let image = try Sandbox.require()["SANDBOX_APP_IMAGE"]
        // Health answers 503 until its database answers: a relay to the sandbox's PostgreSQL (busybox nc)
        // that refuses connections for its first 8 s (long enough for the app to be listening by then on a
        // busy machine, so a 503 is seen); the app reconnects, as a connection pool does.
        let sandbox = try Sandbox.require()
        let password = try String(contentsOfFile: sandbox["SANDBOX_DIR"] + "/secrets/db_password", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let url = "postgresql://\(sandbox["SANDBOX_DB_USER"]):\(password)@tmeops-test-late-db:5432/\(sandbox["SANDBOX_DB_NAME"])"
        try container("tmeops-test-late-db", [image, "sh", "-c", "sleep 8; exec nc -ll -p 5432 -e nc \(sandbox["SANDBOX_PG_CONTAINER"]) 5432"])
        try container("tmeops-test-late", ["-e", "DATABASE_URL=\(url)", image])
        let result = await run(h, try ValidateHealthCommand.parse(["-e", "sandbox", "--container", "tmeops-test-late", "--attempts", "25"]))
        XCTAssertEqual(result.status, 0, result.error + h.stdout.text + h.stderr.text)
        XCTAssertTrue(h.stderr.text.contains("answered 503, expected 200"), h.stderr.text)
        XCTAssertTrue(h.stdout.text.contains("is healthy"), h.stdout.text)
    }

    func testABodyThatIsNotJSONFailsTheJSONCondition() async throws {
        let h = try harness { $0.replacingOccurrences(of: "path: /api/health", with: "path: /") }
        let result = await run(h, try ValidateHealthCommand.parse(["-e", "sandbox", "--attempts", "2"]))
        XCTAssertEqual(result.status, 3)
        XCTAssertTrue(h.stdout.text.contains("the body has no status (is it JSON?)"), h.stdout.text)
    }

    func testADatabaseThatRefusesConnectionsIsAFailedCheck() async throws {
        let h = try harness { $0.replacingOccurrences(of: "name: tme_portal\n", with: "name: tme_portal\n      port: 5999\n") }
        let result = await run(h, try ValidateAllCommand.parse(["-e", "sandbox"]))
        XCTAssertEqual(result.status, 3, result.error)
        XCTAssertTrue(h.stdout.text.contains("✗ database: reachable:"), h.stdout.text)
        XCTAssertTrue(h.stdout.text.contains("✓ health: /api/health"), "the other checks still run: \(h.stdout.text)")
    }

    func testBadPatternsAndJSONPathsAreConfigErrorsAtLoadTime() throws {
        let badRegex = try harness {
            $0.replacingOccurrences(of: #"log_errors: ["constraint", "revision_number", "urgency"]"#, with: #"log_errors: ["constraint", "/([a-z/"]"#)
        }
        XCTAssertThrowsError(try badRegex.context.loadConfig(selecting: .named("sandbox")).environment("sandbox")) { error in
            XCTAssertTrue("\(error)".contains("validate.log_errors"), "\(error)")
            XCTAssertTrue("\(error)".contains("'/([a-z/' is not a valid regular expression"), "\(error)")
        }
        let badPath = try harness { $0.replacingOccurrences(of: "json: { status: ok, app: tme-portal }", with: "json: { \"data..items\": x }") }
        XCTAssertThrowsError(try badPath.context.loadConfig(selecting: .named("sandbox")).environment("sandbox")) { error in
            XCTAssertTrue("\(error)".contains("'data..items' is not a JSON path"), "\(error)")
        }
    }
}

import Foundation
import TMEOpsCore
import TMEOpsHosts
import TMEOpsSSH
import TMEOpsTestSupport
import XCTest

@testable import tmeops

/// Counts the SSH sessions a command opens.
final class SessionCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var opened = 0
    var count: Int { lock.withLock { opened } }
    func add() { lock.withLock { opened += 1 } }
}

/// The host layer against the sandbox host: one SSH session per host per command, shared by every part
/// of the command that asks for the host, and closed with the command.
final class EnvironmentHostSerial: XCTestCase {
    func context(counting counter: SessionCounter) throws -> (CommandContext, Sandbox) {
        let sandbox = try Sandbox.require()
        let harness = try TestHarness(environment: ["HOME": NSHomeDirectory()], arguments: ["-e", "sandbox"])
        try registerPlugins(into: harness.registry)
        try harness.writeSandboxConfig()
        let base = harness.context
        let services = ServiceFactories(ssh: { options, logger in
            counter.add()
            return try SSHSession(options, logger: logger)
        })
        let context = CommandContext(
            options: base.options, environment: base.environment, workingDirectory: base.workingDirectory, logger: base.logger, output: base.output,
            errorSink: base.errorSink, redactor: base.redactor, registry: base.registry, services: services)
        addTeardownBlock { [harness] in _ = harness }
        return (context, sandbox)
    }

    func testAHostIsReachedOncePerCommandAndClosedWithIt() throws {
        let counter = SessionCounter()
        let (context, sandbox) = try context(counting: counter)
        let (config, environment) = try context.loadEnvironment()
        let hosts = try context.hosts(environment)
        XCTAssertEqual(hosts.map(\.name), [sandbox["SANDBOX_SSH_HOST"]])
        let host = try XCTUnwrap(hosts.first)
        let session = try host.session()
        XCTAssertTrue(session === (try host.session()))
        // Another part of the command asking for the environment's hosts gets the same connections.
        XCTAssertTrue(session === (try context.hosts(environment).first?.session()))
        XCTAssertFalse(try host.engine().version().version.isEmpty)
        XCTAssertNil(try host.state(app: config.app + "-host-test").lockOwner())
        // PostgreSQL's own programs run in the database container over the same session.
        let echoed = try PostgresTools.execInContainer(environment, context: context, script: #"echo "$1""#, arguments: ["reached"], what: "echo")
        XCTAssertEqual(String(decoding: echoed, as: UTF8.self), "reached\n")
        XCTAssertEqual(counter.count, 1, "one SSH session for everything this command did on the host")

        context.connections.closeAll()
        XCTAssertThrowsError(try session.capture(["true"]), "the command's end closes its sessions")
        _ = try host.session().capture(["true"])
        XCTAssertEqual(counter.count, 2, "asked again after the end, the host is reached anew")
        context.connections.closeAll()
    }

    func testALocalEnvironmentHasNoHosts() throws {
        let counter = SessionCounter()
        let (context, _) = try context(counting: counter)
        let environment = try context.loadConfig(selecting: .named("development")).environment("development")
        XCTAssertTrue(try context.hosts(environment).isEmpty)
        XCTAssertEqual(counter.count, 0)
    }
}

/// What a deploy keeps on the host is written through the session's kept command runner, whatever the number of steps.
final class RemoteStateAppenderSerial: XCTestCase {
    func testJournalLinesGoThroughOneKeptChannelByteForByteAndAFailureNamesTheFile() throws {
        _ = try Sandbox.require()
        let harness = try TestHarness(environment: ["HOME": NSHomeDirectory()], arguments: ["-e", "sandbox"])
        try registerPlugins(into: harness.registry)
        try harness.writeSandboxConfig()
        let context = harness.context
        defer { context.connections.closeAll() }
        let (config, environment) = try context.loadEnvironment()
        let host = try XCTUnwrap(try context.hosts(environment).first)
        let session = try host.session()
        let state = try host.state(app: config.app + "-appender-test")
        _ = try session.capture(["rm", "-rf", state.base, "/tmp/tmeops-appender-pwned"])
        defer { _ = try? session.capture(["rm", "-rf", state.base]) }

        let tricky = #"back\slash "quoted" $(touch /tmp/tmeops-appender-pwned) `id` 'single'  two spaces\#ttab ünïcode ; | & > \n"#
        let before = SSHStatistics.shared.count(.command)
        for step in 0..<20 {
            try state.record(RemoteState.JournalEntry(release: "r1", step: "step-\(step)", phase: "done", data: ["note": tricky]), holding: nil)
        }
        XCTAssertEqual(SSHStatistics.shared.count(.command) - before, 0, "twenty journal lines over the runner the session already keeps")
        let journal = try state.journal()
        XCTAssertEqual(journal.map(\.step), (0..<20).map { "step-\($0)" })
        XCTAssertEqual(journal.last?.data["note"], tricky, "every byte kept")
        XCTAssertNotEqual(try session.capture(["test", "-e", "/tmp/tmeops-appender-pwned"]).exit.status, 0, "a value is never run")

        // An unwritable journal is an error that names it; the kept runner serves the next line.
        _ = try session.capture(["chmod", "400", state.journalPath(release: "r1")])
        XCTAssertThrowsError(try state.record(RemoteState.JournalEntry(release: "r1", step: "refused", phase: "done"), holding: nil)) { error in
            XCTAssertTrue("\(error)".contains("open/r1.jsonl"), "\(error)")
        }
        _ = try session.capture(["chmod", "600", state.journalPath(release: "r1")])
        try state.record(RemoteState.JournalEntry(release: "r1", step: "after", phase: "done"), holding: nil)
        XCTAssertEqual(try state.journal().map(\.step).suffix(2), ["step-19", "after"])
    }
}

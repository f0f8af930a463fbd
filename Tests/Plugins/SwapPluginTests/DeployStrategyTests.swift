import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsHosts
import TMEOpsTestSupport
import ValidatePlugin
import XCTest

@testable import SwapPlugin
@testable import tmeops

/// A strategy only a test knows: it records each call and does what `replace` does.
struct RecordingStrategy: DeployStrategy {
    static let name = "recording"
    static let calls = Calls()

    final class Calls: @unchecked Sendable {
        private let lock = NSLock()
        private var list: [String] = []
        func add(_ call: String) { lock.withLock { list.append(call) } }
        var all: [String] { lock.withLock { list } }
    }

    func describeSwap(_ target: DeployTarget, image: String) -> String {
        Self.calls.add("describe")
        return "swap (recording): " + ReplaceStrategy().describeSwap(target, image: image)
    }

    func swap(_ target: DeployTarget, image: String, release: String, journal: (String, [String: String]) throws -> Void) throws -> Double {
        Self.calls.add("swap")
        return try ReplaceStrategy().swap(target, image: image, release: release, journal: journal)
    }

    func putBack(_ target: DeployTarget) throws -> HealthWait.Outcome {
        Self.calls.add("put back")
        return try ReplaceStrategy().putBack(target)
    }

    func interruptedSwapServes(_ target: DeployTarget, journal: [RemoteState.JournalEntry], release: String?) throws -> Bool {
        Self.calls.add("finish")
        return try ReplaceStrategy().interruptedSwapServes(target, journal: journal, release: release)
    }

    func repair(_ target: DeployTarget) throws -> String? {
        Self.calls.add("repair")
        return nil
    }
}

/// The pipeline, the plan, recover and rollback drive whatever strategy the config names: one
/// registered by this test target works with no other change.
final class DeployStrategySerial: XCTestCase {
    func testAStrategyRegisteredOutsideThePluginIsDrivenEverywhere() async throws {
        let sandbox = try Sandbox.require()
        XCTAssertEqual(try ProcessRunner.run("/bin/bash", [Sandbox.script, "seed"]).status, 0)
        DeployStrategies.register(RecordingStrategy.self)
        addTeardownBlock { DeployStrategies.unregister(RecordingStrategy.name) }
        let docker = "unix://\(sandbox["SANDBOX_LOCAL_DOCKER_SOCKET"])"
        let harness = try TestHarness(environment: ["HOME": NSHomeDirectory(), "DOCKER_HOST": docker])
        try registerPlugins(into: harness.registry)
        let written = try ProcessRunner.run("/bin/bash", [Sandbox.script, "config", "--write", harness.directory.path, "--migrations"])
        XCTAssertEqual(written.status, 0, written.stderr)
        let adopted = try TMEOpsBinary.run(["migrate", "adopt", "-e", "sandbox"], in: harness.directory, environment: ["DOCKER_HOST": docker])
        XCTAssertEqual(adopted.status, 0, adopted.stderr)
        let config = harness.directory.appendingPathComponent("tmeops.yml")
        try Data(try String(contentsOf: config, encoding: .utf8).replacingOccurrences(of: "strategy: replace", with: "strategy: recording").utf8)
            .write(to: config)

        try await harness.run(DeployCommand.parse(["-e", "sandbox", "--image", "tme-portal-server:sandbox-2", "--dry-run"]))
        XCTAssertTrue(harness.stdout.text.contains("swap (recording): swap: "), harness.stdout.text)
        try await harness.run(DeployCommand.parse(["-e", "sandbox", "--image", "tme-portal-server:sandbox-2"]))
        try await harness.run(RecoverCommand.parse(["-e", "sandbox"]))
        try await harness.run(RollbackCommand.parse(["-e", "sandbox"]))
        XCTAssertEqual(
            RecordingStrategy.calls.all, ["describe", "describe", "swap", "repair", "swap"],
            "recover asks about an interrupted swap only when a -new container is left")
        let version = try sandbox.inNamespace(["curl", "-fsS", "--max-time", "5", "http://127.0.0.1:80/api/version"]).stdout
        XCTAssertTrue(version.contains("sandbox-1"), "rolled back through the recording strategy: \(version)")
    }
}

/// The strategy registry's own errors (no sandbox).
final class DeployStrategyRegistryTests: XCTestCase {
    func testAnUnknownStrategyNamesTheRegisteredOnes() {
        XCTAssertTrue(DeployStrategies.names.starts(with: ["replace", "proxy"]))
        XCTAssertNil(DeployStrategies.named("blue-green"))
    }

    func testOnlyTheUpstreamsOwnAnswerShowsTheProxySwitched() {
        // nginx puts the header on its own error pages too (`add_header … always`).
        XCTAssertTrue(DeployTarget.isUpstreamsAnswer(status: 200, header: "app-r-2", upstream: "app-r-2"))
        XCTAssertTrue(DeployTarget.isUpstreamsAnswer(status: 404, header: "app-r-2", upstream: "app-r-2"))
        XCTAssertFalse(DeployTarget.isUpstreamsAnswer(status: 502, header: "app-r-2", upstream: "app-r-2"))
        XCTAssertFalse(DeployTarget.isUpstreamsAnswer(status: 504, header: "app-r-2", upstream: "app-r-2"))
        XCTAssertFalse(DeployTarget.isUpstreamsAnswer(status: 200, header: "app-r-1", upstream: "app-r-2"))
        XCTAssertFalse(DeployTarget.isUpstreamsAnswer(status: 200, header: nil, upstream: "app-r-2"))
    }
}

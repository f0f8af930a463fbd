import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsDocker
import TMEOpsSSH
import TMEOpsTestSupport
import XCTest

@testable import ImagePlugin
@testable import tmeops

/// Delivery from the sandbox's local engine to its host's engine over SSH.
final class ImagePushTests: XCTestCase {
    var sandbox: Sandbox!
    var harness: TestHarness!
    var tag = ""

    override func setUpWithError() throws {
        sandbox = try Sandbox.require()
        harness = try TestHarness(environment: ["HOME": NSHomeDirectory(), "DOCKER_HOST": "unix://\(sandbox["SANDBOX_LOCAL_DOCKER_SOCKET"])"])
        try registerPlugins(into: harness.registry)
        try harness.writeSandboxConfig()
        tag = "tme-portal-server:push-\(UUID().uuidString.prefix(6).lowercased())"
    }

    override func tearDownWithError() throws {
        _ = try? sandbox.docker(["rmi", "-f", tag])
        _ = try? ProcessRunner.run("/usr/bin/docker", ["-H", "unix://\(sandbox["SANDBOX_LOCAL_DOCKER_SOCKET"])", "rmi", "-f", tag])
    }

    func remote() throws -> DockerEngine { try DockerEngine.local(environment: ["DOCKER_HOST": "unix://\(sandbox["SANDBOX_DOCKER_SOCKET"])"]) }

    /// A new version on the local engine: the sandbox base plus one layer of `megabytes` random bytes.
    func buildVersion(megabytes: Int = 1) async throws {
        try harness.write(
            "Dockerfile",
            """
            FROM \(sandbox["SANDBOX_APP_IMAGE"])
            USER root
            RUN head -c \(megabytes << 20) /dev/urandom > /app/payload.bin
            ENV NODE_ENV=production
            """)
        try await harness.run(ImageBuildCommand.parse(["--tag", tag]))
        harness.stdout.clear()
    }

    func testPushSendsOnlyTheMissingLayerThenNothing() async throws {
        try await buildVersion(megabytes: 2)
        let local = try DockerEngine.local(environment: harness.environment)
        let id = try XCTUnwrap(try local.image(tag)?.id)

        try await harness.run(ImagePushCommand.parse([tag, "-e", "sandbox", "--json"]))
        let first = try JSONDecoder().decode(ImagePush.Report.self, from: Data(harness.stdout.text.utf8))
        XCTAssertEqual(first.layersSkipped, first.layers - 1, "only the new top layer travels")
        XCTAssertLessThanOrEqual(first.bytesSent, UInt64(Double(2 << 20) * 1.1), "bytes sent stay within 1.1x of the new layer")
        XCTAssertGreaterThan(first.bytesSent, UInt64(2 << 20))
        XCTAssertEqual(try remote().image(tag)?.id, id)

        harness.stdout.clear()
        try await harness.run(ImagePushCommand.parse([tag, "-e", "sandbox"]))
        XCTAssertTrue(harness.stdout.text.contains("sandbox already had \(tag)"), harness.stdout.text)
        XCTAssertTrue(harness.stdout.text.contains("sent only its manifest and config"), harness.stdout.text)
    }

    func testFullPushSendsEverything() async throws {
        try await buildVersion()
        try await harness.run(ImagePushCommand.parse([tag, "-e", "sandbox", "--full", "--json"]))
        let report = try JSONDecoder().decode(ImagePush.Report.self, from: Data(harness.stdout.text.utf8))
        XCTAssertEqual(report.layersSkipped, 0)
        XCTAssertEqual(report.bytesSent, report.imageBytes)
    }

    func testACutConnectionLeavesTheRemoteAsItWas() async throws {
        try await buildVersion(megabytes: 8)
        let before = try remote().images().map(\.id).sorted()
        let local = try DockerEngine.local(environment: harness.environment)
        let session = try SSHSession(sandbox.sshOptions())
        defer { session.close() }
        var push = ImagePush(
            local: local, remote: DockerEngine.remote(session: session, socket: sandbox["SANDBOX_DOCKER_SOCKET"]), logger: harness.context.logger)
        var killed = false
        push.progress = { sent, _ in
            if !killed, sent > 1 << 20 {
                killed = true
                _ = try? ProcessRunner.run("/usr/bin/pkill", ["-KILL", "-f", "^sshd: \(self.sandbox["SANDBOX_SSH_USER"])"])
            }
        }
        XCTAssertThrowsError(try push.push(tag))
        XCTAssertTrue(killed)
        XCTAssertNil(try remote().image(tag), "nothing half-tagged")
        XCTAssertEqual(try remote().images().map(\.id).sorted(), before, "the remote keeps exactly its previous images")
    }

    func testTagBackupTagsTheRunningProductionImage() async throws {
        try await harness.run(ImageTagBackupCommand.parse(["-e", "sandbox"]))
        let line = harness.stdout.text
        let backup = try XCTUnwrap(line.range(of: #"tme-portal-server:backup-\d{8}-\d{6}"#, options: .regularExpression).map { String(line[$0]) })
        defer { _ = try? sandbox.docker(["rmi", backup]) }
        let running = try XCTUnwrap(try remote().container(sandbox["SANDBOX_APP_CONTAINER"])?.image)
        XCTAssertEqual(try remote().image(backup)?.id, running)
    }

    func testPruneKeepsYoungTestImagesAndSaysWhy() async throws {
        try harness.write("Dockerfile", "FROM \(sandbox["SANDBOX_APP_IMAGE"])\nLABEL test=true\n")
        try await harness.run(ImageBuildCommand.parse(["--tag", tag]))
        try await harness.run(ImagePushCommand.parse([tag, "-e", "sandbox"]))
        harness.stdout.clear()
        try await harness.run(ImagePruneCommand.parse(["-e", "sandbox", "--dry-run"]))
        XCTAssertTrue(harness.stdout.text.contains("keep image \(tag): test image younger than 48 h"), harness.stdout.text)
        XCTAssertNotNil(try remote().image(tag), "a dry run removes nothing")
    }

    func testSharedLayerChainsAndReleaseTags() {
        XCTAssertEqual(ImagePush.sharedPrefix(["a", "b", "c"], with: [["a", "b", "x"], ["a"], []]), 2)
        XCTAssertEqual(ImagePush.sharedPrefix(["a", "b"], with: [["b", "a"]]), 0, "a layer counts only with its whole chain below it")
        XCTAssertEqual(ImagePush.sharedPrefix(["a"], with: [["a", "b", "c"]]), 1)
        XCTAssertTrue(ImagePruneCommand.isRelease("app:20261126-101500", image: "app"))
        XCTAssertFalse(ImagePruneCommand.isRelease("app:backup-20261126-101500", image: "app"))
        XCTAssertFalse(ImagePruneCommand.isRelease("other:20261126-101500", image: "app"))
    }
}

/// The layer-order logic of thin archives, on exports whose folders sort in any order.
final class LayerChainTests: XCTestCase {
    func json(parent: String?) -> Data {
        Data((parent.map { #"{"id":"x","parent":"\#($0)"}"# } ?? #"{"id":"x"}"#).utf8)
    }

    func testPositionsResolveOnceParentsAreSeen() {
        let chain = LayerChain()
        chain.record("ccc", json: json(parent: "aaa"))  // the top layer sorts first
        XCTAssertNil(chain.position(of: "ccc"), "its parent is not seen yet: unknown, so it is sent")
        chain.record("aaa", json: json(parent: "bbb"))
        chain.record("bbb", json: json(parent: nil))
        XCTAssertEqual(chain.position(of: "bbb"), 0)
        XCTAssertEqual(chain.position(of: "aaa"), 1)
        XCTAssertEqual(chain.position(of: "ccc"), 2)
    }

    func testTheManifestCheckCatchesAWrongMapping() throws {
        let manifest = Data(#"[{"Config":"c.json","RepoTags":["a:b"],"Layers":["bbb/layer.tar","aaa/layer.tar"]}]"#.utf8)
        let good = LayerChain()
        good.skipped["bbb"] = 0
        good.sent["aaa"] = "sha256:top"
        XCTAssertNoThrow(try good.check(manifest: manifest, diffIDs: ["sha256:base", "sha256:top"], skip: 1, reference: "a:b"))
        let wrong = LayerChain()
        wrong.sent["bbb"] = "sha256:top"
        XCTAssertThrowsError(try wrong.check(manifest: manifest, diffIDs: ["sha256:base", "sha256:top"], skip: 0, reference: "a:b"))
        let unsafeSkip = LayerChain()
        unsafeSkip.skipped["aaa"] = 1
        XCTAssertThrowsError(try unsafeSkip.check(manifest: manifest, diffIDs: ["sha256:base", "sha256:top"], skip: 1, reference: "a:b"))
    }
}

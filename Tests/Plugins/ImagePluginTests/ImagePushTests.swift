import ArgumentParser
import Foundation
import TMEOpsArchive
import TMEOpsCore
import TMEOpsCrypto
import TMEOpsDocker
import TMEOpsHosts
import TMEOpsSSH
import TMEOpsTestSupport
import XCTest

@testable import ImagePlugin
@testable import tmeops

/// Delivery from the sandbox's local engine to its host's engine over SSH.
final class ImagePushSerial: XCTestCase {
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
        guard let sandbox else { return }  // setUp skipped: no sandbox
        _ = try? sandbox.docker(["rmi", "-f", tag])
        _ = try? ProcessRunner.run("/usr/bin/docker", ["-H", "unix://\(sandbox["SANDBOX_LOCAL_DOCKER_SOCKET"])", "rmi", "-f", tag])
    }

    func remote() throws -> DockerEngine { try DockerEngine.local(environment: ["DOCKER_HOST": "unix://\(sandbox["SANDBOX_DOCKER_SOCKET"])"]) }

    /// How many layers the sandbox's app image (which the server has) is made of.
    func appImageLayers() throws -> Int {
        let output = try sandbox.docker(["image", "inspect", "-f", "{{len .RootFS.Layers}}", sandbox["SANDBOX_APP_IMAGE"]]).stdout
        return try XCTUnwrap(Int(output.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

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
        XCTAssertTrue(harness.stdout.text.contains("tagged it there, sent nothing"), harness.stdout.text)
    }

    func testThinPushLeavesOutEveryBaseLayerWhateverTheFolderOrder() async throws {
        // A base of several layers on the remote (the app's own and three more): docker save sorts folders by random names, so some of them
        // come before their parents'. None of them may travel again.
        let base = tag + "-base"
        defer {
            _ = try? sandbox.docker(["rmi", "-f", base])
            _ = try? ProcessRunner.run("/usr/bin/docker", ["-H", "unix://\(sandbox["SANDBOX_LOCAL_DOCKER_SOCKET"])", "rmi", "-f", base])
        }
        try harness.write(
            "Dockerfile",
            "FROM \(sandbox["SANDBOX_APP_IMAGE"])\nUSER root\n" + (1...3).map { "RUN head -c 300000 /dev/urandom > /layer-\($0).bin\n" }.joined())
        try await harness.run(ImageBuildCommand.parse(["--tag", base]))
        try await harness.run(ImagePushCommand.parse([base, "-e", "sandbox"]))
        try harness.write("Dockerfile", "FROM \(base)\nRUN head -c \(2 << 20) /dev/urandom > /app/payload.bin\n")
        try await harness.run(ImageBuildCommand.parse(["--tag", tag]))
        harness.stdout.clear()
        try await harness.run(ImagePushCommand.parse([tag, "-e", "sandbox", "--json"]))
        let report = try JSONDecoder().decode(ImagePush.Report.self, from: Data(harness.stdout.text.utf8))
        let appLayers = try appImageLayers()
        XCTAssertEqual(report.layers, appLayers + 4)
        XCTAssertEqual(report.layersSkipped, appLayers + 3)
        XCTAssertLessThanOrEqual(report.bytesSent, UInt64(Double(2 << 20) * 1.1), "only the new layer travels")
    }

    func testAnExportStartedAheadCanBeGivenUpMoreThanOnce() async throws {
        try await buildVersion()
        let local = try DockerEngine.local(environment: harness.environment)
        let export = try ImagePush.startExport(tag, from: local, logger: harness.context.logger)
        export.cancel()
        export.cancel()  // a deploy stopped in preflight gives it up from two places
        let missing = try ImagePush.startExport(tag + "-missing", from: local, logger: harness.context.logger)
        XCTAssertThrowsError(try missing.finish())
        XCTAssertThrowsError(try missing.finish(), "the same error again, not a wait")
    }

    func testFullPushSendsEverything() async throws {
        try await buildVersion()
        try await harness.run(ImagePushCommand.parse([tag, "-e", "sandbox", "--full", "--json", "--compression", "none"]))
        let report = try JSONDecoder().decode(ImagePush.Report.self, from: Data(harness.stdout.text.utf8))
        XCTAssertEqual(report.layersSkipped, 0)
        XCTAssertEqual(report.bytesSent, report.imageBytes)
        XCTAssertEqual(report.compression, "none")
    }

    /// A layer of text (as node_modules and a build output are) travels compressed, thin or whole, and
    /// the engine loads the same image ID; the report gives the bytes on the wire and before.
    func testACompressibleLayerTravelsCompressedAndLoadsTheSameImage() async throws {
        try harness.write(
            "Dockerfile",
            """
            FROM \(sandbox["SANDBOX_APP_IMAGE"])
            USER root
            RUN for i in $(seq 1 40000); do echo "module.exports.f$i = function (a, b) { return a + b + $i; };"; done > /app/bundle.js
            ENV NODE_ENV=production
            """)
        try await harness.run(ImageBuildCommand.parse(["--tag", tag]))
        let id = try XCTUnwrap(try DockerEngine.local(environment: harness.environment).image(tag)?.id)
        // The sandbox's engine is Debian 12's Docker 20.10, which reads gzip but not zstd: asked for zstd,
        // it gets gzip.
        for (how, full) in [("zstd", false), ("gzip", true)] {
            _ = try? sandbox.docker(["rmi", "-f", tag])
            harness.stdout.clear()
            try await harness.run(ImagePushCommand.parse([tag, "-e", "sandbox", "--json", "--compression", how] + (full ? ["--full"] : [])))
            let report = try JSONDecoder().decode(ImagePush.Report.self, from: Data(harness.stdout.text.utf8))
            XCTAssertEqual(report.compression, "gzip", how)
            XCTAssertGreaterThan(report.archiveBytes, 2_000_000, how)
            XCTAssertLessThan(Double(report.bytesSent), Double(report.archiveBytes) / 2, "\(how): \(report)")
            XCTAssertEqual(try remote().image(tag)?.id, id, how)
        }
        harness.stdout.clear()
        _ = try? sandbox.docker(["rmi", "-f", tag])
        try await harness.run(ImagePushCommand.parse([tag, "-e", "sandbox", "--compression", "zstd"]))
        XCTAssertTrue(harness.stdout.text.contains("(gzip: "), harness.stdout.text)
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
                _ = try? Sandbox.cutSSHConnections()
            }
        }
        XCTAssertThrowsError(try push.push(tag))
        XCTAssertTrue(killed)
        XCTAssertNil(try remote().image(tag), "nothing half-tagged")
        XCTAssertEqual(try remote().images().map(\.id).sorted(), before, "the remote keeps exactly its previous images")
    }

    /// A first delivery goes in pieces; cut off after the first piece, the next push sends only the
    /// layers the host does not have yet, and removes the partial image that held the others.
    func testAPushCutOffResumesWithTheLayersTheHostAlreadyHasAndTidiesUp() async throws {
        // Three layers of 40 MB of random bytes: three pieces (PushPieces.pieceBytes is 32 MiB).
        try harness.write(
            "Dockerfile",
            "FROM \(sandbox["SANDBOX_APP_IMAGE"])\nUSER root\n" + (1...3).map { "RUN head -c \(40 << 20) /dev/urandom > /layer-\($0).bin\n" }.joined())
        try await harness.run(ImageBuildCommand.parse(["--tag", tag]))
        let docker = try remote()
        let partials = { try docker.images(filters: ["label": [PushPieces.label]]).map(\.id) }
        defer { for id in (try? partials()) ?? [] { _ = try? docker.removeImage(id, force: true) } }
        let local = try DockerEngine.local(environment: harness.environment)
        let id = try XCTUnwrap(try local.image(tag)?.id)
        let session = try SSHSession(sandbox.sshOptions())
        defer { session.close() }
        var push = ImagePush(
            local: local, remote: DockerEngine.remote(session: session, socket: sandbox["SANDBOX_DOCKER_SOCKET"]), logger: harness.context.logger)
        // The moment the first partial image is on the host, the connection goes (a dropped link).
        var (cut, lastLook) = (false, Date.distantPast)
        push.progress = { _, _ in
            guard !cut, Date().timeIntervalSince(lastLook) > 0.02 else { return }
            lastLook = Date()
            if let found = try? partials(), !found.isEmpty {
                cut = true
                _ = try? Sandbox.cutSSHConnections()
            }
        }
        XCTAssertThrowsError(try push.push(tag))
        XCTAssertTrue(cut, "the push was cut off after its first piece")
        XCTAssertNil(try docker.image(tag), "nothing tagged")
        XCTAssertEqual(try partials().count, 1, "the first piece stays on the host")

        harness.stdout.clear()
        try await harness.run(ImagePushCommand.parse([tag, "-e", "sandbox", "--json", "--compression", "none"]))
        let report = try JSONDecoder().decode(ImagePush.Report.self, from: Data(harness.stdout.text.utf8))
        let appLayers = try appImageLayers()
        XCTAssertEqual(report.layers, appLayers + 3)
        XCTAssertGreaterThanOrEqual(report.resumedLayers, appLayers + 1, "the layers of the first piece were not sent again: \(report)")
        XCTAssertEqual(report.layersSkipped, report.resumedLayers)
        XCTAssertLessThan(report.bytesSent, UInt64(Double(80 << 20) * 1.05), "at most the two layers after the cut travel: \(report)")
        XCTAssertEqual(try docker.image(tag)?.id, id)
        XCTAssertEqual(try partials(), [], "the partial image is removed once the image is there")
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

    /// Folders of a real `docker save` (Docker 20.10) of a three-layer image, where the middle layer's
    /// folder sorts before its parent's: both are placed from their own `json` alone.
    func testLegacyFolderNamesGivePositionsBeforeTheirParentsAreSeen() {
        let diffIDs = [
            "sha256:99d3f09b10ed6ea90b22799b17f15a410e35c95dd2a31a7bfc7d763337972a24",
            "sha256:55e69c8fa95af52735d39dd9e2a3a53bad13e2e436566c92dc357e6a6835d1ba",
            "sha256:b32f503dc116087be8c76807e2c408a3b3e1dbd4a927ea0f3246f08c12c30c61",
        ]
        let base = "c6865f429cf3e9152cda10e27fe01aa0325da954a5980105621c216a2df2b00d"
        let middle = "b9816082000b0e08e080f212b6ef4c0c4d18b572edd8d7f95c6b6a35a06fbc18"
        let emptyConfig =
            #"{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":null,"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":null}"#
        func json(_ id: String, parent: String?) -> Data {
            Data(
                #"{"id":"\#(id)",\#(parent.map { #""parent":"\#($0)","# } ?? "")"created":"1970-01-01T00:00:00Z","container_config":\#(emptyConfig),"os":"linux"}"#
                    .utf8)
        }
        let chainIDs = LegacyLayerID.chainIDs(diffIDs)
        XCTAssertEqual(chainIDs[0], diffIDs[0])
        XCTAssertEqual(LegacyLayerID.position(ofFolder: middle, json: json(middle, parent: base), chainIDs: chainIDs), 1)
        XCTAssertEqual(LegacyLayerID.position(ofFolder: base, json: json(base, parent: nil), chainIDs: chainIDs), 0)
        XCTAssertNil(
            LegacyLayerID.position(ofFolder: middle, json: json(middle, parent: "0" + base.dropFirst()), chainIDs: chainIDs), "another parent: no match")
        XCTAssertNil(LegacyLayerID.position(ofFolder: middle, json: json(middle, parent: base), chainIDs: Array(chainIDs.prefix(1))), "another chain: no match")

        let chain = LayerChain(diffIDs: diffIDs)
        chain.record(middle, json: json(middle, parent: base))
        XCTAssertEqual(chain.position(of: middle), 1, "known before its parent's folder streams past")
    }

    func testRawTopLevelValuesKeepTheWrittenBytes() throws {
        let values = try XCTUnwrap(LegacyLayerID.topLevelValues(Data(#" { "a" : {"x":[1, "}\"", {}]} , "b":-1.5e3,"c":"s\"t","d":null } "#.utf8)))
        XCTAssertEqual(values.mapValues { String(decoding: $0, as: UTF8.self) }, ["a": #"{"x":[1, "}\"", {}]}"#, "b": "-1.5e3", "c": #""s\"t""#, "d": "null"])
        XCTAssertEqual(LegacyLayerID.topLevelValues(Data("{}".utf8)), [:])
        for bad in ["", "[]", #"{"a""#, #"{"a":}"#, #"{"a":{"b":1}"#, #"{"a":1,}"#, #"{"a":"x}"#] {
            XCTAssertNil(LegacyLayerID.topLevelValues(Data(bad.utf8)), bad)
        }
    }
}

/// Pushes in pieces, without a sandbox: how layers are grouped, and the spool that keeps the export:
/// layers found by the digest of their bytes, links followed, and an export whose layer files are not
/// the layers' own bytes refused for pieces.
final class PushPiecesTests: XCTestCase {
    /// Pieces close at `pieceBytes`; the last one always ends at the top layer, and a partial image's
    /// config gives the same ID for the same layers.
    func testPiecesGroupLayersInOrderAndPartialConfigsAreStable() throws {
        let sizes: [UInt64] = [10, 10, 40, 5, 5, 50]
        XCTAssertEqual(
            PushPieces.plan(sizes: sizes, skip: 1, pieceBytes: 32),
            [PushPieces.Piece(sent: [1, 2], upTo: 2), PushPieces.Piece(sent: [3, 4, 5], upTo: 5)])
        XCTAssertEqual(PushPieces.plan(sizes: sizes, skip: 5, pieceBytes: 32), [PushPieces.Piece(sent: [5], upTo: 5)])
        XCTAssertEqual(
            PushPieces.plan(sizes: [40, 40, 40], skip: 0, pieceBytes: 32),
            [PushPieces.Piece(sent: [0], upTo: 0), PushPieces.Piece(sent: [1], upTo: 1), PushPieces.Piece(sent: [2], upTo: 2)])
        let config = try PushPieces.partialConfig(diffIDs: ["sha256:a", "sha256:b"], os: "linux", architecture: "amd64", repository: "app")
        XCTAssertEqual(config, try PushPieces.partialConfig(diffIDs: ["sha256:a", "sha256:b"], os: "linux", architecture: "amd64", repository: "app"))
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: config) as? [String: Any])
        XCTAssertEqual((object["rootfs"] as? [String: Any])?["diff_ids"] as? [String], ["sha256:a", "sha256:b"])
        XCTAssertEqual(((object["config"] as? [String: Any])?["Labels"] as? [String: String])?[PushPieces.label], "app")
    }

    func testLayersAreFoundByTheirBytesAndACompressedExportIsRefusedForPieces() throws {
        let folder = try TemporaryDirectory.make(prefix: "tmeops-spool")
        defer { try? FileManager.default.removeItem(at: folder) }
        let large = Data((0..<(2 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 13) })
        let small = Data("a small layer".utf8)
        let path = folder.appendingPathComponent("export.tar").path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let writer = try TarWriter(fd: fd, destination: path)
        try writer.addData("b/layer.tar", small)
        try writer.addData("a/layer.tar", large)
        try writer.addSymlink("c/layer.tar", target: "../a/layer.tar")
        try writer.addData("manifest.json", Data("[]".utf8))
        try writer.close()
        close(fd)
        let digest = { (data: Data) in "sha256:" + SHA256.hex(SHA256.digest(data)) }
        let input = open(path, O_RDONLY)
        let spool = try LayerSpool(
            reference: "app:test", source: DescriptorSource(fileDescriptor: input, name: path), finish: {}, cancel: {},
            diffIDs: [digest(large), digest(small)], skip: 0, logger: try TestHarness(environment: [:]).context.logger)
        guard case .file(let kept, let size) = try spool.layer(digest(large)) else { return XCTFail("a large layer is kept on disk") }
        XCTAssertEqual(size, UInt64(large.count))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: kept)), large)
        guard case .memory(let data) = try spool.layer(digest(small)) else { return XCTFail("a small one in memory") }
        XCTAssertEqual(data, small)
        try spool.waitForEnd()
        XCTAssertEqual(spool.file("c/layer.tar")?.size, UInt64(large.count), "a link leads to its target")
        XCTAssertThrowsError(try spool.layer(digest(Data("gzip of a layer".utf8)))) { XCTAssertTrue($0 is PushPieces.Unavailable, "\($0)") }
        spool.discard()
        XCTAssertFalse(FileManager.default.fileExists(atPath: spool.directory.path), "the temporary folder is removed")
    }
}

/// The push's pure decisions: compression on the wire, shared layer chains, release tags.
final class ImagePushDecisionTests: XCTestCase {
    /// transfer.compression: auto compresses only when the link is slower than the compressor; zstd is
    /// used only where the engine reads it.
    func testWireCompressionChoice() {
        func decide(_ setting: TransferConfig.Compression, link: Double?, zstd: Bool = true) -> String {
            WireCompression.decide(setting, linkBytesPerSecond: link, compressorBytesPerSecond: 300e6, engineReadsZstd: zstd).rawValue
        }
        XCTAssertEqual(decide(.auto, link: 12.5e6), "zstd", "100 Mbit/s: compress")
        XCTAssertEqual(decide(.auto, link: 12.5e6, zstd: false), "gzip")
        XCTAssertEqual(decide(.auto, link: 900e6), "none", "a link faster than the compressor")
        XCTAssertEqual(decide(.auto, link: nil), "zstd", "not measured: compress")
        XCTAssertEqual(decide(.none, link: 1e3), "none")
        XCTAssertEqual(decide(.gzip, link: 900e6), "gzip")
        XCTAssertEqual(decide(.zstd, link: 900e6, zstd: false), "gzip", "an engine that cannot read zstd gets gzip")
        XCTAssertFalse(WireCompression.readsZstd(version: "20.10.24+dfsg1"))
        XCTAssertTrue(WireCompression.readsZstd(version: "23.0.1"))
        XCTAssertTrue(WireCompression.readsZstd(version: "28.2.2"))
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

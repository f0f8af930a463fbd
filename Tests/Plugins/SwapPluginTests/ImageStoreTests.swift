import Foundation
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import TMEOpsSSH
import TMEOpsTestSupport
import XCTest

@testable import ImagePlugin

/// What the two image stores share: a deploy from one to the other, the next version with only its new
/// layer sent, a rollback and a recover after SIGKILL, each checked against what the server's own engine
/// names the image.
protocol ImageStoreScenario: SeededDeployProject {
    /// The server's engine, as the docker CLI reaches it from here.
    var serverSocket: String { get }
    /// The app's version the server answers with on port 80.
    func served() throws -> String
}

extension ImageStoreScenario {
    func docker(_ socket: String, _ arguments: [String]) throws -> ProcessResult {
        // The legacy builder, as the sandbox builds: BuildKit would look the base image up in a registry.
        var environment = ProcessInfo.processInfo.environment
        environment["DOCKER_BUILDKIT"] = "0"
        return try ProcessRunner.run("/usr/bin/docker", ["-H", "unix://\(socket)"] + arguments, environment: environment)
    }

    func releases() throws -> [[String: Any]] {
        let listed = try tmeops(["releases", "-e", environmentName, "--json"])
        return try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]] ?? []
    }

    /// The image ID the server's app container runs, as the server's engine names it.
    func runningImageID() throws -> String {
        try docker(serverSocket, ["inspect", "-f", "{{.Image}}", sandbox["SANDBOX_APP_CONTAINER"]]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Builds `tme-portal-server:<tag>` on the build machine's engine: version 2 plus one small layer.
    func buildNextVersion(_ tag: String) throws {
        let context = try TemporaryDirectory.make(prefix: "tmeops-next")
        defer { try? FileManager.default.removeItem(at: context) }
        try Data("FROM tme-portal-server:sandbox-2\nUSER root\nRUN echo next > /app/next.txt\nUSER app\nENV APP_VERSION=\(tag)\n".utf8)
            .write(to: context.appendingPathComponent("Dockerfile"))
        let built = try docker(localDockerSocket, ["build", "-q", "-t", "tme-portal-server:\(tag)", context.path])
        XCTAssertEqual(built.status, 0, built.stderr)
    }

    /// Deploy version 2, then the next version (one layer sent), roll back, and recover a deploy killed
    /// between its renames: each step serves what it says and records the server's own image IDs.
    func deployNextRollBackAndRecover(_ next: String) throws {
        let env = environmentName
        let first = try tmeops(["deploy", "-e", env, "--image", "tme-portal-server:sandbox-2"])
        XCTAssertEqual(first.status, 0, first.stdout + first.stderr)
        XCTAssertTrue(try served().contains("sandbox-2"))
        XCTAssertEqual(try releases().last?["image_id"] as? String, try runningImageID(), "the ledger names the image as the server's engine does")

        try buildNextVersion(next)
        defer { _ = try? docker(localDockerSocket, ["rmi", "-f", "tme-portal-server:\(next)"]) }
        let second = try tmeops(["deploy", "-e", env, "--image", "tme-portal-server:\(next)"])
        XCTAssertEqual(second.status, 0, second.stdout + second.stderr)
        XCTAssertTrue(second.stdout.range(of: #": 1 of \d+ layers"#, options: .regularExpression) != nil, "only the new layer travels: \(second.stdout)")
        XCTAssertTrue(try served().contains(next))
        XCTAssertEqual(try releases().last?["image_id"] as? String, try runningImageID())

        let rollback = try tmeops(["rollback", "-e", env])
        XCTAssertEqual(rollback.status, 0, rollback.stdout + rollback.stderr)
        XCTAssertTrue(try served().contains("sandbox-2"))
        XCTAssertEqual(try releases().last?["outcome"] as? String, "rollback")
        XCTAssertEqual(try releases().last?["image_id"] as? String, try runningImageID())

        let killed = try tmeops(["deploy", "-e", env, "--image", "tme-portal-server:\(next)"], environment: ["TMEOPS_FAULT_AT": "swap.after-rename"])
        XCTAssertEqual(killed.status, 9, killed.stdout + killed.stderr)
        let recovered = try tmeops(["recover", "-e", env])
        XCTAssertEqual(recovered.status, 0, recovered.stdout + recovered.stderr)
        XCTAssertTrue(try served().contains(next))
        let last = try XCTUnwrap(try releases().last)
        XCTAssertEqual(last["outcome"] as? String, "recovered")
        XCTAssertEqual(last["image_id"] as? String, try runningImageID(), "recover records the delivered image, as the server names it")
        XCTAssertEqual(try tmeops(["lock", "status", "-e", env]).stdout, "the deploy lock is free\n")
    }
}

/// A build machine on the containerd image store (Docker Desktop's) deploying to the classic-store
/// production host: the versions were built there, so their new layers are compressed blobs.
final class ContainerdBuildSerial: SeededDeployProject, ImageStoreScenario {
    override var projectPrefix: String { "tmeops-cd-build" }
    override var localDockerSocket: String { sandbox["SANDBOX_LOCAL_CD_DOCKER_SOCKET"] }
    var serverSocket: String { sandbox["SANDBOX_DOCKER_SOCKET"] }

    func served() throws -> String { try sandbox.inNamespace(["curl", "-fsS", "--max-time", "5", "http://127.0.0.1:80/api/version"]).stdout }

    func testBuildVerifyPushAndDeployFromTheContainerdStoreThenTheNextVersionRollbackAndRecover() throws {
        let store = try docker(localDockerSocket, ["info", "-f", "{{json .DriverStatus}}"]).stdout
        XCTAssertTrue(store.contains("io.containerd.snapshotter.v1"), "the build engine keeps images in containerd's store: \(store)")
        let verified = try tmeops(["image", "verify", "tme-portal-server:sandbox-2"])
        XCTAssertEqual(verified.status, 0, verified.stdout + verified.stderr)
        let pushed = try tmeops(["image", "push", "tme-portal-server:sandbox-2", "-e", "sandbox"])
        XCTAssertEqual(pushed.status, 0, pushed.stdout + pushed.stderr)
        XCTAssertTrue(pushed.stdout.contains("the remote has the same image as sha256:"), pushed.stdout)
        let again = try tmeops(["image", "push", "tme-portal-server:sandbox-2", "-e", "sandbox"])
        XCTAssertTrue(again.stdout.contains("already had tme-portal-server:sandbox-2"), "found by its config digest: \(again.stdout)")
        try deployNextRollBackAndRecover("sandbox-cd5")
    }
}

/// A classic build machine deploying to a server on the containerd image store (the environment
/// `store`, its own database beside the app); then a push from the containerd build engine to it, cut
/// off after its first piece, resumes.
final class ContainerdServerFleetSerial: SeededDeployProject, ImageStoreScenario {
    override var projectPrefix: String { "tmeops-cd-server" }
    override var environmentName: String { "store" }
    override var seedArguments: [String] { ["seed", "store"] }
    var serverSocket: String { sandbox["SANDBOX_STORE_DOCKER_SOCKET"] }

    func served() throws -> String {
        try ProcessRunner.run("/usr/bin/curl", ["-fsS", "--max-time", "5", "http://\(sandbox["SANDBOX_STORE_HOST"])/api/version"]).stdout
    }

    func testDeployToAServerOnTheContainerdStoreThenTheNextVersionRollbackAndRecover() throws {
        let store = try docker(serverSocket, ["info", "-f", "{{json .DriverStatus}}"]).stdout
        XCTAssertTrue(store.contains("io.containerd.snapshotter.v1"), "the server keeps images in containerd's store: \(store)")
        try deployNextRollBackAndRecover("sandbox-classic5")
    }

    /// Three new layers of 40 MB go in pieces from the containerd build engine; the connection is cut
    /// once the first piece is on the server, and the next push sends only what follows.
    func testAPushFromTheContainerdStoreCutOffResumes() throws {
        let tag = "tme-portal-server:cd-pieces-\(UUID().uuidString.prefix(6).lowercased())"
        let build = sandbox["SANDBOX_LOCAL_CD_DOCKER_SOCKET"]
        let context = try TemporaryDirectory.make(prefix: "tmeops-pieces")
        defer {
            try? FileManager.default.removeItem(at: context)
            _ = try? docker(build, ["rmi", "-f", tag])
        }
        try Data(
            ("FROM \(sandbox["SANDBOX_APP_IMAGE"])\nUSER root\n" + (1...3).map { "RUN head -c \(40 << 20) /dev/urandom > /layer-\($0).bin\n" }.joined())
                .utf8
        ).write(to: context.appendingPathComponent("Dockerfile"))
        XCTAssertEqual(try docker(build, ["build", "-q", "-t", tag, context.path]).status, 0)
        let local = try DockerEngine.local(environment: ["DOCKER_HOST": "unix://\(build)"])
        let server = try DockerEngine.local(environment: ["DOCKER_HOST": "unix://\(serverSocket)"])
        let partials = { try server.images(filters: ["label": [PushPieces.label]]).map(\.id) }
        defer { for id in (try? partials()) ?? [] { _ = try? server.removeImage(id, force: true) } }
        var options = sandbox.sshOptions()
        options.host = sandbox["SANDBOX_STORE_HOST"]
        func push() throws -> (ImagePush, SSHSession) {
            let session = try SSHSession(options)
            let push = ImagePush(
                local: local, remote: DockerEngine.remote(session: session, socket: sandbox["SANDBOX_FLEET_DOCKER_SOCKET"]), logger: .init(label: "test"))
            return (push, session)
        }
        var (first, session) = try push()
        var (cut, lastLook) = (false, Date.distantPast)
        first.progress = { _, _ in
            guard !cut, Date().timeIntervalSince(lastLook) > 0.02 else { return }
            lastLook = Date()
            if let found = try? partials(), !found.isEmpty {
                cut = true
                _ = try? Sandbox.cutSSHConnections()
            }
        }
        XCTAssertThrowsError(try first.push(tag))
        session.close()
        XCTAssertTrue(cut, "the push was cut off after its first piece")
        XCTAssertNil(try server.image(tag), "nothing tagged")
        XCTAssertEqual(try partials().count, 1, "the first piece stays on the server")

        let (second, again) = try push()
        defer { again.close() }
        let report = try second.push(tag)
        XCTAssertGreaterThan(report.resumedLayers, 0, "the layers of the first piece were not sent again: \(report)")
        XCTAssertLessThan(report.bytesSent, UInt64(Double(80 << 20) * 1.1), "at most the two layers after the cut travel: \(report)")
        XCTAssertEqual(try server.image(tag)?.id, report.remoteImageID)
        XCTAssertEqual(try server.image(tag)?.rootFS.layers, try local.image(tag)?.rootFS.layers)
        XCTAssertEqual(try partials(), [], "the partial image is removed once the image is there")
    }

    /// A multi-platform image on the containerd build engine (an index of linux/amd64 and
    /// linux/arm64/v8 manifests over version 2's layers): the server gets build.platform's manifest, and
    /// a platform the image lacks is refused naming those it has, before anything is sent.
    func testAMultiPlatformImageIsDeliveredForBuildPlatform() throws {
        let build = sandbox["SANDBOX_LOCAL_CD_DOCKER_SOCKET"]
        let tag = "tme-portal-server:multi-\(UUID().uuidString.prefix(6).lowercased())"
        let folder = try TemporaryDirectory.make(prefix: "tmeops-multi")
        defer {
            try? FileManager.default.removeItem(at: folder)
            _ = try? docker(build, ["rmi", "-f", tag])
            _ = try? docker(serverSocket, ["rmi", "-f", tag])
        }
        // Version 2's own OCI layout, from the build engine.
        let exported = folder.appendingPathComponent("export")
        try FileManager.default.createDirectory(at: exported, withIntermediateDirectories: true)
        let saved = try ProcessRunner.run(
            "/bin/sh", ["-c", #"docker -H "unix://$1" save tme-portal-server:sandbox-2 | tar -x -C "$2""#, "sh", build, exported.path])
        XCTAssertEqual(saved.status, 0, saved.stderr)
        func blob(_ digest: String) -> URL { exported.appendingPathComponent("blobs/sha256/" + digest.dropFirst(7)) }
        func write(_ data: Data) throws -> String {
            let digest = ImageLayout.digest(data)
            try data.write(to: blob(digest))
            return digest
        }
        let index = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: exported.appendingPathComponent("index.json"))) as? [String: Any])
        let amd = try XCTUnwrap((index["manifests"] as? [[String: Any]])?.first)
        let amdDigest = try XCTUnwrap(amd["digest"] as? String)
        var manifest = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: blob(amdDigest))) as? [String: Any])
        var config = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: blob(try XCTUnwrap((manifest["config"] as? [String: Any])?["digest"] as? String))))
                as? [String: Any])
        (config["architecture"], config["variant"]) = ("arm64", "v8")
        let armConfig = try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys])
        var configDescriptor = try XCTUnwrap(manifest["config"] as? [String: Any])
        (configDescriptor["digest"], configDescriptor["size"]) = (try write(armConfig), armConfig.count)
        manifest["config"] = configDescriptor
        let armManifest = try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys])
        let armDigest = try write(armManifest)
        let list = try JSONSerialization.data(
            withJSONObject: [
                "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": [
                    [
                        "mediaType": amd["mediaType"] ?? "", "digest": amdDigest, "size": amd["size"] ?? 0,
                        "platform": ["os": "linux", "architecture": "amd64"],
                    ],
                    [
                        "mediaType": amd["mediaType"] ?? "", "digest": armDigest, "size": armManifest.count,
                        "platform": ["os": "linux", "architecture": "arm64", "variant": "v8"],
                    ],
                ],
            ], options: [.sortedKeys])
        let listDigest = try write(list)
        let (repository, version) = (tag.split(separator: ":")[0], tag.split(separator: ":")[1])
        let top = try JSONSerialization.data(withJSONObject: [
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                [
                    "mediaType": "application/vnd.oci.image.index.v1+json", "digest": listDigest, "size": list.count,
                    "annotations": [
                        "io.containerd.image.name": "docker.io/library/\(repository):\(version)", "org.opencontainers.image.ref.name": String(version),
                    ],
                ]
            ],
        ])
        try top.write(to: exported.appendingPathComponent("index.json"))
        try FileManager.default.removeItem(at: exported.appendingPathComponent("manifest.json"))
        let loaded = try ProcessRunner.run(
            "/bin/sh", ["-c", #"tar -C "$2" -c . | docker -H "unix://$1" load"#, "sh", build, exported.path])
        XCTAssertEqual(loaded.status, 0, loaded.stdout + loaded.stderr)
        XCTAssertEqual(try docker(build, ["image", "inspect", "-f", "{{.Id}}", tag]).stdout.trimmingCharacters(in: .whitespacesAndNewlines), listDigest)

        let cd = ["DOCKER_HOST": "unix://\(build)"]
        try editConfig { $0.replacingOccurrences(of: "platform: linux/amd64", with: "platform: linux/s390x") }
        let refused = try tmeops(["image", "push", tag, "-e", "store"], environment: cd)
        XCTAssertEqual(refused.status, 1, refused.stdout + refused.stderr)
        XCTAssertTrue(refused.stderr.contains("has no image for linux/s390x; its platforms: linux/amd64, linux/arm64/v8"), refused.stderr)
        XCTAssertEqual(try docker(serverSocket, ["image", "inspect", tag]).status, 1, "nothing was sent")

        try editConfig { $0.replacingOccurrences(of: "platform: linux/s390x", with: "platform: linux/amd64") }
        let pushed = try tmeops(["image", "push", tag, "-e", "store", "--json"], environment: cd)
        XCTAssertEqual(pushed.status, 0, pushed.stdout + pushed.stderr)
        XCTAssertEqual(
            try docker(serverSocket, ["image", "inspect", "-f", "{{.Id}} {{.Architecture}}", tag]).stdout.trimmingCharacters(in: .whitespacesAndNewlines),
            "\(amdDigest) amd64", "the server has the linux/amd64 manifest, under its own digest")
    }
}

import Foundation
import TMEOpsCore
import TMEOpsCrypto
import XCTest

@testable import ImagePlugin
@testable import TMEOpsDocker

/// One image read from either store's export, and what each store names it (no sandbox).
final class ImageLayoutTests: XCTestCase {
    /// An export in memory: path → bytes.
    func files(_ contents: [String: Data]) -> ImageLayout.Files {
        ImageLayout.Files(
            data: { contents[$0] }, size: { contents[$0].map { UInt64($0.count) } },
            digest: { contents[$0].map { ImageLayout.digest($0) } })
    }

    func json(_ object: Any) -> Data { try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) }

    let layerA = Data("layer a: a plain tar".utf8)
    let layerB = Data("layer b: a plain tar".utf8)
    /// Layer B as a containerd engine keeps it: compressed, so its blob's digest is not its diff ID.
    let layerBGzip = Data("layer b, gzipped".utf8)

    var config: Data {
        json([
            "architecture": "amd64", "os": "linux",
            "rootfs": ["type": "layers", "diff_ids": [ImageLayout.digest(layerA), ImageLayout.digest(layerB)]],
        ])
    }

    func blob(_ data: Data) -> String { "blobs/sha256/" + ImageLayout.digest(data).dropFirst(7) }

    func testAClassicExportIsNamedByItsConfigOnAClassicEngineAndByAWrittenManifestOnAContainerdOne() throws {
        let configPath = String(ImageLayout.digest(config).dropFirst(7)) + ".json"
        let export = files([
            "manifest.json": json([["Config": configPath, "RepoTags": ["app:2"], "Layers": ["aaa/layer.tar", "bbb/layer.tar"]]]),
            configPath: config, "aaa/layer.tar": layerA, "bbb/layer.tar": layerB,
        ])
        let layout = try ImageLayout.read(export, reference: "app:2", platform: nil)
        XCTAssertEqual(layout.configDigest, ImageLayout.digest(config))
        XCTAssertEqual(layout.diffIDs, [ImageLayout.digest(layerA), ImageLayout.digest(layerB)])
        XCTAssertFalse(layout.layers.contains { $0.compressed })
        XCTAssertEqual(layout.platform, "linux/amd64")
        XCTAssertEqual(layout.expectedID(on: .classic), layout.configDigest)
        // The manifest written for a containerd engine: always the same bytes for the same image.
        let manifest = String(decoding: layout.targetManifest, as: UTF8.self)
        XCTAssertEqual(
            manifest,
            "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"digest\":\"\(layout.configDigest)\",\"size\":\(config.count)},\"layers\":[{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar\",\"digest\":\"\(ImageLayout.digest(layerA))\",\"size\":\(layerA.count)},{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar\",\"digest\":\"\(ImageLayout.digest(layerB))\",\"size\":\(layerB.count)}]}"
        )
        XCTAssertEqual(layout.expectedID(on: .containerd), ImageLayout.digest(layout.targetManifest))
        XCTAssertEqual(try ImageLayout.read(export, reference: "app:2", platform: nil), layout, "read twice, the same")
    }

    /// A containerd export: an OCI layout whose second layer is compressed. Its own manifest names it on
    /// a containerd engine (the same ID as the local one), its config on a classic engine.
    func testAContainerdExportKeepsItsOwnManifestAndItsCompressedLayer() throws {
        let manifest = json([
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": ["mediaType": "application/vnd.oci.image.config.v1+json", "digest": ImageLayout.digest(config), "size": config.count],
            "layers": [
                ["mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ImageLayout.digest(layerA), "size": layerA.count],
                ["mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": ImageLayout.digest(layerBGzip), "size": layerBGzip.count],
            ],
        ])
        let index = json([
            "schemaVersion": 2,
            "manifests": [
                [
                    "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": ImageLayout.digest(manifest), "size": manifest.count,
                    "annotations": ["io.containerd.image.name": "docker.io/library/app:2"],
                ]
            ],
        ])
        let export = files([
            "index.json": index, blob(manifest): manifest, blob(config): config, blob(layerA): layerA, blob(layerBGzip): layerBGzip,
            "manifest.json": json([["Config": blob(config), "RepoTags": ["app:2"], "Layers": [blob(layerA), blob(layerBGzip)]]]),
        ])
        let layout = try ImageLayout.read(export, reference: "app:2", platform: "linux/amd64")
        XCTAssertEqual(layout.layers.map(\.compressed), [false, true])
        XCTAssertEqual(layout.layers[1].digest, ImageLayout.digest(layerBGzip))
        XCTAssertEqual(layout.layers[1].diffID, ImageLayout.digest(layerB), "the diff ID is the config's, not the blob's digest")
        XCTAssertEqual(layout.expectedID(on: .containerd), ImageLayout.digest(manifest))
        XCTAssertEqual(layout.expectedID(on: .classic), ImageLayout.digest(config))
        XCTAssertEqual(layout.targetManifestMediaType, "application/vnd.oci.image.manifest.v1+json")
    }

    /// A multi-platform index resolves to the manifest of the platform asked for; a platform it lacks is
    /// an error naming the platforms it has; buildx's attestations are not platforms.
    func testAMultiPlatformIndexResolvesToOnePlatform() throws {
        let armConfig = json(["architecture": "arm64", "os": "linux", "variant": "v8", "rootfs": ["type": "layers", "diff_ids": [ImageLayout.digest(layerA)]]])
        func manifest(_ config: Data, _ layers: [Data]) -> Data {
            json([
                "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": ["mediaType": "application/vnd.oci.image.config.v1+json", "digest": ImageLayout.digest(config), "size": config.count],
                "layers": layers.map { ["mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ImageLayout.digest($0), "size": $0.count] },
            ])
        }
        let amd = manifest(config, [layerA, layerB])
        let arm = manifest(armConfig, [layerA])
        let attestation = Data("{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:00\"},\"layers\":[]}".utf8)
        func entry(_ data: Data, _ os: String, _ arch: String, _ variant: String? = nil) -> [String: Any] {
            var platform: [String: Any] = ["os": os, "architecture": arch]
            if let variant { platform["variant"] = variant }
            return ["mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": ImageLayout.digest(data), "size": data.count, "platform": platform]
        }
        let list = json([
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [entry(amd, "linux", "amd64"), entry(arm, "linux", "arm64", "v8"), entry(attestation, "unknown", "unknown")],
        ])
        let index = json([
            "schemaVersion": 2,
            "manifests": [["mediaType": "application/vnd.oci.image.index.v1+json", "digest": ImageLayout.digest(list), "size": list.count]],
        ])
        var contents: [String: Data] = [
            "index.json": index, blob(list): list, blob(amd): amd, blob(arm): arm, blob(config): config, blob(armConfig): armConfig, blob(layerA): layerA,
            blob(layerB): layerB,
        ]
        XCTAssertEqual(try ImageLayout.read(files(contents), reference: "app:2", platform: "linux/amd64").manifestDigest, ImageLayout.digest(amd))
        let armLayout = try ImageLayout.read(files(contents), reference: "app:2", platform: "linux/arm64")
        XCTAssertEqual(armLayout.manifestDigest, ImageLayout.digest(arm))
        XCTAssertEqual(armLayout.platform, "linux/arm64/v8")
        XCTAssertThrowsError(try ImageLayout.read(files(contents), reference: "app:2", platform: "linux/s390x")) { error in
            XCTAssertEqual("\(error)", "app:2 has no image for linux/s390x; its platforms: linux/amd64, linux/arm64/v8")
        }
        XCTAssertThrowsError(try ImageLayout.read(files(contents), reference: "app:2", platform: nil)) { error in
            XCTAssertTrue("\(error)".contains("is a multi-platform image (linux/amd64, linux/arm64/v8): set build.platform"), "\(error)")
        }
        // An engine that pulled one platform holds only that one's content.
        contents[blob(arm)] = nil
        XCTAssertThrowsError(try ImageLayout.read(files(contents), reference: "app:2", platform: "linux/arm64")) { error in
            XCTAssertEqual("\(error)", "app:2 lists linux/arm64, but this engine holds only the content of linux/amd64")
        }
    }

    func testNamesAsContainerdWritesThem() {
        XCTAssertEqual(ImageLayout.fullName("tme-portal-server"), "docker.io/library/tme-portal-server")
        XCTAssertEqual(ImageLayout.fullName("team/app"), "docker.io/team/app")
        XCTAssertEqual(ImageLayout.fullName("registry.example:5000/app"), "registry.example:5000/app")
        XCTAssertEqual(ImageLayout.fullName("localhost/app"), "localhost/app")
        let index = ImageLayout.index(manifest: Data("{}".utf8), mediaType: ImageLayout.dockerManifest, reference: "tme-portal-server:r-1")
        let object = try? JSONSerialization.jsonObject(with: index) as? [String: Any]
        let annotations = ((object?["manifests"] as? [[String: Any]])?.first?["annotations"] as? [String: String]) ?? [:]
        XCTAssertEqual(annotations["io.containerd.image.name"], "docker.io/library/tme-portal-server:r-1")
        XCTAssertEqual(annotations["org.opencontainers.image.ref.name"], "r-1")
    }

    /// Which store an engine keeps its images in, from `GET /info`'s DriverStatus.
    func testTheImageStoreIsReadFromTheDriverStatus() {
        let containerd = JSONValue.array([.array([.string("driver-type"), .string("io.containerd.snapshotter.v1")])])
        let overlay = JSONValue.array([.array([.string("Backing Filesystem"), .string("extfs")]), .array([.string("Supports d_type"), .string("true")])])
        XCTAssertEqual(DockerEngine.imageStore(driverStatus: containerd), .containerd)
        XCTAssertEqual(DockerEngine.imageStore(driverStatus: overlay), .classic)
        XCTAssertEqual(DockerEngine.imageStore(driverStatus: nil), .classic)
    }

    /// Docker 25 (API 1.44) and later export an OCI layout even from the classic store.
    func testWhichEnginesExportAnOCILayout() {
        XCTAssertFalse(ImagePush.exportsOCILayout(apiVersion: "1.41"))
        XCTAssertFalse(ImagePush.exportsOCILayout(apiVersion: "1.43"))
        XCTAssertTrue(ImagePush.exportsOCILayout(apiVersion: "1.44"))
        XCTAssertTrue(ImagePush.exportsOCILayout(apiVersion: "1.45"))
        XCTAssertTrue(ImagePush.exportsOCILayout(apiVersion: "2.0"))
        XCTAssertFalse(ImagePush.exportsOCILayout(apiVersion: "?"))
    }
}

import Foundation
import TMEOpsArchive
import TMEOpsDocker
import TMEOpsTestSupport
import XCTest

/// Reading what the sandbox's real engine exports.
final class DockerArchiveSandboxTests: XCTestCase {
    func testReadsAnExportedImageWithItsLayers() throws {
        let sandbox = try Sandbox.require()
        let engine = try DockerEngine.local(environment: ["DOCKER_HOST": "unix://\(sandbox["SANDBOX_DOCKER_SOCKET"])"])
        let scratch = try TemporaryDirectory.make(prefix: "tmeops-export")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let file = scratch.appendingPathComponent("app.tar")
        XCTAssertTrue(FileManager.default.createFile(atPath: file.path, contents: nil))
        let handle = try FileHandle(forWritingTo: file)
        try engine.exportImage(sandbox["SANDBOX_APP_IMAGE"]) { handle.write($0) }
        try handle.close()

        let archive = try DockerArchive.read(TarReader(path: file.path), listLayers: true)
        let image = try XCTUnwrap(archive.manifest.first)
        XCTAssertEqual(image.repoTags, [sandbox["SANDBOX_APP_IMAGE"]])
        XCTAssertEqual(image.layers.count, try engine.image(sandbox["SANDBOX_APP_IMAGE"])?.rootFS.layers?.count)
        let files = archive.fileSystem(of: image)
        XCTAssertTrue(files.contains("bin/busybox"))
        XCTAssertTrue(files.contains("app/server.py"))
        // Its base is built from Debian packages as ordinary bases are: absolute links, a chain through
        // Debian's alternatives, hard links, and a later layer that deletes folders of the one below.
        XCTAssertEqual(files.resolve("/bin/python3"), "usr/bin/python3.11")
        XCTAssertEqual(files.resolve("usr/bin/python"), "usr/bin/python3.11")
        XCTAssertEqual(files.resolve("etc/localtime"), "usr/share/zoneinfo/Etc/UTC")
        XCTAssertEqual(files.resolve("usr/lib/python3.11/sitecustomize.py"), "etc/python3.11/sitecustomize.py")
        XCTAssertEqual(files.nodes["usr/bin/env"]?.kind, .file, "a hard link of busybox counts as the file")
        XCTAssertFalse(files.contains("usr/lib/python3.11/test"))
        XCTAssertTrue(files.hidden.contains { $0.path == "usr/lib/python3.11/test" })
        XCTAssertTrue(files.contains("usr/lib/python3/dist-packages/psycopg2/__init__.py"))

        // Cut in half, the same archive is refused before anything could use it.
        let data = try Data(contentsOf: file)
        try data.prefix(data.count / 2).write(to: file)
        XCTAssertThrowsError(try DockerArchive.read(TarReader(path: file.path), listLayers: true))
    }
}

/// An OCI image layout (index.json, blobs/sha256/..., a gzip-compressed layer), made from a real export.
final class OCILayoutSandboxTests: XCTestCase {
    func testReadsAnOCILayoutWithACompressedLayer() throws {
        let sandbox = try Sandbox.require()
        let engine = try DockerEngine.local(environment: ["DOCKER_HOST": "unix://\(sandbox["SANDBOX_DOCKER_SOCKET"])"])
        let scratch = try TemporaryDirectory.make(prefix: "tmeops-oci")
        defer { try? FileManager.default.removeItem(at: scratch) }
        var export = Data()
        try engine.exportImage(sandbox["SANDBOX_APP_IMAGE"]) { export.append($0) }
        let exportFile = scratch.appendingPathComponent("export.tar")
        try export.write(to: exportFile)

        // Pull the config and layer tars out of the docker-archive.
        let docker = try DockerArchive.read(TarReader(path: exportFile.path), listLayers: false)
        let image = try XCTUnwrap(docker.manifest.first)
        var layerData: [String: Data] = [:]
        let reader = try TarReader(path: exportFile.path)
        while let entry = try reader.next() {
            if image.layers.contains(entry.path) { layerData[entry.path] = try reader.readAll(limit: 512 << 20) } else { try reader.skipData() }
        }
        func digest(_ data: Data) -> String { "sha256:" + SHA256Hex.of(data) }

        var blobs: [(String, Data)] = []
        var layerDescriptors: [[String: Any]] = []
        for path in image.layers {
            // The layer as OCI usually stores it: gzip-compressed.
            let gz = scratch.appendingPathComponent("layer.gz").path
            let fd = open(gz, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            let writer = try CompressedStreamWriter(fd: fd, destination: gz, compression: .gzip)
            try writer.write(try XCTUnwrap(layerData[path]))
            try writer.close()
            close(fd)
            let compressed = try Data(contentsOf: URL(fileURLWithPath: gz))
            blobs.append((digest(compressed), compressed))
            layerDescriptors.append(["mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest(compressed), "size": compressed.count])
        }
        let config = try XCTUnwrap(docker.configs[image.config])
        blobs.append((digest(config), config))
        let manifest = try JSONSerialization.data(withJSONObject: [
            "schemaVersion": 2, "config": ["mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(config), "size": config.count],
            "layers": layerDescriptors,
        ])
        blobs.append((digest(manifest), manifest))
        let index = try JSONSerialization.data(withJSONObject: [
            "schemaVersion": 2,
            "manifests": [
                [
                    "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest(manifest), "size": manifest.count,
                    "annotations": ["org.opencontainers.image.ref.name": "tme-portal-server:oci"],
                ]
            ],
        ])
        let layout = scratch.appendingPathComponent("oci.tar").path
        let fd = open(layout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let writer = try TarWriter(fd: fd, destination: layout)
        try writer.addData("oci-layout", Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8))
        try writer.addDirectory("blobs")
        try writer.addDirectory("blobs/sha256")
        for (name, data) in blobs { try writer.addData("blobs/sha256/" + name.dropFirst(7), data) }
        try writer.addData("index.json", index)  // last, as some tools write it
        try writer.close()
        close(fd)

        let oci = try DockerArchive.read(TarReader(path: layout), listLayers: true)
        let entry = try XCTUnwrap(oci.manifest.first)
        XCTAssertEqual(entry.repoTags, ["tme-portal-server:oci"])
        XCTAssertEqual(entry.layers.count, image.layers.count)
        XCTAssertNotNil(oci.configs[entry.config])
        XCTAssertTrue(oci.fileSystem(of: entry).contains("bin/busybox"))
    }
}

enum SHA256Hex {
    static func of(_ data: Data) -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tmeops-hash-\(UUID().uuidString)")
        try? data.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let output = (try? ProcessRunner.run("/usr/bin/sha256sum", [file.path]).stdout) ?? ""
        return String(output.prefix(64))
    }
}

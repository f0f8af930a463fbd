import Foundation
import TMEOpsArchive
import TMEOpsDocker
import TMEOpsTestSupport
import XCTest

/// Reading what the sandbox's real engine exports.
final class DockerArchiveTests: XCTestCase {
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
        XCTAssertTrue(files.contains("app/server.sh"))

        // Cut in half, the same archive is refused before anything could use it.
        let data = try Data(contentsOf: file)
        try data.prefix(data.count / 2).write(to: file)
        XCTAssertThrowsError(try DockerArchive.read(TarReader(path: file.path), listLayers: true))
    }
}

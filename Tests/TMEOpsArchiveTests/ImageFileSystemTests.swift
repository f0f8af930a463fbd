import Foundation
import TMEOpsArchive
import TMEOpsTestSupport
import XCTest

/// An image's file system as its container sees it, from hand-made layers.
final class ImageFileSystemTests: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws { scratch = try TemporaryDirectory.make(prefix: "tmeops-imagefs") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    func fileSystem(_ layers: [(TarWriter) throws -> Void]) throws -> ImageFileSystem {
        let path = scratch.appendingPathComponent("image.tar").path
        try ImageArchiveFixture.write(to: path, layers: layers)
        let archive = try DockerArchive.read(TarReader(path: path), listLayers: true)
        return archive.fileSystem(of: try XCTUnwrap(archive.manifest.first))
    }

    func testAbsoluteAndRelativeLinksResolveInsideTheImage() throws {
        let files = try fileSystem([
            { writer in
                try writer.addData("usr/bin/python3.11", Data("elf".utf8), mode: 0o755)
                try writer.addSymlink("usr/bin/python3", target: "python3.11")
                try writer.addSymlink("bin", target: "usr/bin")  // merged /usr, as Debian 12 has it
                try writer.addData("usr/share/zoneinfo/Etc/UTC", Data("TZif".utf8))
                try writer.addSymlink("etc/localtime", target: "/usr/share/zoneinfo/Etc/UTC")
                try writer.addSymlink("etc/alternatives/python", target: "/bin/python3")  // a chain: /bin -> usr/bin -> python3.11
                try writer.addSymlink("opt/app", target: "/srv/app")  // a link to a folder
                try writer.addData("srv/app/.next/standalone/server.js", Data())
                try writer.addSymlink("usr/lib/deep", target: "../../../../../usr/share")  // climbs past / and stops there
                try writer.addSymlink("dangling", target: "/nowhere")
                try writer.addSymlink("loop-a", target: "loop-b")
                try writer.addSymlink("loop-b", target: "/loop-a")
            }
        ])
        XCTAssertEqual(files.resolve("/bin/python3"), "usr/bin/python3.11")
        XCTAssertEqual(files.resolve("etc/alternatives/python"), "usr/bin/python3.11")
        XCTAssertEqual(files.resolve("/etc/localtime"), "usr/share/zoneinfo/Etc/UTC")
        XCTAssertEqual(files.resolve("opt/app/.next/standalone"), "srv/app/.next/standalone")
        XCTAssertEqual(files.resolve("usr/lib/deep/zoneinfo/Etc/UTC"), "usr/share/zoneinfo/Etc/UTC")
        XCTAssertTrue(files.contains("srv/app"), "a folder only implied by the files below it")
        XCTAssertNil(files.resolve("dangling"))
        XCTAssertNil(files.resolve("loop-a/x"))
        XCTAssertNil(files.resolve("bin/node"))
    }

    func testWhiteoutsOpaqueFoldersAndHardLinks() throws {
        let files = try fileSystem([
            { writer in
                try writer.addData("app/.next/server/turbopack-runtime.js", Data("x".utf8))
                try writer.addData("app/cache/a", Data())
                try writer.addData("usr/bin/perl5.36.0", Data("elf".utf8))
                try writer.addHardlink("usr/bin/perl", target: "usr/bin/perl5.36.0")
            },
            { writer in
                try writer.addData("app/.next/server/.wh.turbopack-runtime.js", Data())
                try writer.addData("app/cache/.wh..wh..opq", Data())
                try writer.addData("app/cache/b", Data())
            },
        ])
        XCTAssertFalse(files.contains("app/.next/server/turbopack-runtime.js"))
        XCTAssertTrue(files.contains("app/.next/server"))
        XCTAssertFalse(files.contains("app/cache/a"))
        XCTAssertTrue(files.contains("app/cache/b"))
        XCTAssertEqual(files.nodes["usr/bin/perl"]?.kind, .file, "a hard link is the file it names")
        XCTAssertEqual(
            files.hidden.map { "\($0.path) \($0.layer)->\($0.hiddenBy)" }.sorted(), ["app/.next/server/turbopack-runtime.js 0->1", "app/cache/a 0->1"])
        XCTAssertEqual(files.nodes["app/cache/b"]?.layer, 1)
    }
}

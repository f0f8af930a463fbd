import Foundation
import TMEOpsArchive
import TMEOpsTestSupport
import XCTest

final class TarTests: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws { scratch = try TemporaryDirectory.make(prefix: "tmeops-tar") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    /// Writes a tar with `body` to a file and returns its path.
    func tar(_ name: String, compression: ArchiveCompression = .none, _ body: (TarWriter) throws -> Void) throws -> String {
        let path = scratch.appendingPathComponent(name).path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let writer = try TarWriter(fd: fd, destination: path, compression: compression)
        try body(writer)
        try writer.close()
        close(fd)
        return path
    }

    func entries(_ path: String) throws -> [TarEntry] {
        let reader = try TarReader(path: path)
        var all: [TarEntry] = []
        while let entry = try reader.next() {
            all.append(entry)
            try reader.skipData()
        }
        return all
    }

    func testRoundTripInEveryCompression() throws {
        for compression in ArchiveCompression.allCases {
            let path = try tar("a-\(compression).tar", compression: compression) { writer in
                try writer.addDirectory("app")
                try writer.addData("app/server.js", Data("console.log(1)".utf8), mode: 0o755)
                try writer.addSymlink("app/current", target: "server.js")
            }
            let reader = try TarReader(path: path)
            XCTAssertEqual(try reader.next(), TarEntry(path: "app", kind: .directory, size: 0, mode: 0o755, linkTarget: nil))
            XCTAssertEqual(try reader.next()?.path, "app/server.js")
            XCTAssertEqual(String(decoding: try reader.readAll(), as: UTF8.self), "console.log(1)")
            XCTAssertEqual(try reader.next(), TarEntry(path: "app/current", kind: .symlink, size: 0, mode: 0o777, linkTarget: "server.js"))
            XCTAssertNil(try reader.next())
        }
    }

    func testOutputIsDeterministic() throws {
        let first = try tar("one.tar") { try $0.addData("x", Data("same".utf8)) }
        sleep(1)
        let second = try tar("two.tar") { try $0.addData("x", Data("same".utf8)) }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: first)), try Data(contentsOf: URL(fileURLWithPath: second)))
        let listing = try ProcessRunner.run("/bin/tar", ["--numeric-owner", "-tvf", first]).stdout
        XCTAssertTrue(listing.hasPrefix("-rw-r--r-- 0/0"), listing)
    }

    func testUnsafeEntriesAreRefused() throws {
        let cases: [(String, (TarWriter) throws -> Void, String)] = [
            ("dotdot.tar", { try $0.addData("../../etc/passwd", Data("root::0:0".utf8)) }, "archive entry '../../etc/passwd' climbs out with '..'"),
            ("absolute.tar", { try $0.addData("/etc/passwd", Data()) }, "archive entry '/etc/passwd' has an absolute path"),
            ("symlink.tar", { try $0.addSymlink("app/evil", target: "../../etc") }, "archive entry 'app/evil' links to '../../etc', outside the archive"),
            ("abslink.tar", { try $0.addSymlink("evil", target: "/etc/shadow") }, "archive entry 'evil' links to the absolute path '/etc/shadow'"),
        ]
        for (name, body, message) in cases {
            let path = try tar(name, body)
            XCTAssertThrowsError(try entries(path), name) { error in
                XCTAssertEqual((error as? ArchiveError)?.kind, .unsafeEntry, "\(error)")
                XCTAssertTrue("\(error)".hasPrefix(message), "\(error)")
            }
        }
        // Links that stay inside are fine.
        XCTAssertEqual(try entries(try tar("ok.tar") { try $0.addSymlink("a/b/link", target: "../c") }).count, 1)
    }

    func testLinksThatEscapeThroughEarlierLinksAreRefusedForExtraction() throws {
        let cases: [(String, (TarWriter) throws -> Void, String)] = [
            // Each link alone stays inside; followed one after the other, the second leaves.
            (
                "chain.tar",
                {
                    try $0.addSymlink("a/b/c", target: "../..")
                    try $0.addSymlink("a/b/c/d", target: "../x")
                },
                "archive entry 'a/b/c/d' links to '../x', outside the archive"
            ),
            (
                "self.tar",
                {
                    try $0.addSymlink("up", target: ".")
                    try $0.addSymlink("up/evil", target: "..")
                }, "archive entry 'up/evil' links to '..', outside the archive"
            ),
            ("hard.tar", { try $0.addHardlink("a/copy", target: "../etc/shadow") }, "archive entry 'a/copy' links to '../etc/shadow', outside the archive"),
            (
                "loop.tar",
                {
                    try $0.addSymlink("x", target: "y")
                    try $0.addSymlink("y", target: "x")
                    try $0.addData("x/file", Data())
                }, "archive entry 'x/file' passes through a loop"
            ),
        ]
        for (name, body, message) in cases {
            let path = try tar(name, body)
            XCTAssertThrowsError(try entries(path), name) { error in
                XCTAssertEqual((error as? ArchiveError)?.kind, .unsafeEntry, "\(name): \(error)")
                XCTAssertTrue("\(error)".hasPrefix(message), "\(name): \(error)")
            }
        }
        // Links between folders that stay inside are fine, and so is a hard link to a file of the archive.
        let fine = try tar("fine.tar") { writer in
            try writer.addData("usr/bin/python3.11", Data("elf".utf8))
            try writer.addSymlink("usr/bin/python3", target: "python3.11")
            try writer.addSymlink("lib", target: "usr/lib")
            try writer.addSymlink("lib/x", target: "../bin/python3")
            try writer.addHardlink("usr/bin/python3-again", target: "usr/bin/python3.11")
        }
        XCTAssertEqual(try entries(fine).map(\.kind), [.file, .symlink, .symlink, .symlink, .hardlink])
    }

    func testInspectionAcceptsTheLinksOfOrdinaryImages() throws {
        let path = try tar("layer.tar") { writer in
            try writer.addSymlink("bin/python3", target: "/usr/bin/python3")
            try writer.addSymlink("etc/localtime", target: "/usr/share/zoneinfo/Etc/UTC")
            try writer.addSymlink("etc/alternatives/pager", target: "/bin/more")
            try writer.addSymlink("usr/lib/deep", target: "../../../../../usr")  // `/..` is `/` in a container
        }
        let reader = try TarReader(path: path, purpose: .inspect)
        var targets: [String] = []
        while let entry = try reader.next() { targets.append(entry.linkTarget ?? "") }
        XCTAssertEqual(targets, ["/usr/bin/python3", "/usr/share/zoneinfo/Etc/UTC", "/bin/more", "../../../../../usr"])
        // The same entries are refused when they would be written to disk.
        XCTAssertThrowsError(try entries(path)) { XCTAssertEqual(($0 as? ArchiveError)?.kind, .unsafeEntry) }
        // Entry names that climb or are absolute are refused even for inspection: no engine applies them.
        for (name, body) in [("n1.tar", { (w: TarWriter) in try w.addData("../x", Data()) }), ("n2.tar", { try $0.addData("/etc/x", Data()) })] {
            let reader = try TarReader(path: try tar(name, body), purpose: .inspect)
            XCTAssertThrowsError(try reader.next()) { XCTAssertEqual(($0 as? ArchiveError)?.kind, .unsafeEntry) }
        }
    }

    func testTruncatedAndGarbageArchivesAreDetected() throws {
        let path = try tar("big.tar") { writer in
            for index in 0..<5 { try writer.addData("file\(index)", Data(repeating: UInt8(index), count: 100_000)) }
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let truncated = scratch.appendingPathComponent("truncated.tar")
        try data.prefix(data.count / 2).write(to: truncated)
        XCTAssertThrowsError(try entries(truncated.path)) { XCTAssertEqual(($0 as? ArchiveError)?.kind, .corrupt, "\($0)") }
        let garbage = scratch.appendingPathComponent("garbage.tar")
        try Data(repeating: 0x5A, count: 4096).write(to: garbage)
        XCTAssertThrowsError(try entries(garbage.path)) { XCTAssertEqual(($0 as? ArchiveError)?.kind, .corrupt, "\($0)") }
    }

    func testBuildContextHonoursDockerignore() throws {
        let context = scratch.appendingPathComponent("context")
        let files = [
            "Dockerfile": "FROM scratch\n", ".dockerignore": "node_modules\n*.log\n!keep.log\nDockerfile\n.git\n!.tmeops\n",
            "src/app.ts": "x", "src/deep/util.ts": "y", ".tmeops/secrets.env": "TMEOPS_DB_PASSWORD=never-in-a-build", "node_modules/react/index.js": "z",
            "debug.log": "l", "keep.log": "k", ".git/HEAD": "h",
        ]
        for (name, text) in files {
            let url = context.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        var summary = BuildContext.Summary()
        let path = try tar("context.tar") { summary = try BuildContext.write(directory: context, to: $0) }
        XCTAssertEqual(try entries(path).map(\.path), [".dockerignore", "Dockerfile", "keep.log", "src", "src/app.ts", "src/deep", "src/deep/util.ts"])
        XCTAssertEqual(summary.files, 5)
        XCTAssertEqual(summary.directories, 2)
    }
}

import Foundation
import TMEOpsArchive
import TMEOpsTestSupport
import XCTest

@testable import ImagePlugin

/// `image verify`'s rules on hand-made images: links as the container sees them, whiteouts, hard links.
final class ImageVerifierTests: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws { scratch = try TemporaryDirectory.make(prefix: "tmeops-verify") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    func archive(workingDir: String? = nil, _ layers: [(TarWriter) throws -> Void]) throws -> DockerArchive {
        let path = scratch.appendingPathComponent("image.tar").path
        try ImageArchiveFixture.write(to: path, workingDir: workingDir, layers: layers)
        return try DockerArchive.read(TarReader(path: path), listLayers: true)
    }

    /// A runtime base as Debian packages make it: absolute links, a link chain, a hard link.
    let base: (TarWriter) throws -> Void = { writer in
        try writer.addData("usr/bin/python3.11", Data("elf".utf8), mode: 0o755)
        try writer.addHardlink("usr/bin/python3.11-hardlink", target: "usr/bin/python3.11")
        try writer.addSymlink("usr/bin/python3", target: "python3.11")
        try writer.addSymlink("bin/python3", target: "/usr/bin/python3")
        try writer.addSymlink("etc/localtime", target: "/usr/share/zoneinfo/Etc/UTC")
        try writer.addData("usr/share/zoneinfo/Etc/UTC", Data("TZif".utf8))
        try writer.addData("srv/build/standalone/server.py", Data())
        try writer.addSymlink("app/.next", target: "/srv/build")
    }

    func testAnOrdinaryBaseImagePassesWithRequiredPathsReachedThroughLinks() throws {
        let verifier = ImageVerifier(
            forbid: ["**/*turbopack*"], require: [".next/standalone", "/app/.next/standalone", "bin/python3"], expectedNodeEnv: "production")
        let required = ImageVerifier(forbid: [], require: ["/app/.next/standalone/server.py", "/etc/localtime"], expectedNodeEnv: nil)
        let image = try archive([base])
        XCTAssertEqual(
            verifier.problems(in: image).map(\.description),
            ["required: /.next/standalone is missing from the image (build.require .next/standalone, relative to WORKDIR /)"])
        XCTAssertEqual(required.problems(in: image), [])
    }

    /// A relative build.require path is looked up where the app runs: under the image's WORKDIR.
    func testARelativeRequiredPathIsResolvedAgainstTheImagesWorkdir() throws {
        let verifier = ImageVerifier(forbid: [], require: [".next/standalone", "./.next/standalone/server.py", "/etc/localtime"], expectedNodeEnv: nil)
        XCTAssertEqual(verifier.problems(in: try archive(workingDir: "/app", [base])), [])
        XCTAssertEqual(
            ImageVerifier(forbid: [], require: ["server.js"], expectedNodeEnv: nil).problems(in: try archive(workingDir: "/app/", [base])).map(\.description),
            ["required: /app/server.js is missing from the image (build.require server.js, relative to WORKDIR /app/)"])
        // Written for the image's root: still found, with a note saying how to write it.
        let rooted = ImageVerifier(forbid: [], require: ["srv/build/standalone"], expectedNodeEnv: nil).report(on: try archive(workingDir: "/app", [base]))
        XCTAssertEqual(rooted.problems, [])
        XCTAssertEqual(
            rooted.notes.map(\.description),
            [
                "required: srv/build/standalone is at /srv/build/standalone, not under WORKDIR /app; write /srv/build/standalone in build.require (a relative path is looked up under WORKDIR)"
            ])
    }

    func testAForbiddenFileDeletedByALaterLayerPassesWithANote() throws {
        let image = try archive([
            base,
            { try $0.addData("app/src/turbopack-runtime.js", Data("dev".utf8)) },
            { try $0.addData("app/src/.wh.turbopack-runtime.js", Data()) },
        ])
        let report = ImageVerifier(forbid: ["**/*turbopack*"], require: [], expectedNodeEnv: nil).report(on: image)
        XCTAssertEqual(report.problems, [])
        XCTAssertEqual(
            report.notes.map(\.description),
            ["forbidden **/*turbopack*: /app/src/turbopack-runtime.js is deleted by layer 3 but its bytes still ship in layer 2 of 3"])
    }

    func testAForbiddenFileStillPresentFailsWithItsPathNotALinksTarget() throws {
        let image = try archive([
            base,
            { writer in
                try writer.addData("app/src/turbopack-runtime.js", Data("dev".utf8))
                try writer.addData("app/src/other.js", Data())
                try writer.addSymlink("app/runtime", target: "/opt/turbopack-tools")  // the link text alone is no match
            },
            { try $0.addData("app/src/.wh.other.js", Data()) },
        ])
        let problems = ImageVerifier(forbid: ["**/*turbopack*"], require: [], expectedNodeEnv: nil).problems(in: image)
        XCTAssertEqual(problems.map(\.description), ["forbidden **/*turbopack*: /app/src/turbopack-runtime.js (layer 2 of 3)"])
    }
}

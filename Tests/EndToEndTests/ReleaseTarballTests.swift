import Foundation
import TMEOpsTestSupport
import XCTest

/// The release tarball (`make release`), as a team installs it: unpacked into an empty folder and run
/// from a folder outside the repository, with no Swift toolchain on PATH.
final class ReleaseTarballTests: XCTestCase {
    func testTheTarballRunsFromAnEmptyFolderWithoutSwift() throws {
        let dist = TMEOpsBinary.packageRoot.appendingPathComponent("dist")
        let tarball = try XCTUnwrap(
            (try? FileManager.default.contentsOfDirectory(atPath: dist.path))?.first { $0.hasPrefix("tmeops-") && $0.hasSuffix(".tar.gz") },
            "no dist/tmeops-*.tar.gz: `make test` runs `make release` first")
        let sums = try String(contentsOf: dist.appendingPathComponent("SHA256SUMS"), encoding: .utf8)
        let digest = try ProcessRunner.run("/usr/bin/sha256sum", [dist.appendingPathComponent(tarball).path]).stdout.prefix(64)
        XCTAssertTrue(sums.hasPrefix(String(digest)), "SHA256SUMS matches the tarball")

        let install = try TemporaryDirectory.make(prefix: "tmeops-install")
        let work = try TemporaryDirectory.make(prefix: "tmeops-fresh-project")
        defer {
            try? FileManager.default.removeItem(at: install)
            try? FileManager.default.removeItem(at: work)
        }
        let unpacked = try ProcessRunner.run("/bin/tar", ["-xzf", dist.appendingPathComponent(tarball).path, "-C", install.path, "--strip-components=1"])
        XCTAssertEqual(unpacked.status, 0, unpacked.stderr)
        for file in ["bin/tmeops", "share/bash-completion/completions/tmeops", "share/zsh/site-functions/_tmeops", "share/man/man1/tmeops.1"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: install.appendingPathComponent(file).path), "\(file) is in the tarball")
        }
        let binary = install.appendingPathComponent("bin/tmeops").path
        // No toolchain, no repository: only the system's own folders on PATH.
        let environment = ["PATH": "/usr/bin:/bin", "HOME": work.path]
        func run(_ arguments: [String]) throws -> ProcessResult {
            try ProcessRunner.run(binary, arguments, environment: environment, directory: work)
        }
        let version = try run(["version", "--json"])
        XCTAssertEqual(version.status, 0, version.stderr)
        XCTAssertTrue(version.stdout.contains("\"libssh2\""), version.stdout)
        let libraries = try ProcessRunner.run("/usr/bin/ldd", [binary]).stdout
        XCTAssertFalse(libraries.contains("libswiftCore") || libraries.contains("libFoundation"), "the Swift runtime is linked in: \(libraries)")
        let initialised = try run(["init", "--app", "shop"])
        XCTAssertEqual(initialised.status, 0, initialised.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: work.appendingPathComponent("tmeops.yml").path))
        let migration = try run(["migrate", "new", "add_orders"])
        XCTAssertEqual(migration.status, 0, migration.stderr)
        let files = try FileManager.default.contentsOfDirectory(atPath: work.appendingPathComponent("database/migrations").path)
        XCTAssertTrue(files.contains { $0.hasSuffix("_add_orders.sql") }, "\(files)")
    }
}

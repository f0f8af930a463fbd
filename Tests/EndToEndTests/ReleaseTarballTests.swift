import Foundation
import TMEOpsTestSupport
import XCTest

/// The release tarball (`make release`), as a team installs it: unpacked into an empty folder and run
/// from a folder outside the repository, with no Swift toolchain on PATH.
final class ReleaseTarballSerial: XCTestCase {
    var dist: URL { TMEOpsBinary.packageRoot.appendingPathComponent("dist") }

    func tarball() throws -> String {
        try XCTUnwrap(
            (try? FileManager.default.contentsOfDirectory(atPath: dist.path))?.first { $0.hasPrefix("tmeops-") && $0.hasSuffix(".tar.gz") },
            "no dist/tmeops-*.tar.gz: `make test` runs `make release` first")
    }

    /// What the README tells a new user: unpack the release, then from a folder of their own (outside
    /// the repository, no Swift toolchain on PATH) adopt the sandbox's hand-migrated database and deploy
    /// version 2 with the installed binary.
    func testTheInstalledBinaryDeploysToTheSandboxFromAFolderOutsideTheRepository() throws {
        let sandbox = try Sandbox.require()
        let install = try TemporaryDirectory.make(prefix: "tmeops-opt")
        let project = try TemporaryDirectory.make(prefix: "tmeops-shop")
        defer {
            try? FileManager.default.removeItem(at: install)
            try? FileManager.default.removeItem(at: project)
        }
        XCTAssertFalse(project.path.hasPrefix(TMEOpsBinary.packageRoot.path), "the project folder is outside the repository")
        let unpacked = try ProcessRunner.run("/bin/tar", ["-xzf", dist.appendingPathComponent(try tarball()).path, "-C", install.path, "--strip-components=1"])
        XCTAssertEqual(unpacked.status, 0, unpacked.stderr)
        let seeded = try ProcessRunner.run("/bin/bash", [Sandbox.script, "seed"])
        XCTAssertEqual(seeded.status, 0, seeded.stderr)
        let written = try ProcessRunner.run("/bin/bash", [Sandbox.script, "config", "--write", project.path, "--migrations"])
        XCTAssertEqual(written.status, 0, written.stderr)

        let environment = [
            "PATH": "\(install.path)/bin:/usr/bin:/bin", "HOME": project.path, "DOCKER_HOST": "unix://\(sandbox["SANDBOX_LOCAL_DOCKER_SOCKET"])",
        ]
        func tmeops(_ arguments: [String]) throws -> ProcessResult {
            try ProcessRunner.run(install.appendingPathComponent("bin/tmeops").path, arguments, environment: environment, directory: project)
        }
        XCTAssertNotEqual(try ProcessRunner.run("/bin/sh", ["-c", "command -v swift"], environment: environment).status, 0, "no toolchain on PATH")
        for step in [["config", "check", "-e", "sandbox"], ["ssh", "check", "-e", "sandbox"], ["migrate", "adopt", "-e", "sandbox"]] {
            let result = try tmeops(step)
            XCTAssertEqual(result.status, 0, "\(step): \(result.stdout)\(result.stderr)")
        }
        let deployed = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-2", "--message", "from the installed binary", "--json"])
        XCTAssertEqual(deployed.status, 0, deployed.stderr)
        XCTAssertTrue(deployed.stdout.contains("\"outcome\" : \"deployed\""), deployed.stdout)
        let body = try sandbox.inNamespace(["curl", "-fsS", "--max-time", "5", "http://127.0.0.1:80/api/version"])
        XCTAssertTrue(body.stdout.contains("sandbox-2"), body.stdout)
        let validated = try tmeops(["validate", "-e", "sandbox"])
        XCTAssertEqual(validated.status, 0, validated.stdout + validated.stderr)
    }

    func testTheTarballRunsFromAnEmptyFolderWithoutSwift() throws {
        let tarball = try tarball()
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

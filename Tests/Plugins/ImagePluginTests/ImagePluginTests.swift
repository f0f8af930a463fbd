import ArgumentParser
import Foundation
import TMEOpsArchive
import TMEOpsCore
import TMEOpsDocker
import TMEOpsTestSupport
import XCTest

@testable import ImagePlugin
@testable import tmeops

/// The image commands against the sandbox's Docker engine, used as the local engine (DOCKER_HOST).
final class ImageBuildSerial: XCTestCase {
    var sandbox: Sandbox!
    var harness: TestHarness!
    var tags: [String] = []

    override func setUpWithError() throws {
        sandbox = try Sandbox.require()
        harness = try TestHarness(environment: ["HOME": NSHomeDirectory(), "DOCKER_HOST": "unix://\(sandbox["SANDBOX_DOCKER_SOCKET"])"])
        try registerPlugins(into: harness.registry)
        try harness.writeSandboxConfig()
    }

    override func tearDownWithError() throws {
        for tag in tags { _ = try? sandbox.docker(["rmi", "-f", tag]) }
    }

    func engine() throws -> DockerEngine { try DockerEngine.local(environment: harness.environment) }

    /// Writes a Dockerfile (and files) into the project and builds it as `tag`.
    func build(_ dockerfile: String, files: [String: String] = [:], tag: String) async throws {
        try harness.write("Dockerfile", dockerfile)
        for (name, text) in files { try harness.write(name, text) }
        tags.append(tag)
        try await harness.run(ImageBuildCommand.parse(["--tag", tag]))
    }

    func uniqueTag(_ name: String) -> String { "tmeops-test-\(name):\(UUID().uuidString.prefix(6).lowercased())" }

    func testBuildHonoursDockerignoreAndNeverSendsTheSecrets() async throws {
        let tag = uniqueTag("build")
        try await build(
            "FROM \(sandbox["SANDBOX_APP_IMAGE"])\nENV NODE_ENV=production\nCOPY . /ctx\n",
            files: ["app/index.js": "ok", "node_modules/big/x.js": "junk", ".dockerignore": "node_modules\n"], tag: tag)
        XCTAssertTrue(harness.stdout.text.contains("built sha256:"), harness.stdout.text)
        let listing = try sandbox.docker(["run", "--rm", "--entrypoint", "/bin/find", tag, "/ctx"]).stdout
        XCTAssertTrue(listing.contains("/ctx/app/index.js"), listing)
        XCTAssertFalse(listing.contains("node_modules"), listing)
        XCTAssertFalse(listing.contains(".tmeops"), "secrets.env must never reach a build: \(listing)")
        XCTAssertTrue(listing.contains("/ctx/tmeops.yml"), listing)
    }

    func testAFailingDockerfileShowsTheEnginesError() async throws {
        do {
            try await build("FROM \(sandbox["SANDBOX_APP_IMAGE"])\nRUN exit 3\n", tag: uniqueTag("fail"))
            XCTFail("the build should fail")
        } catch let error as DockerError {
            XCTAssertEqual(error.exitStatus, .failure)
            XCTAssertTrue(error.description.contains("returned a non-zero code: 3"), error.description)
        }
    }

    func testVerifyJudgesTheImageAsItsContainerSeesIt() async throws {
        // The sample app's base is an ordinary runtime image (Debian's python3.11 and psycopg2): absolute
        // links such as /bin/python3 -> /usr/bin/python3, hard links, whiteouts. Verify reads it as it is.
        try harness.write(
            "tmeops.yml",
            try String(contentsOf: harness.directory.appendingPathComponent("tmeops.yml"), encoding: .utf8)
                .replacingOccurrences(
                    of: "  args: { NODE_ENV: production }",
                    with: "  args: { NODE_ENV: production }\n  require: [bin/python3, /etc/localtime, usr/lib/python3.11/sitecustomize.py, app/server.py]"))
        let clean = uniqueTag("verify-clean")
        try await build(
            """
            FROM \(sandbox["SANDBOX_APP_IMAGE"])
            USER root
            RUN mkdir -p /app/.next/server && echo x > /app/.next/server/turbopack-runtime.js
            RUN rm /app/.next/server/turbopack-runtime.js
            ENV NODE_ENV=production
            """, tag: clean)
        harness.stdout.clear()
        try await harness.run(ImageVerifyCommand.parse([clean, "--json"]))
        var report = try JSONSerialization.jsonObject(with: Data(harness.stdout.text.utf8)) as? [String: Any]
        XCTAssertEqual(report?["passed"] as? Bool, true, harness.stdout.text)
        let notes = (report?["notes"] as? [[String: String]]) ?? []
        XCTAssertTrue(
            notes.contains { $0["detail"]!.hasPrefix("/app/.next/server/turbopack-runtime.js is deleted by layer") && $0["detail"]!.contains("still ship") },
            "\(notes)")

        let dirty = uniqueTag("verify-dirty")
        try await build(
            """
            FROM \(sandbox["SANDBOX_APP_IMAGE"])
            USER root
            RUN mkdir -p /app/.next/server && echo x > /app/.next/server/turbopack-runtime.js
            ENV NODE_ENV=development
            """, tag: dirty)
        harness.stdout.clear()
        do {
            try await harness.run(ImageVerifyCommand.parse([dirty, "--json"]))
            XCTFail("verify should fail")
        } catch let exit as ExitCode {
            XCTAssertEqual(exit.rawValue, 3)
        }
        report = try JSONSerialization.jsonObject(with: Data(harness.stdout.text.utf8)) as? [String: Any]
        let problems = (report?["problems"] as? [[String: String]]) ?? []
        XCTAssertEqual(report?["passed"] as? Bool, false)
        XCTAssertTrue(
            problems.contains { $0["rule"] == "forbidden **/*turbopack*" && $0["detail"]!.hasPrefix("/app/.next/server/turbopack-runtime.js (layer ") },
            "\(problems)")
        XCTAssertTrue(problems.contains { $0["rule"] == "NODE_ENV" && $0["detail"]!.contains("NODE_ENV=development") }, "\(problems)")
        XCTAssertFalse(problems.contains { $0["rule"] == "required" }, "every required path resolves through the image's links: \(problems)")
    }

    func testVerifyReportsAMissingRequiredPath() async throws {
        let tag = uniqueTag("require")
        try harness.write(
            "tmeops.yml",
            try String(contentsOf: harness.directory.appendingPathComponent("tmeops.yml"), encoding: .utf8)
                .replacingOccurrences(
                    of: "  args: { NODE_ENV: production }", with: "  args: { NODE_ENV: production }\n  require: [\".next/standalone\", server.py]"))
        try await build("FROM \(sandbox["SANDBOX_APP_IMAGE"])\nENV NODE_ENV=production\n", tag: tag)
        harness.stdout.clear()
        do {
            try await harness.run(ImageVerifyCommand.parse([tag]))
            XCTFail("verify should fail")
        } catch let exit as ExitCode {
            XCTAssertEqual(exit.rawValue, 3)
        }
        // Relative paths are looked up under the image's WORKDIR (/app), where the app runs.
        XCTAssertTrue(
            harness.stdout.text.contains(
                "required: /app/.next/standalone is missing from the image (build.require .next/standalone, relative to WORKDIR /app)"),
            harness.stdout.text)
        XCTAssertFalse(harness.stdout.text.contains("server.py"), "server.py is /app/server.py: \(harness.stdout.text)")
    }

    func testSaveWritesAnArchiveThatDockerLoadsAndInspectReads() async throws {
        let tag = uniqueTag("save")
        try await build("FROM \(sandbox["SANDBOX_APP_IMAGE"])\nENV NODE_ENV=production\nLABEL saved=yes\n", tag: tag)
        let id = try XCTUnwrap(try engine().image(tag)?.id)
        try await harness.run(ImageSaveCommand.parse([tag, "-o", "release.tar.gz", "--compress", "gzip"]))
        let file = harness.directory.appendingPathComponent("release.tar.gz").path
        XCTAssertFalse(FileManager.default.fileExists(atPath: file + ".part"))

        harness.stdout.clear()
        try await harness.run(ImageInspectCommand.parse(["release.tar.gz", "--json"]))
        let report = try JSONDecoder().decode(ImageInspectCommand.Report.self, from: Data(harness.stdout.text.utf8))
        XCTAssertEqual(report.tags, [tag])
        XCTAssertTrue(report.env.contains("NODE_ENV=production"))
        XCTAssertEqual(report.layers.count, try engine().image(tag)?.rootFS.layers?.count)

        try engine().removeImage(tag, force: true)
        let load = try sandbox.docker(["load", "-i", file])
        XCTAssertEqual(load.status, 0, load.stderr)
        XCTAssertEqual(try engine().image(tag)?.id, id, "docker load gives back the same image")
    }

    func testDamagedAndUnsafeArchivesAreRefusedBeforeUse() async throws {
        let tag = uniqueTag("damage")
        try await build("FROM \(sandbox["SANDBOX_APP_IMAGE"])\nENV NODE_ENV=production\n", tag: tag)
        try await harness.run(ImageSaveCommand.parse([tag, "-o", "whole.tar"]))
        let whole = try Data(contentsOf: harness.directory.appendingPathComponent("whole.tar"))
        try whole.prefix(whole.count / 2).write(to: harness.directory.appendingPathComponent("half.tar"))
        do {
            try await harness.run(ImageVerifyCommand.parse(["half.tar"]))
            XCTFail("a truncated archive must be refused")
        } catch let error as ArchiveError {
            XCTAssertEqual(error.kind, .corrupt, "\(error)")
        }

        let evil = harness.directory.appendingPathComponent("evil.tar").path
        let fd = open(evil, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let writer = try TarWriter(fd: fd, destination: evil)
        try writer.addData("../../etc/passwd", Data("root::0:0::/:/bin/sh\n".utf8))
        try writer.close()
        close(fd)
        do {
            try await harness.run(ImageInspectCommand.parse(["evil.tar"]))
            XCTFail("a climbing path must be refused")
        } catch let error as ArchiveError {
            XCTAssertEqual(error.kind, .unsafeEntry)
            XCTAssertTrue(error.message.contains("'../../etc/passwd'"), error.message)
        }
    }
}

/// An engine that cannot be reached is named (no engine needed).
final class ImageEngineErrorTests: XCTestCase {
    func testAnEngineThatIsNotRunningIsNamed() async throws {
        let harness = try TestHarness(environment: ["HOME": NSHomeDirectory(), "DOCKER_HOST": "unix:///nonexistent/docker.sock"])
        try registerPlugins(into: harness.registry)
        do {
            try await harness.run(ImageInspectCommand.parse(["tme-portal-server:latest"]))
            XCTFail("expected an error")
        } catch {
            XCTAssertTrue("\(error)".contains("cannot reach the Docker engine at /nonexistent/docker.sock"), "\(error)")
        }
    }
}

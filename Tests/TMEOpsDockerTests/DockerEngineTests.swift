import Foundation
import TMEOpsDocker
import TMEOpsSSH
import TMEOpsTestSupport
import XCTest

/// The Docker client against the sandbox's real engine: its socket on this machine, and the same
/// socket on the sandbox host through SSH.
final class DockerEngineSerial: XCTestCase {
    func engines() throws -> [(String, DockerEngine, SSHSession?)] {
        let sandbox = try Sandbox.require()
        let local = try DockerEngine.local(environment: ["DOCKER_HOST": "unix://\(sandbox["SANDBOX_DOCKER_SOCKET"])"])
        let session = try SSHSession(sandbox.sshOptions())
        addTeardownBlock { session.close() }
        return [("local socket", local, nil), ("over SSH", DockerEngine.remote(session: session, socket: sandbox["SANDBOX_DOCKER_SOCKET"]), session)]
    }

    func testVersionImagesContainersAndNetworks() throws {
        let sandbox = try Sandbox.require()
        for (name, engine, _) in try engines() {
            XCTAssertEqual(try engine.negotiate(), "1.41", name)
            XCTAssertTrue(try engine.version().version.hasPrefix("20.10"), name)
            let image = try XCTUnwrap(try engine.image(sandbox["SANDBOX_APP_IMAGE"]), name)
            XCTAssertFalse(image.rootFS.layers?.isEmpty ?? true)
            XCTAssertEqual(image.config?.exposedPorts?.keys.sorted(), ["3000/tcp"])
            XCTAssertNil(try engine.image("no-such-image:never"), name)
            XCTAssertTrue(try engine.images().contains { $0.repoTags?.contains(sandbox["SANDBOX_APP_IMAGE"]) == true }, name)

            let app = try engine.containers(filters: ["label": ["app=tme-portal"]])
            XCTAssertEqual(app.map(\.name), [sandbox["SANDBOX_APP_CONTAINER"]], name)
            let details = try XCTUnwrap(try engine.container(sandbox["SANDBOX_APP_CONTAINER"]))
            XCTAssertTrue(details.state.running)
            XCTAssertNotNil(details.networkSettings.networks?[sandbox["SANDBOX_NETWORK"]]?.ipAddress)
            XCTAssertNil(try engine.container("no-such-container"), name)
            let network = try XCTUnwrap(try engine.network(sandbox["SANDBOX_NETWORK"]))
            XCTAssertEqual(Set(network.containers?.values.map(\.name) ?? []), [sandbox["SANDBOX_APP_CONTAINER"], sandbox["SANDBOX_PG_CONTAINER"]])
        }
    }

    func testExecKeepsStreamsApartAndReturnsTheExitCode() throws {
        let sandbox = try Sandbox.require()
        for (name, engine, _) in try engines() {
            let result = try engine.exec(sandbox["SANDBOX_PG_CONTAINER"], ["sh", "-c", "echo out; echo err >&2; exit 5"])
            XCTAssertEqual(result.exitCode, 5, name)
            XCTAssertEqual(String(decoding: result.stdout, as: UTF8.self), "out\n", name)
            XCTAssertEqual(String(decoding: result.stderr, as: UTF8.self), "err\n", name)
            let psql = try engine.exec(
                sandbox["SANDBOX_PG_CONTAINER"],
                ["psql", "-h", "/tmp", "-U", sandbox["SANDBOX_DB_USER"], "-d", sandbox["SANDBOX_DB_NAME"], "-tAc", "select 6*7"])
            XCTAssertEqual(String(decoding: psql.stdout, as: UTF8.self), "42\n", String(decoding: psql.stderr, as: UTF8.self))
        }
    }

    func testLogsAreDemultiplexed() throws {
        let sandbox = try Sandbox.require()
        for (name, engine, _) in try engines() {
            var lines = 0
            try engine.logs(sandbox["SANDBOX_PG_CONTAINER"], tail: 5) { _, data in lines += data.split(separator: UInt8(ascii: "\n")).count }
            XCTAssertGreaterThan(lines, 0, name)
        }
    }

    func testDaemonErrorsCarryTheDaemonsMessage() throws {
        for (name, engine, _) in try engines() {
            XCTAssertThrowsError(try engine.tagImage("no-such-image:never", repository: "x", tag: "y"), name) { error in
                guard case DockerError.daemon(let status, let message, let request) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(status, 404)
                XCTAssertTrue(message.contains("No such image"), message)
                XCTAssertEqual(request, "POST /images/no-such-image:never/tag")
            }
        }
    }

    func testLoadReportsErrorsFromInsideTheStream() throws {
        for (name, engine, _) in try engines() {
            XCTAssertThrowsError(try engine.loadImage(DataSource(Data(repeating: 0x41, count: 10_000))), name) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains("POST /images/load"), text)
            }
        }
    }

    func testBuildTagAndRemoveAnImage() throws {
        let sandbox = try Sandbox.require()
        let context = try TemporaryDirectory.make(prefix: "tmeops-build")
        defer { try? FileManager.default.removeItem(at: context) }
        try Data("FROM \(sandbox["SANDBOX_APP_IMAGE"])\nUSER root\nRUN echo built > /built.txt\nLABEL test=true\n".utf8)
            .write(to: context.appendingPathComponent("Dockerfile"))
        // The archive module (issue #4, still to come) will write contexts; the system tar stands in here.
        let tar = try ProcessRunner.run("/bin/sh", ["-c", "tar -C \(context.path) -cf \(context.path)/../ctx-\(context.lastPathComponent).tar ."])
        XCTAssertEqual(tar.status, 0, tar.stderr)
        let tarPath = context.deletingLastPathComponent().appendingPathComponent("ctx-\(context.lastPathComponent).tar").path
        defer { try? FileManager.default.removeItem(atPath: tarPath) }

        for (name, engine, _) in try engines() {
            let tag = "tmeops-test-build:\(UUID().uuidString.prefix(6).lowercased())"
            var output = ""
            let id = try engine.build(context: try FileSource(path: tarPath), tags: [tag], buildArgs: ["NODE_ENV": "production"]) { output += $0 }
            XCTAssertTrue(id.hasPrefix("sha256:"), name)
            XCTAssertTrue(output.contains("RUN echo built"), output)
            XCTAssertEqual(try engine.image(tag)?.id, id)
            try engine.tagImage(tag, repository: "tmeops-test-build", tag: "retagged")
            XCTAssertEqual(try engine.image("tmeops-test-build:retagged")?.id, id)
            try engine.removeImage("tmeops-test-build:retagged")
            try engine.removeImage(tag)
            XCTAssertNil(try engine.image(tag))

            try Data("FROM \(sandbox["SANDBOX_APP_IMAGE"])\nRUN exit 3\n".utf8).write(to: context.appendingPathComponent("Dockerfile"))
            _ = try ProcessRunner.run("/bin/sh", ["-c", "tar -C \(context.path) -cf \(tarPath) ."])
            XCTAssertThrowsError(try engine.build(context: try FileSource(path: tarPath), tags: ["tmeops-test-fail:x"]) { _ in }, name) { error in
                guard case DockerError.stream(let message, _) = error else { return XCTFail("\(error)") }
                XCTAssertTrue(message.contains("returned a non-zero code: 3"), message)
            }
            try Data("FROM \(sandbox["SANDBOX_APP_IMAGE"])\nUSER root\nRUN echo built > /built.txt\nLABEL test=true\n".utf8)
                .write(to: context.appendingPathComponent("Dockerfile"))
            _ = try ProcessRunner.run("/bin/sh", ["-c", "tar -C \(context.path) -cf \(tarPath) ."])
        }
    }

    func testExportStreamsADockerArchive() throws {
        let sandbox = try Sandbox.require()
        for (name, engine, _) in try engines() {
            var bytes = 0
            var head = Data()
            try engine.exportImage(sandbox["SANDBOX_APP_IMAGE"]) { chunk in
                if head.count < 512 { head.append(chunk.prefix(512 - head.count)) }
                bytes += chunk.count
            }
            XCTAssertGreaterThan(bytes, 1 << 20, name)
            XCTAssertEqual(head.count, 512, "a tar header")
        }
    }
}

/// Keep-alive: connections whose response ended cleanly serve the next requests.
final class DockerConnectionReuseSerial: XCTestCase {
    func testRequestsShareOneConnectionOnEveryRoute() throws {
        let sandbox = try Sandbox.require()
        var noForward = sandbox.sshOptions()
        noForward.port = Int(sandbox["SANDBOX_SSH_NOFORWARD_PORT"]) ?? 2222
        for (name, options) in [("streamlocal", sandbox.sshOptions()), ("dial-stdio", noForward)] {
            let session = try SSHSession(options)
            let engine = DockerEngine.remote(session: session, socket: sandbox["SANDBOX_DOCKER_SOCKET"])
            XCTAssertTrue(try engine.version().version.hasPrefix("20.10"), name)
            for _ in 0..<5 { XCTAssertNotNil(try engine.image(sandbox["SANDBOX_APP_IMAGE"]), name) }
            XCTAssertNil(try engine.image("no-such-image:never"), "an error answer (404) read to its end: \(name)")
            XCTAssertThrowsError(try engine.removeContainer("no-such-container"), name)
            XCTAssertNotNil(try engine.container(sandbox["SANDBOX_APP_CONTAINER"]), name)
            XCTAssertEqual(engine.connectionsOpened, 1, "/_ping, version, inspects and error answers on one connection: \(name)")
            // A command whose output is not wanted runs detached: the connection stays kept.
            let postgres = sandbox["SANDBOX_PG_CONTAINER"]
            // Error files already there are another process's (one killed mid-command leaves its own).
            let errorFiles = {
                Set(try sandbox.docker(["exec", postgres, "sh", "-c", "ls /tmp | grep '^tmeops-exec-' || true"]).stdout.split(separator: "\n"))
            }
            let before = try errorFiles()
            XCTAssertEqual(try engine.execDetached(postgres, ["sh", "-c", "echo ignored; exit 0"]).exitCode, 0, name)
            let failed = try engine.execDetached(postgres, ["sh", "-c", "echo 'pg_restore: error: it broke' >&2; exit 4"])
            XCTAssertEqual(failed.exitCode, 4, name)
            XCTAssertEqual(String(decoding: failed.stderr, as: UTF8.self), "pg_restore: error: it broke\n", name)
            XCTAssertEqual(engine.connectionsOpened, 1, "detached commands keep the connection: \(name)")
            let left = try errorFiles().subtracting(before)
            XCTAssertEqual(left, [], "no error file left behind: \(name)")
            // A streamed body goes on the kept connection once it has answered a ping.
            let opened = engine.connectionsOpened
            XCTAssertThrowsError(try engine.loadImage(DataSource(Data(count: 1024))), name)
            XCTAssertNotNil(try engine.image(sandbox["SANDBOX_APP_IMAGE"]), name)
            XCTAssertEqual(engine.connectionsOpened, opened, "a load and the next request on the kept connection: \(name)")
            // The session may close while the engine still keeps a channel on it.
            session.close()
            engine.closeIdle()
        }
    }
}

/// A server that refuses Unix-socket forwarding: Docker is reached through `docker system dial-stdio`.
final class DialStdioSandboxTests: XCTestCase {
    func testFallsBackToDialStdioWhenForwardingIsRefused() throws {
        let sandbox = try Sandbox.require()
        var options = sandbox.sshOptions()
        options.port = Int(sandbox["SANDBOX_SSH_NOFORWARD_PORT"]) ?? 2222
        let session = try SSHSession(options)
        defer { session.close() }
        XCTAssertThrowsError(try session.openUnixSocket(sandbox["SANDBOX_DOCKER_SOCKET"]), "this sshd refuses streamlocal forwarding")
        let engine = DockerEngine.remote(session: session, socket: sandbox["SANDBOX_DOCKER_SOCKET"])
        XCTAssertTrue(try engine.version().version.hasPrefix("20.10"))
        XCTAssertNotNil(try engine.image(sandbox["SANDBOX_APP_IMAGE"]), "later requests take the same route")
        var bytes = 0
        try engine.exportImage(sandbox["SANDBOX_APP_IMAGE"]) { bytes += $0.count }
        XCTAssertGreaterThan(bytes, 1 << 20, "a streamed response through dial-stdio")
        let exec = try engine.exec(sandbox["SANDBOX_PG_CONTAINER"], ["sh", "-c", "echo through-dial-stdio; exit 4"])
        XCTAssertEqual(exec.exitCode, 4)
        XCTAssertEqual(String(decoding: exec.stdout, as: UTF8.self), "through-dial-stdio\n")
    }

    func testAMissingSocketIsNamedOnBothRoutes() throws {
        let sandbox = try Sandbox.require()
        var options = sandbox.sshOptions()
        options.port = Int(sandbox["SANDBOX_SSH_NOFORWARD_PORT"]) ?? 2222
        let session = try SSHSession(options)
        defer { session.close() }
        let engine = DockerEngine.remote(session: session, socket: "/nonexistent/docker.sock")
        XCTAssertThrowsError(try engine.version()) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/docker.sock"), "\(error)")
        }
    }
}

/// The error file of a failed detached exec comes back as the engine's one-file tar archive.
final class ExecArchiveTests: XCTestCase {
    func testTheFirstFileOfATarIsItsBytes() {
        var header = [UInt8](repeating: 0, count: 512)
        for (index, byte) in "tmeops-exec.err".utf8.enumerated() { header[index] = byte }
        for (index, byte) in "00000000013 ".utf8.enumerated() { header[124 + index] = byte }
        var tar = Data(header)
        tar.append(Data("pg_restore!".utf8))
        tar.append(Data(count: 512 - 11 + 1024))
        XCTAssertEqual(DockerEngine.firstFileOfTar(tar), Data("pg_restore!".utf8))
        XCTAssertEqual(DockerEngine.firstFileOfTar(Data(count: 100)), Data(), "too short: nothing")
        XCTAssertEqual(DockerEngine.firstFileOfTar(Data(count: 1024)), Data(), "no size: nothing")
    }
}

/// Connection handling that needs no engine: a missing one is named, a closed kept connection is replaced.
final class DockerEngineErrorTests: XCTestCase {
    func testAnEngineThatIsNotRunningIsNamed() throws {
        let engine = try DockerEngine.local(environment: ["DOCKER_HOST": "unix:///nonexistent/docker.sock"])
        XCTAssertThrowsError(try engine.version()) { error in
            XCTAssertEqual(
                "\(error)",
                "cannot reach the Docker engine at /nonexistent/docker.sock: No such file or directory; is dockerd running, and may this user use its socket?")
        }
        XCTAssertThrowsError(try DockerEngine.local(environment: ["DOCKER_HOST": "tcp://10.0.0.1:2375"]))
    }

    /// The HTTP side alone, over an in-memory transport: a kept connection that the engine has closed
    /// meanwhile answers nothing, and the request goes again on a new connection.
    func testAKeptConnectionClosedByTheEngineIsReplacedOnce() throws {
        final class Scripted: ByteStream {
            var answers: [String]
            var pending = Data()
            var writes = 0
            init(_ answers: [String]) { self.answers = answers }
            func write(_ data: Data) throws {
                if data.starts(with: Data("GET ".utf8)) || data.starts(with: Data("POST ".utf8)) {
                    writes += 1
                    pending = answers.isEmpty ? Data() : Data(answers.removeFirst().utf8)
                }
            }
            func read() throws -> Data {
                defer { pending = Data() }
                return pending
            }
            func closeWrite() throws {}
            func close() {}
        }
        let ok = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
        let ping = "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\n\r\nOK"
        // The first connection answers the ping and one request, then is found closed.
        let first = Scripted([ping, ok])
        let second = Scripted([ok])
        var connections = [first, second]
        let engine = DockerEngine(location: "test") { connections.removeFirst() }
        XCTAssertEqual(try engine.data("GET", "/info"), Data("{}".utf8))
        XCTAssertEqual(try engine.data("GET", "/info"), Data("{}".utf8), "sent again on a new connection")
        XCTAssertEqual(engine.connectionsOpened, 2)
        XCTAssertEqual(first.writes, 3)
        XCTAssertEqual(second.writes, 1)
    }
}

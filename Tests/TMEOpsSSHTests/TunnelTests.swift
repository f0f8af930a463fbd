import Foundation
import TMEOpsSSH
import TMEOpsTestSupport
import XCTest

/// Channels other plugins use: the Docker socket, the app's loopback port, and a local forward that a
/// local client (here psql and curl) connects through.
final class TunnelSerial: XCTestCase {
    func testDockerSocketThroughStreamlocal() throws {
        let sandbox = try Sandbox.require()
        let session = try SSHSession(sandbox.sshOptions())
        defer { session.close() }
        let stream = try session.openUnixSocket(sandbox["SANDBOX_DOCKER_SOCKET"])
        try stream.write(Data("GET /v1.41/_ping HTTP/1.0\r\nHost: docker\r\n\r\n".utf8))
        let reply = String(decoding: try stream.readToEnd(deadline: Date().addingTimeInterval(10)), as: UTF8.self)
        XCTAssertTrue(reply.hasPrefix("HTTP/1.0 200 OK"), reply)
        XCTAssertTrue(reply.hasSuffix("\r\n\r\nOK"), reply)
        stream.close()
        // The session carries on after a tunnel closes.
        XCTAssertEqual(try session.capture(["echo", "still here"]).stdoutText, "still here\n")
    }

    func testMissingSocketIsNamed() throws {
        let sandbox = try Sandbox.require()
        let session = try SSHSession(sandbox.sshOptions())
        defer { session.close() }
        XCTAssertThrowsError(try session.openUnixSocket("/nonexistent/docker.sock")) { error in
            XCTAssertTrue("\(error)".contains("open /nonexistent/docker.sock on \(sandbox["SANDBOX_SSH_HOST"])"), "\(error)")
        }
    }

    func testAppHealthThroughDirectTCPIP() throws {
        let sandbox = try Sandbox.require()
        let session = try SSHSession(sandbox.sshOptions())
        defer { session.close() }
        let stream = try session.openTCP(host: "127.0.0.1", port: 80)
        try stream.write(Data("GET /api/health HTTP/1.0\r\nHost: app\r\n\r\n".utf8))
        let reply = String(decoding: try stream.readToEnd(deadline: Date().addingTimeInterval(10)), as: UTF8.self)
        XCTAssertTrue(reply.hasPrefix("HTTP/1.1 200 OK"), reply)
        XCTAssertTrue(reply.contains("\"database\":\"ok\""), reply)
    }

    func testAClosedPortIsCalledClosedNotAForwardingSetting() throws {
        let sandbox = try Sandbox.require()
        let session = try SSHSession(sandbox.sshOptions())
        defer { session.close() }
        XCTAssertThrowsError(try session.openTCP(host: "127.0.0.1", port: 1)) { error in
            XCTAssertEqual(
                "\(error)",
                "open a tunnel to 127.0.0.1:1 through \(sandbox["SANDBOX_SSH_HOST"]): nothing accepts connections there (\(sandbox["SANDBOX_SSH_HOST"]) could not connect)"
            )
        }
        XCTAssertEqual(try session.capture(["echo", "still here"]).stdoutText, "still here\n", "the session carries on")
    }

    func testLocalForwardCarriesPsqlAndHTTP() throws {
        let sandbox = try Sandbox.require()
        let address = try sandbox.docker([
            "inspect", "-f", "{{(index .NetworkSettings.Networks \"\(sandbox["SANDBOX_NETWORK"])\").IPAddress}}", sandbox["SANDBOX_PG_CONTAINER"],
        ]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let session = try SSHSession(sandbox.sshOptions())
        defer { session.close() }

        let database = try LocalPortForward(session: session, remoteHost: address, remotePort: 5432)
        var environment = ProcessInfo.processInfo.environment
        environment["PGPASSWORD"] = try sandbox.secret("db_password")
        environment["PGCONNECT_TIMEOUT"] = "10"
        for _ in 0..<3 {  // several connections through one forward, one after another
            let psql = try ProcessRunner.run(
                "/usr/bin/psql",
                [
                    "-h", "127.0.0.1", "-p", "\(database.localPort)", "-U", sandbox["SANDBOX_DB_USER"], "-d", sandbox["SANDBOX_DB_NAME"], "-tAc",
                    "select count(*) from generate_series(1, 50000)",
                ], environment: environment)
            XCTAssertEqual(psql.stdout, "50000\n", psql.stderr)
        }
        try database.stop()

        let app = try LocalPortForward(session: session, remoteHost: "127.0.0.1", remotePort: 80)
        let curl = try ProcessRunner.run("/usr/bin/curl", ["-s", "-w", " %{http_code}", "--max-time", "10", "http://127.0.0.1:\(app.localPort)/api/health"])
        XCTAssertTrue(curl.stdout.hasSuffix(" 200"), curl.stdout + curl.stderr)
        try app.stop()
        XCTAssertEqual(try session.capture(["echo", "back"]).stdoutText, "back\n", "the session is usable once the forward stops")
    }
}

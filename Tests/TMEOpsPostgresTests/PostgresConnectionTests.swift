import Foundation
import TMEOpsDocker
import TMEOpsPostgres
import TMEOpsSSH
import TMEOpsTestSupport
import XCTest

/// libpq against the sandbox's real PostgreSQL servers: the development one on loopback, and the
/// production container reached through an SSH local forward.
final class PostgresConnectionSerial: XCTestCase {
    var sandbox: Sandbox!

    override func setUpWithError() throws { sandbox = try Sandbox.require() }

    func development() throws -> PostgresTarget {
        PostgresTarget(
            host: "127.0.0.1", port: Int(sandbox["SANDBOX_DEV_PORT"]) ?? 5434, user: sandbox["SANDBOX_DB_USER"],
            password: try sandbox.secret("dev_db_password"), database: sandbox["SANDBOX_DB_NAME"])
    }

    func testURLTargetsAndConnecting() throws {
        let target = try PostgresTarget(url: "postgresql://tme_user:p%40ss@127.0.0.1:5434/tme_portal")
        XCTAssertEqual([target.user, target.password, target.host, target.database], ["tme_user", "p@ss", "127.0.0.1", "tme_portal"])
        XCTAssertEqual(target.port, 5434)
        XCTAssertEqual(target.description, "tme_user@127.0.0.1:5434/tme_portal", "no password in messages")
        XCTAssertThrowsError(try PostgresTarget(url: "mysql://x@y/z"))

        let connection = try PostgresConnection(try development())
        XCTAssertGreaterThanOrEqual(connection.serverVersion, 150000)
        XCTAssertEqual(try connection.query("SELECT current_setting('search_path')").scalar, "", "an empty search_path: names are always qualified")
    }

    func testTheURLsConnectionParametersReachLibpqAndItsPasswordIsDecodedOnce() throws {
        let parsed = try PostgresTarget(
            url: "postgresql://tme_user:a%2541b@127.0.0.1:5434/tme_portal?sslmode=disable&connect_timeout=7&application_name=from-url")
        XCTAssertEqual(parsed.password, "a%41b", "decoded once: %25 is a percent sign, not the start of another escape")
        XCTAssertEqual(parsed.connectTimeout, 7)
        XCTAssertEqual(parsed.parameters, ["sslmode": "disable", "application_name": "from-url"])
        XCTAssertThrowsError(try PostgresTarget(url: "postgresql://u@h/d?sslmod=require")) {
            XCTAssertTrue("\($0)".contains("sslmod is not a libpq connection parameter"), "\($0)")
        }

        // The parameters are used: the server sees the URL's application name, and sslmode=require
        // fails against a server without TLS instead of silently connecting in the clear.
        var target = try development()
        target.parameters = ["application_name": "from-url", "sslmode": "disable"]
        let connection = try PostgresConnection(target)
        XCTAssertEqual(try connection.query("SELECT current_setting('application_name')").scalar, "from-url")
        target.parameters["sslmode"] = "require"
        XCTAssertThrowsError(try PostgresConnection(target)) { XCTAssertTrue("\($0)".contains("SSL"), "\($0)") }
    }

    func testWrongPasswordAndUnreachableServerAreNamed() throws {
        var wrong = try development()
        wrong.password = "not-the-password"
        XCTAssertThrowsError(try PostgresConnection(wrong)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("cannot connect to tme_user@127.0.0.1:"), text)
            XCTAssertTrue(text.contains("password authentication failed"), text)
            XCTAssertFalse(text.contains("not-the-password"), text)
        }
        var closed = try development()
        closed.port = 5499
        closed.connectTimeout = 3
        XCTAssertThrowsError(try PostgresConnection(closed)) { XCTAssertTrue("\($0)".contains("127.0.0.1"), "\($0)") }
    }

    func testParametersAreNeverSplicedIntoSQL() throws {
        let connection = try PostgresConnection(try development())
        let hostile = ["'); DROP TABLE x; --", "O'Brien", "naïve ☃", "", "\\\\"]
        for value in hostile {
            XCTAssertEqual(try connection.query("SELECT $1::text", [value]).scalar, value)
        }
        XCTAssertNil(try connection.query("SELECT $1::text", [nil]).scalar)
        XCTAssertEqual(try connection.query("SELECT $1::int + $2::int AS sum", ["40", "2"]), QueryResult(columns: ["sum"], rows: [["42"]], affected: 1))
        XCTAssertEqual(try connection.quoteIdentifier("user"), "\"user\"")
        XCTAssertEqual(try connection.quoteIdentifier("odd\"name"), "\"odd\"\"name\"")
        XCTAssertEqual(try connection.quoteLiteral("O'Brien"), "'O''Brien'")
    }

    func testErrorsCarryTheServersFields() throws {
        let connection = try PostgresConnection(try development())
        XCTAssertThrowsError(try connection.query("SELECT 1 FROM\nWHERE")) { error in
            let error = try? XCTUnwrap(error as? PostgresError)
            XCTAssertEqual(error?.sqlState, "42601")
            XCTAssertEqual(error?.position, 15)
            XCTAssertEqual(error?.context, "SELECT 1 FROM")
        }
        XCTAssertThrowsError(try connection.query("SELECT pg_catalog.nosuchfunction(1)")) { error in
            XCTAssertEqual((error as? PostgresError)?.sqlState, "42883")
            XCTAssertNotNil((error as? PostgresError)?.hint)
        }
        // The connection is usable after an error.
        XCTAssertEqual(try connection.query("SELECT 1").scalar, "1")
    }

    func testStatementAndLockTimeoutsAndCancel() throws {
        let connection = try PostgresConnection(try development())
        XCTAssertThrowsError(try connection.withTimeouts(statement: 0.2, lock: nil) { try connection.query("SELECT pg_catalog.pg_sleep(5)") }) {
            XCTAssertTrue(($0 as? PostgresError)?.isCancelled == true, "\($0)")
        }
        XCTAssertEqual(try connection.query("SELECT current_setting('statement_timeout')").scalar, "0", "restored afterwards")

        let holder = try PostgresConnection(try development())
        try holder.execute("CREATE TEMP TABLE IF NOT EXISTS scratch (x int)")
        try connection.execute("DROP TABLE IF EXISTS public.tmeops_lock_test; CREATE TABLE public.tmeops_lock_test (x int)")
        defer { _ = try? connection.execute("DROP TABLE IF EXISTS public.tmeops_lock_test") }
        try holder.execute("BEGIN; LOCK TABLE public.tmeops_lock_test IN ACCESS EXCLUSIVE MODE")
        XCTAssertThrowsError(try connection.withTimeouts(statement: nil, lock: 0.3) { try connection.query("SELECT * FROM public.tmeops_lock_test") }) {
            XCTAssertTrue(($0 as? PostgresError)?.isLockNotAvailable == true, "\($0)")
        }
        try holder.execute("ROLLBACK")

        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { connection.cancel() }
        let started = Date()
        XCTAssertThrowsError(try connection.query("SELECT pg_catalog.pg_sleep(10)")) { XCTAssertTrue(($0 as? PostgresError)?.isCancelled == true, "\($0)") }
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
    }

    func testAdvisoryLockIsExclusiveAndReleasable() throws {
        let key: Int64 = 0x746D_656F_7073
        let first = try AdvisoryLock(try development(), key: key)
        XCTAssertThrowsError(try AdvisoryLock(try development(), key: key, timeout: 0.5)) { error in
            XCTAssertEqual((error as? PostgresError)?.sqlState, "55P03")
            XCTAssertTrue("\(error)".contains("advisory lock \(key) is held by tmeops lock"), "\(error)")
        }
        first.release()
        first.release()  // twice is harmless
        let second = try AdvisoryLock(try development(), key: key)
        second.release()

        let connection = try PostgresConnection(try development())
        connection.close()
        XCTAssertThrowsError(try connection.query("SELECT 1"), "a closed connection refuses work instead of touching freed memory") {
            XCTAssertTrue("\($0)".contains("is closed"), "\($0)")
        }
    }

    func testCopyOutAndIn() throws {
        let connection = try PostgresConnection(try development())
        try connection.execute("DROP TABLE IF EXISTS public.tmeops_copy_test; CREATE TABLE public.tmeops_copy_test (id int, note text)")
        defer { _ = try? connection.execute("DROP TABLE IF EXISTS public.tmeops_copy_test") }
        var chunks = (0..<1000).map { Data("\($0)\tnote \($0)\n".utf8) }.makeIterator()
        try connection.copyIn("COPY public.tmeops_copy_test FROM STDIN") { chunks.next() }
        var out = Data()
        try connection.copyOut("COPY (SELECT * FROM public.tmeops_copy_test ORDER BY id) TO STDOUT") { out.append($0) }
        XCTAssertEqual(String(decoding: out, as: UTF8.self).split(separator: "\n").count, 1000)
        XCTAssertTrue(String(decoding: out, as: UTF8.self).hasPrefix("0\tnote 0\n1\tnote 1\n"))
        var bad = [Data("1\tfine\n".utf8), Data("not a number\tx\n".utf8)].makeIterator()
        XCTAssertThrowsError(try connection.copyIn("COPY public.tmeops_copy_test FROM STDIN") { bad.next() }) { error in
            XCTAssertEqual((error as? PostgresError)?.sqlState, "22P02", "\(error)")
        }
        XCTAssertEqual(try connection.query("SELECT count(*) FROM public.tmeops_copy_test").scalar, "1000", "a failed COPY changes nothing")
    }

    func testTheProductionContainerThroughAnSSHForward() throws {
        let session = try SSHSession(sandbox.sshOptions())
        defer { session.close() }
        let engine = DockerEngine.remote(session: session, socket: sandbox["SANDBOX_DOCKER_SOCKET"])
        let address = try XCTUnwrap(try engine.container(sandbox["SANDBOX_PG_CONTAINER"])?.networkSettings.networks?[sandbox["SANDBOX_NETWORK"]]?.ipAddress)
        let forward = try LocalPortForward(session: session, remoteHost: address, remotePort: 5432)
        defer { try? forward.stop() }
        let connection = try PostgresConnection(
            PostgresTarget(
                host: "127.0.0.1", port: forward.localPort, user: sandbox["SANDBOX_DB_USER"],
                password: try sandbox.secret("db_password"), database: sandbox["SANDBOX_DB_NAME"]))
        XCTAssertEqual(try connection.query("SELECT current_database()").scalar, sandbox["SANDBOX_DB_NAME"])
        var rows = 0
        try connection.copyOut("COPY (SELECT g, md5(g::text) FROM generate_series(1, 20000) g) TO STDOUT") { rows += $0.split(separator: 10).count }
        XCTAssertEqual(rows, 20000)
        connection.close()
    }
}

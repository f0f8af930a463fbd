import Foundation
import TMEOpsTestSupport
import XCTest

/// The sandbox production host answers as a real server would: sshd with the recorded host key,
/// a Docker engine, the PostgreSQL container, the sample app and the development database.
final class SandboxHostGlobalSerial: XCTestCase {
    func testStatusReportsEveryComponentUp() throws {
        _ = try Sandbox.require()
        let status = try ProcessRunner.run("/bin/bash", [Sandbox.script, "status"])
        XCTAssertEqual(status.status, 0, status.stdout)
        // The first host's seven components, then each fleet server's sshd, engine and app, the fleet's
        // database and its load balancer, then the containerd-store server's sshd, engine and app and
        // the containerd-store build engine.
        XCTAssertEqual(status.stdout.split(separator: "\n").filter { $0.contains(" up ") }.count, 7 + 3 * 3 + 2 + 4, status.stdout)
    }

    func testSSHDAnswersWithTheRecordedHostKey() throws {
        let sandbox = try Sandbox.require()
        let scan = try ProcessRunner.run("/usr/bin/ssh-keyscan", ["-T", "5", "-t", "ed25519", "-p", sandbox["SANDBOX_SSH_PORT"], sandbox["SANDBOX_SSH_HOST"]])
        let offered = scan.stdout.split(separator: "\n").first { !$0.hasPrefix("#") }.map {
            $0.split(separator: " ").dropFirst().prefix(2).joined(separator: " ")
        }
        let recorded = try String(contentsOfFile: sandbox["SANDBOX_HOST_KEY"], encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        XCTAssertEqual(offered, recorded, scan.stderr)
        let knownHosts = try String(contentsOfFile: sandbox["SANDBOX_KNOWN_HOSTS"], encoding: .utf8)
        let rsa = try String(contentsOfFile: sandbox["SANDBOX_DIR"] + "/ssh/host_rsa.pub", encoding: .utf8).split(separator: " ").prefix(2).joined(
            separator: " ")
        XCTAssertTrue(
            knownHosts.hasPrefix("\(sandbox["SANDBOX_SSH_HOST"]) \(recorded)\n[\(sandbox["SANDBOX_SSH_HOST"])]:2222 \(rsa)\n"),
            "port 2222 shows an RSA host key")
        // Each fleet server has a host key of its own, recorded under its address.
        let fleet = sandbox["SANDBOX_FLEET_HOSTS"].split(separator: ",").map(String.init)
        XCTAssertEqual(fleet.count, 3)
        let fleetKeys = Set(fleet.compactMap { host in knownHosts.split(separator: "\n").first { $0.hasPrefix("\(host) ssh-ed25519 ") } })
        XCTAssertEqual(fleetKeys.count, 3, knownHosts)

        // The authorised key logs in with strict host-key checking against that known_hosts file.
        let login = try ProcessRunner.run(
            "/usr/bin/ssh",
            [
                "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=\(sandbox["SANDBOX_KNOWN_HOSTS"])",
                "-o", "IdentitiesOnly=yes", "-i", sandbox["SANDBOX_SSH_IDENTITY"], "-p", sandbox["SANDBOX_SSH_PORT"],
                "\(sandbox["SANDBOX_SSH_USER"])@\(sandbox["SANDBOX_SSH_HOST"])", "id -un && test -S \(sandbox["SANDBOX_DOCKER_SOCKET"]) && echo socket",
            ])
        XCTAssertEqual(login.status, 0, login.stderr)
        XCTAssertEqual(login.stdout, "\(sandbox["SANDBOX_SSH_USER"])\nsocket\n")
    }

    func testDockerEngineAnswersWithAPI141() throws {
        let sandbox = try Sandbox.require()
        let ping = try ProcessRunner.run("/usr/bin/curl", ["-sS", "--unix-socket", sandbox["SANDBOX_DOCKER_SOCKET"], "http://docker/_ping"])
        XCTAssertEqual(ping.stdout, "OK", ping.stderr)
        let version = try ProcessRunner.run("/usr/bin/curl", ["-sS", "--unix-socket", sandbox["SANDBOX_DOCKER_SOCKET"], "http://docker/version"])
        let object = try JSONSerialization.jsonObject(with: Data(version.stdout.utf8)) as? [String: Any]
        let apiVersion = try XCTUnwrap(object?["ApiVersion"] as? String)
        XCTAssertGreaterThanOrEqual(Double(apiVersion) ?? 0, 1.41, version.stdout)
        let names = try sandbox.docker(["ps", "--format", "{{.Names}}"]).stdout.split(separator: "\n").map(String.init).sorted()
        XCTAssertEqual(names, [sandbox["SANDBOX_APP_CONTAINER"], sandbox["SANDBOX_PG_CONTAINER"]].sorted())
    }

    func testPostgresContainerAnswersInsideAndOverTheNetwork() throws {
        let sandbox = try Sandbox.require()
        let local = try sandbox.docker([
            "exec", sandbox["SANDBOX_PG_CONTAINER"], "psql", "-h", "/tmp", "-U", sandbox["SANDBOX_DB_USER"],
            "-d", sandbox["SANDBOX_DB_NAME"], "-tAc", "select current_user || '|' || current_database()",
        ])
        XCTAssertEqual(local.stdout, "\(sandbox["SANDBOX_DB_USER"])|\(sandbox["SANDBOX_DB_NAME"])\n", local.stderr)

        // Password authentication from the host's network, as tmeops will connect through an SSH forward.
        let address = try sandbox.docker([
            "inspect", "-f", "{{(index .NetworkSettings.Networks \"\(sandbox["SANDBOX_NETWORK"])\").IPAddress}}", sandbox["SANDBOX_PG_CONTAINER"],
        ])
        .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertFalse(address.isEmpty)
        let remote = try sandbox.inNamespace(
            ["/usr/bin/psql", "-h", address, "-U", sandbox["SANDBOX_DB_USER"], "-d", sandbox["SANDBOX_DB_NAME"], "-tAc", "select 40 + 2"],
            environment: ["PGPASSWORD": try sandbox.secret("db_password"), "PGCONNECT_TIMEOUT": "5"])
        XCTAssertEqual(remote.stdout, "42\n", remote.stderr)
        let wrong = try sandbox.inNamespace(
            ["/usr/bin/psql", "-h", address, "-U", sandbox["SANDBOX_DB_USER"], "-d", sandbox["SANDBOX_DB_NAME"], "-tAc", "select 1"],
            environment: ["PGPASSWORD": "wrong", "PGCONNECT_TIMEOUT": "5"])
        XCTAssertNotEqual(wrong.status, 0, "passwords are checked")
    }

    func testAppHealthAnswers200OnlyWhileTheDatabaseAnswers() throws {
        let sandbox = try Sandbox.require()
        let health = ["/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", "http://127.0.0.1:80/api/health"]
        XCTAssertEqual(try sandbox.inNamespace(health).stdout, "200")
        XCTAssertEqual(try sandbox.inNamespace(["/usr/bin/curl", "-s", "--max-time", "5", "http://127.0.0.1:80/"]).stdout.contains("tme-portal"), true)

        try sandbox.docker(["stop", "-t", "5", sandbox["SANDBOX_PG_CONTAINER"]])
        defer {
            _ = try? sandbox.docker(["start", sandbox["SANDBOX_PG_CONTAINER"]])
            for _ in 0..<100 where (try? sandbox.inNamespace(health).stdout) != "200" { usleep(200_000) }
        }
        XCTAssertEqual(try sandbox.inNamespace(health).stdout, "503", "the database is down")
        try sandbox.docker(["start", sandbox["SANDBOX_PG_CONTAINER"]])
        var code = ""
        for _ in 0..<100 {
            code = try sandbox.inNamespace(health).stdout
            if code == "200" { break }
            usleep(200_000)
        }
        XCTAssertEqual(code, "200", "healthy again once the database is back")
    }

    func testDevelopmentPostgresAnswersOnLoopback() throws {
        let sandbox = try Sandbox.require()
        var environment = ProcessInfo.processInfo.environment
        environment["PGPASSWORD"] = try sandbox.secret("dev_db_password")
        let result = try ProcessRunner.run(
            "/usr/bin/psql",
            [
                "-h", "127.0.0.1", "-p", sandbox["SANDBOX_DEV_PORT"], "-U", sandbox["SANDBOX_DB_USER"],
                "-d", sandbox["SANDBOX_DB_NAME"], "-tAc", "select current_database()",
            ], environment: environment)
        XCTAssertEqual(result.stdout, "\(sandbox["SANDBOX_DB_NAME"])\n", result.stderr)
    }
}

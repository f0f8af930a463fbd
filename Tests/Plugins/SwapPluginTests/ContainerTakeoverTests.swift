import Foundation
import TMEOpsCore
import TMEOpsHosts
import TMEOpsTestSupport
import XCTest

@testable import SwapPlugin

/// A production container made the usual way, by docker compose (the sandbox's: a bind mount for uploads,
/// a named volume, a memory limit, log rotation, compose's labels, a restart policy, a stop grace period,
/// an env file in compose's format, an app that holds its database connection and ignores SIGTERM):
/// every deploy path keeps what it had, and nothing it wrote or was given is lost.
final class ContainerTakeoverSerial: SeededDeployProject {
    override var projectPrefix: String { "tmeops-takeover" }

    /// What the settings under test are, read from the engine.
    struct Settings: Equatable {
        var binds: [String]
        var volumes: [String]
        var memory: Int
        var log: String
        var restart: String
        var composeProject: String
        var composeService: String
        var stopTimeout: Int
    }

    func settings(_ container: String? = nil) throws -> Settings {
        let name = container ?? sandbox["SANDBOX_APP_CONTAINER"]
        let format = [
            "{{json .HostConfig.Binds}}", "{{range .Mounts}}{{if eq .Type \"volume\"}}{{.Name}}:{{.Destination}} {{end}}{{end}}", "{{.HostConfig.Memory}}",
            "{{json .HostConfig.LogConfig.Config}}", "{{.HostConfig.RestartPolicy.Name}}", "{{index .Config.Labels \"com.docker.compose.project\"}}",
            "{{index .Config.Labels \"com.docker.compose.service\"}}", "{{.Config.StopTimeout}}",
        ].joined(separator: "|")
        let out = try sandbox.docker(["inspect", "-f", format, name])
        XCTAssertEqual(out.status, 0, out.stderr)
        let fields = out.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        let binds = (try? JSONDecoder().decode([String]?.self, from: Data(fields[0].utf8))) ?? nil
        return Settings(
            binds: (binds ?? []).sorted(), volumes: fields[1].split(separator: " ").map(String.init).sorted(), memory: Int(fields[2]) ?? -1,
            log: fields[3], restart: fields[4], composeProject: fields[5], composeService: fields[6], stopTimeout: Int(fields[7]) ?? -1)
    }

    func serving() throws -> String {
        try sandbox.inNamespace(["curl", "-fsS", "--max-time", "5", "http://127.0.0.1:80/api/version"]).stdout
    }

    func testEverySettingOfAComposeMadeContainerSurvivesDeployRollbackRecoverAndProxy() throws {
        let before = try settings()
        XCTAssertEqual(before.composeProject, "tme-user", "the sandbox's production is compose-made")
        XCTAssertEqual(before.memory, 512 << 20)
        // An upload the app made before the deploy, in its bind mount on the host.
        let upload = URL(fileURLWithPath: sandbox["SANDBOX_UPLOADS"]).appendingPathComponent("photo-\(UUID().uuidString.prefix(6)).png")
        try Data("png".utf8).write(to: upload)
        defer { try? FileManager.default.removeItem(at: upload) }
        func uploadVisible() throws -> Bool {
            try sandbox.docker(["exec", sandbox["SANDBOX_APP_CONTAINER"], "cat", "/app/uploads/\(upload.lastPathComponent)"]).stdout == "png"
        }

        var result = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-2", "--dry-run"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        for line in [
            "mount \(sandbox["SANDBOX_UPLOADS"]) -> /app/uploads", "mount tme-user_app_data -> /app/data", "Memory 512.0 MiB", "restart unless-stopped",
        ] {
            XCTAssertTrue(result.stdout.contains(line), "the plan shows what is carried over: \(line) in\n\(result.stdout)")
        }

        result = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-2"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(try serving().contains("sandbox-2"))
        XCTAssertEqual(try settings(), before, "deploy")
        XCTAssertTrue(try uploadVisible(), "the uploads folder is the same one")
        let inspect = try sandbox.docker(["inspect", sandbox["SANDBOX_APP_CONTAINER"]]).stdout
        XCTAssertFalse(inspect.contains(try sandbox.secret("db_password")), "the env file's secret is not in docker inspect")
        XCTAssertTrue(inspect.contains("\"tmeops.release\""), "tmeops's labels are added")
        let composeList = try sandbox.docker(["ps", "--filter", "label=com.docker.compose.project=tme-user", "--format", "{{.Names}}"]).stdout
        XCTAssertTrue(composeList.contains(sandbox["SANDBOX_APP_CONTAINER"]), "docker compose still counts it as its own: \(composeList)")

        // The ledger keeps each release's container settings.
        let releases = try JSONDecoder().decode([RemoteState.Release].self, from: Data(try tmeops(["releases", "-e", "sandbox", "--json"]).stdout.utf8))
        let record = try XCTUnwrap(releases.last?.container)
        XCTAssertTrue(record.mounts.contains("\(sandbox["SANDBOX_UPLOADS"]) -> /app/uploads"), "\(record.mounts)")
        XCTAssertEqual(record.settings["Memory"], "Memory 512.0 MiB")

        result = try tmeops(["rollback", "-e", "sandbox"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(try serving().contains("sandbox-1"))
        XCTAssertEqual(try settings(), before, "rollback")

        let killed = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-2"], environment: ["TMEOPS_FAULT_AT": "swap.after-start"])
        XCTAssertEqual(killed.status, 9, killed.stdout + killed.stderr)
        result = try tmeops(["recover", "-e", "sandbox"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertEqual(try settings(), before, "recover after SIGKILL")
        XCTAssertTrue(try uploadVisible())

        try editConfig { $0.replacingOccurrences(of: "strategy: replace", with: "strategy: proxy") }
        result = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-2"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertEqual(try settings(), before, "proxy strategy")
        XCTAssertTrue(try uploadVisible())

        // Two releases' containers compared: the image changed, not the settings.
        let all = try JSONDecoder().decode([RemoteState.Release].self, from: Data(try tmeops(["releases", "-e", "sandbox", "--json"]).stdout.utf8))
        let deployed = all.filter { $0.container != nil }.map(\.id)
        XCTAssertGreaterThanOrEqual(deployed.count, 2, "\(all.map(\.outcome))")
        let diff = try tmeops(["releases", "-e", "sandbox", "--diff", deployed[0], deployed[deployed.count - 1]])
        XCTAssertEqual(diff.status, 0, diff.stderr)
        XCTAssertFalse(diff.stdout.contains("mount"), diff.stdout)
    }

    func testConfigChangesAreAppliedOverTheCarriedSettings() throws {
        let before = try settings()
        try editConfig {
            $0.replacingOccurrences(
                of: "      env: { NODE_ENV: production }",
                with: "      env: { NODE_ENV: production }\n      labels: { team: portal }\n      options: { memory: 256m, log_opts: { max-size: 5m } }")
        }
        let result = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-2"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let after = try settings()
        XCTAssertEqual(after.memory, 256 << 20)
        XCTAssertEqual(after.log, "{\"max-size\":\"5m\"}")
        XCTAssertEqual(after.binds, before.binds, "the mounts are still carried")
        let team = try sandbox.docker(["inspect", "-f", "{{index .Config.Labels \"team\"}}", sandbox["SANDBOX_APP_CONTAINER"]]).stdout
        XCTAssertEqual(team.trimmingCharacters(in: .whitespacesAndNewlines), "portal")
    }

    func testFilesWrittenIntoTheContainersOwnLayerMakeTheDeployRefuse() throws {
        let app = sandbox["SANDBOX_APP_CONTAINER"]
        let written = try sandbox.docker(["exec", "-u", "root", app, "sh", "-c", "mkdir -p /app/reports && echo q3 > /app/reports/q3.csv"])
        XCTAssertEqual(written.status, 0, written.stderr)
        let id = try sandbox.docker(["inspect", "-f", "{{.Id}}", app]).stdout
        var result = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-2"])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("/app/reports/q3.csv"), result.stderr)
        XCTAssertTrue(result.stderr.contains("app.volumes"), "the fix is named: \(result.stderr)")
        XCTAssertTrue(result.stderr.contains("--discard-container-changes"), result.stderr)
        XCTAssertEqual(try sandbox.docker(["inspect", "-f", "{{.Id}}", app]).stdout, id, "nothing changed")
        XCTAssertTrue(try serving().contains("sandbox-1"))

        result = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-2", "--discard-container-changes"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("discarded by this deploy as asked"), result.stderr)
    }

    func testTheTestInstanceCannotWriteProductionsMountsNorReachItsDatabase() throws {
        // Any database other than production's will do for this test: the server's `postgres` one.
        let up = try tmeops(["test-instance", "up", "-e", "sandbox", "--image", sandbox["SANDBOX_APP_IMAGE"], "--database", "postgres"])
        defer { _ = try? tmeops(["test-instance", "down", "-e", "sandbox"]) }
        XCTAssertEqual(up.status, 0, up.stdout + up.stderr)
        let test = sandbox["SANDBOX_APP_CONTAINER"] + "-test"
        let write = try sandbox.docker(["exec", test, "sh", "-c", "echo x > /app/uploads/from-test"])
        XCTAssertNotEqual(write.status, 0, "production's uploads are read-only in the test instance")
        XCTAssertTrue(write.stderr.contains("Read-only file system"), write.stderr)
        let url = try sandbox.docker(["exec", test, "sh", "-c", ". /run/tmeops/app.env; echo \"$DATABASE_URL\""]).stdout
        XCTAssertTrue(url.hasSuffix("/postgres\n"), "the test instance's DATABASE_URL names its own database")
        let sessions = try sandbox.docker([
            "exec", sandbox["SANDBOX_PG_CONTAINER"], "psql", "-h", "/tmp", "-U", "tme_user", "-d", "postgres", "-tAc",
            "SELECT count(*) FROM pg_stat_activity WHERE datname = 'tme_portal' AND client_addr = (SELECT client_addr FROM pg_stat_activity WHERE datname = 'postgres' AND application_name = 'tme-portal' LIMIT 1)",
        ])
        XCTAssertEqual(sessions.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "0", "the test instance holds no session on production's database")
        XCTAssertEqual(
            try sandbox.docker(["inspect", "-f", "{{index .Config.Labels \"com.docker.compose.project\"}}", test]).stdout.trimmingCharacters(
                in: .whitespacesAndNewlines),
            "", "compose must not take the test instance for one of its containers")
    }

    func testTheEnvFileIsReadAsComposeReadsItAndAChangeIsRefusedUnlessAccepted() throws {
        let envFile = "/home/\(sandbox["SANDBOX_SSH_USER"])/.env"
        let original = try String(contentsOfFile: envFile, encoding: .utf8)
        defer { try? Data(original.utf8).write(to: URL(fileURLWithPath: envFile)) }
        XCTAssertTrue(original.contains("DATABASE_URL=\""), "the sandbox's env file quotes its values, as compose files do")

        // Read as docker's --env-file would, the quotes would be part of the URL: refused, values unshown.
        try editConfig {
            $0.replacingOccurrences(of: "      env: { NODE_ENV: production }", with: "      env: { NODE_ENV: production }\n      env_file_format: docker")
        }
        var result = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-2"])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("different values for DATABASE_URL"), result.stderr)
        XCTAssertFalse((result.stdout + result.stderr).contains(try sandbox.secret("db_password")), "no value is printed")
        try editConfig { $0.replacingOccurrences(of: "\n      env_file_format: docker", with: "") }

        // A variable added to the file is a change the operator must confirm.
        try Data((original + "FEATURE_FLAG=\"on\"\n").utf8).write(to: URL(fileURLWithPath: envFile))
        result = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-2"])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("new FEATURE_FLAG"), result.stderr)
        result = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-2", "--accept-env-changes"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let flag = try sandbox.docker(["exec", sandbox["SANDBOX_APP_CONTAINER"], "sh", "-c", ". /run/tmeops/app.env; echo \"$FEATURE_FLAG\""]).stdout
        XCTAssertEqual(flag, "on\n", "compose's rules: the quotes are not part of the value")
    }

    func testAFailedTestInstanceShowsAndKeepsItsOwnLogLines() throws {
        let result = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-3"])
        XCTAssertEqual(result.status, 1, "refused before production changed: \(result.stdout) \(result.stderr)")
        XCTAssertTrue(result.stderr.contains("the last log lines of the failing container"), result.stderr)
        XCTAssertTrue(result.stderr.contains("violates check constraint"), result.stderr)
        XCTAssertTrue(try serving().contains("sandbox-1"))
        let shown = try tmeops(["releases", "-e", "sandbox", "--show", "latest"])
        XCTAssertEqual(shown.status, 0, shown.stderr)
        XCTAssertTrue(shown.stdout.contains("violates check constraint"), shown.stdout)
        XCTAssertTrue(shown.stdout.contains("failed"), shown.stdout)
    }
}

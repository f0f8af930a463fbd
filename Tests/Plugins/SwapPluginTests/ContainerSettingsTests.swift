import Foundation
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import XCTest

@testable import SwapPlugin
@testable import ValidatePlugin

/// What a new app container takes over from the running one, and what tmeops.yml changes, without a
/// sandbox: the inspect documents are written as the engine writes them for a compose-made container.
final class ContainerSettingsTests: XCTestCase {
    func json(_ text: String) throws -> JSONValue { try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) }

    lazy var composeContainer: JSONValue = try! json(
        """
        {"Id": "abc123", "Image": "sha256:old",
         "Config": {"Image": "tme-portal-server:sandbox-1", "User": "app", "WorkingDir": "/app", "StopTimeout": 3,
                    "Env": ["PATH=/usr/bin:/bin", "APP_VERSION=sandbox-1", "NODE_ENV=production", "DATABASE_URL=postgresql://u:p@db/tme_portal"],
                    "Labels": {"com.docker.compose.project": "tme-user", "com.docker.compose.service": "app", "org.opencontainers.image.version": "sandbox-1",
                               "tmeops.release": "r-1", "app": "tme-portal", "team": "portal"}},
         "HostConfig": {"Binds": ["/home/tme-user/uploads:/app/uploads", "/home/tme-user/.env:/run/tmeops/app.env:ro"],
                        "Memory": 536870912, "NanoCpus": 0, "RestartPolicy": {"Name": "unless-stopped", "MaximumRetryCount": 0},
                        "LogConfig": {"Type": "json-file", "Config": {"max-size": "10m", "max-file": "3"}},
                        "PortBindings": {"3000/tcp": [{"HostIp": "", "HostPort": "80"}]}, "NetworkMode": "tme-user_tme_network",
                        "CapAdd": null, "Init": true},
         "Mounts": [{"Type": "bind", "Source": "/home/tme-user/uploads", "Destination": "/app/uploads", "RW": true},
                    {"Type": "volume", "Name": "tme-user_app_data", "Destination": "/app/data", "RW": true},
                    {"Type": "volume", "Name": "0f3c9a", "Destination": "/var/cache/app", "RW": true}]}
        """)
    lazy var oldImage: JSONValue = try! json(
        """
        {"Config": {"User": "app", "WorkingDir": "/app", "Env": ["PATH=/usr/bin:/bin", "APP_VERSION=sandbox-1"],
                    "Labels": {"org.opencontainers.image.version": "sandbox-1"}}}
        """)

    /// `environments.production.app` of a tmeops.yml holding `extra` as well, loaded as tmeops loads it.
    func app(_ extra: String = "") throws -> AppContainerConfig {
        let body = ("container: tme-user-app-1\nnetwork: tme-user_tme_network\npublish: [\"80:3000\"]\n" + extra)
            .split(separator: "\n").map { "      " + $0 }.joined(separator: "\n")
        let yaml = "app: tme-portal\nimage: tme-portal-server\nenvironments:\n  production:\n    app:\n" + body + "\n"
        let config = try ConfigLoader(sections: [AppContainerConfig.self], processEnvironment: [:], redactor: Redactor()).load(
            yaml: yaml, displayPath: "tmeops.yml", url: URL(fileURLWithPath: "/nonexistent/tmeops.yml"), selecting: .named("production"))
        return try config.environment("production").require(AppContainerConfig.self, for: "this test")
    }

    func testEverySettingTheConfigDoesNotNameIsCarriedOver() throws {
        let settings = ContainerSettings(container: composeContainer, image: oldImage).applying(try app())
        XCTAssertEqual(settings.hostConfig["Binds"], .array([.string("/home/tme-user/uploads:/app/uploads")]), "tmeops's own env file mount is not carried")
        XCTAssertEqual(settings.hostConfig["Memory"], .number(536_870_912))
        XCTAssertEqual(settings.hostConfig["RestartPolicy"]?["Name"], .string("unless-stopped"))
        XCTAssertEqual(settings.hostConfig["LogConfig"]?["Config"]?["max-size"], .string("10m"))
        XCTAssertNil(settings.hostConfig["PortBindings"], "ports are tmeops.yml's")
        XCTAssertNil(settings.hostConfig["NanoCpus"], "zero means unset")
        let mounts = settings.hostConfig["Mounts"]?.array ?? []
        XCTAssertEqual(mounts.compactMap { $0["Source"]?.string }, ["tme-user_app_data", "0f3c9a"], "named and anonymous volumes keep their data")
        XCTAssertEqual(settings.config["StopTimeout"], .number(3))
        XCTAssertNil(settings.config["User"], "the image's own user is the new image's business")
        XCTAssertEqual(settings.labels, ["com.docker.compose.project": "tme-user", "com.docker.compose.service": "app", "team": "portal"])

        let spec = ContainerSpec(
            image: "tme-portal-server:r-2", cmd: ["python3"], env: ["NODE_ENV=production"], labels: ["tmeops.release": "r-2", "app": "tme-portal"],
            hostConfig: .init(portBindings: ["3000/tcp": [.init(hostIp: "", hostPort: "80")]], restartPolicy: ["Name": "always"], initProcess: true))
        let body = try settings.body(for: spec)
        XCTAssertEqual(body["Image"], .string("tme-portal-server:r-2"))
        XCTAssertEqual(body["HostConfig"]?["RestartPolicy"]?["Name"], .string("unless-stopped"), "the running container's policy wins over the default")
        XCTAssertEqual(body["HostConfig"]?["PortBindings"]?["3000/tcp"]?.array?.first?["HostPort"], .string("80"))
        XCTAssertEqual(body["HostConfig"]?["Memory"], .number(536_870_912))
        XCTAssertEqual(body["Labels"]?["com.docker.compose.project"], .string("tme-user"), "docker compose ps still lists it")
        XCTAssertEqual(body["Labels"]?["tmeops.release"], .string("r-2"))
        XCTAssertEqual(body["StopTimeout"], .number(3))
        XCTAssertTrue(try String(decoding: JSONEncoder().encode(body), as: UTF8.self).contains("\"Memory\":536870912"), "integers stay integers")
    }

    func testTheConfigOverridesAndAdds() throws {
        let app = try app(
            """
            volumes: ["/srv/uploads:/app/uploads", "reports:/app/reports:ro"]
            labels: { team: web }
            options: { memory: 1g, cpus: 1.5, restart: "on-failure:3", log_driver: local, ulimits: { nofile: "1024:2048" }, user: "1000" }
            """)
        let settings = ContainerSettings(container: composeContainer, image: oldImage).applying(app)
        XCTAssertEqual(settings.hostConfig["Binds"], .array([.string("/srv/uploads:/app/uploads"), .string("reports:/app/reports:ro")]))
        XCTAssertEqual(settings.hostConfig["Memory"], .number(Double(1 << 30)))
        XCTAssertEqual(settings.hostConfig["NanoCpus"], .number(1.5e9))
        XCTAssertEqual(settings.hostConfig["RestartPolicy"], .object(["Name": .string("on-failure"), "MaximumRetryCount": .number(3)]))
        XCTAssertEqual(settings.hostConfig["LogConfig"]?["Type"], .string("local"))
        XCTAssertEqual(settings.hostConfig["Ulimits"]?.array?.first?["Hard"], .number(2048))
        XCTAssertEqual(settings.config["User"], .string("1000"))
        XCTAssertEqual(settings.labels["team"], "web")
        XCTAssertTrue(settings.summary.contains("mount /srv/uploads -> /app/uploads"), "\(settings.summary)")
        XCTAssertTrue(settings.summary.contains("Memory 1.0 GiB"), "\(settings.summary)")
    }

    func testTheTestInstanceGetsProductionsMountsReadOnlyAndNoComposeLabels() throws {
        let production = ContainerSettings(container: composeContainer, image: oldImage).applying(try app())
        let test = production.forTestInstance(volumes: nil)
        XCTAssertEqual(test.hostConfig["Binds"], .array([.string("/home/tme-user/uploads:/app/uploads:ro")]))
        XCTAssertTrue((test.hostConfig["Mounts"]?.array ?? []).allSatisfy { $0["ReadOnly"] == .bool(true) })
        XCTAssertNil(test.hostConfig["RestartPolicy"])
        XCTAssertEqual(test.labels, ["team": "portal"])
        let scratch = production.forTestInstance(volumes: ["/tmp/scratch-uploads:/app/uploads"])
        XCTAssertEqual(scratch.hostConfig["Binds"], .array([.string("/tmp/scratch-uploads:/app/uploads")]))
        XCTAssertNil(scratch.hostConfig["Mounts"])
    }

    func testBadOptionsAreConfigErrors() throws {
        XCTAssertThrowsError(try app("options: { memroy: 1g }")) { XCTAssertTrue("\($0)".contains("did you mean 'memory'"), "\($0)") }
        XCTAssertThrowsError(try app("options: { memory: lots }")) { XCTAssertTrue("\($0)".contains("'lots' is not a size"), "\($0)") }
        XCTAssertThrowsError(try app("options: { restart: sometimes }")) { XCTAssertTrue("\($0)".contains("not one of no, always"), "\($0)") }
        XCTAssertThrowsError(try app("volumes: [uploads]")) { XCTAssertTrue("\($0)".contains("'uploads' is not SOURCE:TARGET"), "\($0)") }
        XCTAssertThrowsError(try app("env_file_format: yaml")) { XCTAssertTrue("\($0)".contains("not one of compose, docker"), "\($0)") }
    }

    func testFilesWrittenIntoTheContainersLayerUnderTheAppAreFound() {
        let changes: [DockerEngine.FileChange] = [
            .init(path: "/app", kind: .modified), .init(path: "/app/reports", kind: .added), .init(path: "/app/reports/q3.csv", kind: .added),
            .init(path: "/app/.next/cache/images/x.webp", kind: .added), .init(path: "/app/server.log", kind: .added),
            .init(path: "/app/uploads/photo.png", kind: .added), .init(path: "/tmp/session", kind: .added), .init(path: "/run/tmeops/app.env", kind: .added),
            .init(path: "/app/old.txt", kind: .deleted), .init(path: "/etc/hosts", kind: .modified),
        ]
        XCTAssertEqual(ContainerSettings.discardedChanges(changes, appPaths: ["/app"], mounts: ["/app/uploads"]), ["/app/reports/q3.csv"])
        XCTAssertEqual(DeployTarget.commonFolder(["/app/reports/q3.csv", "/app/reports/2026/q4.csv"]), "/app/reports")
    }

    func testTheTestInstancesVariablesNameTheTestDatabase() {
        let pairs: [(key: String, value: String)] = [
            ("DATABASE_URL", "postgresql://u:p@db:5432/tme_portal?sslmode=require&application_name=web"), ("PGDATABASE", "tme_portal"),
            ("POSTGRES_URL", "postgres://u@db/tme_portal"), ("DSN", "host=db dbname=tme_portal user=u"), ("OTHER_URL", "postgresql://u@db/tme_portal_archive"),
            ("NODE_ENV", "production"),
        ]
        let test = AppEnvironment.redirected(pairs, database: "tme_portal", to: "tme_portal_test", overrides: ["FEATURE": "off"])
        XCTAssertEqual(
            test.map { "\($0.key)=\($0.value)" },
            [
                "DATABASE_URL=postgresql://u:p@db:5432/tme_portal_test?sslmode=require&application_name=web", "PGDATABASE=tme_portal_test",
                "POSTGRES_URL=postgres://u@db/tme_portal_test", "DSN=host=db dbname=tme_portal_test user=u", "OTHER_URL=postgresql://u@db/tme_portal_archive",
                "NODE_ENV=production", "FEATURE=off",
            ])
        let difference = AppEnvironment.difference(
            current: ["A": "1", "B": "2", "C": "3"], visible: ["NODE_ENV": "production", "LANG": "C"],
            next: ["A": "1", "B": "two", "D": "4", "NODE_ENV": "production", "LANG": "C.UTF-8"])
        XCTAssertEqual(difference.description, "different values for B, LANG; missing C; new D")
        XCTAssertEqual(AppEnvironment.parseExports(DotEnv.shellExports([("A", "it's"), ("B", "x\ny")])).map { "\($0.key)=\($0.value)" }, ["A=it's", "B=x\ny"])
    }
}

/// The preflight's disk arithmetic: the backup, the image (twice its size while loading), and both
/// together when they share a filesystem.
final class DiskSpaceTests: XCTestCase {
    let mib: UInt64 = 1 << 20

    func problem(_ backups: (UInt64, String), backup: UInt64, _ docker: (UInt64, String)?, image: UInt64) -> String? {
        DiskSpace(
            backups: .init(free: backups.0 * mib, mount: backups.1), backupBytes: backup * mib,
            docker: docker.map { .init(free: $0.0 * mib, mount: $0.1) }, imageBytes: image * mib
        ).problem(backupsDir: "/srv/backups", dockerRoot: "/var/lib/docker", host: "web1")
    }

    func testEachNeedIsCheckedWhereItIsWritten() {
        XCTAssertNil(problem((500, "/srv"), backup: 100, (700, "/"), image: 300))
        XCTAssertEqual(
            problem((500, "/srv"), backup: 100, (500, "/"), image: 300),
            "/var/lib/docker (the Docker engine's data) on web1 has 500 MiB free; loading the image needs about 600 MiB (twice its 300 MiB while it loads); free some space (docker image prune) first"
        )
        XCTAssertEqual(
            problem((50, "/srv"), backup: 100, (5000, "/"), image: 300),
            "/srv/backups on web1 has 50 MiB free; the backup needs about 100 MiB; free some space (tmeops backup prune) first")
    }

    func testOneFilesystemMustHoldBoth() {
        XCTAssertNil(problem((800, "/"), backup: 100, (800, "/"), image: 300))
        XCTAssertTrue(problem((600, "/"), backup: 100, (600, "/"), image: 300)?.contains("share /, which has 600 MiB free") == true)
    }

    func testAnImageTheHostHasNeedsNoRoom() {
        XCTAssertNil(problem((200, "/"), backup: 100, nil, image: 0))
        XCTAssertNil(problem((200, "/"), backup: 100, (0, "/"), image: 0))
    }
}

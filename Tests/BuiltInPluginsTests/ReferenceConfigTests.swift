import BackupPlugin
import Foundation
import ImagePlugin
import SchemaPlugin
import SwapPlugin
import TMEOpsCore
import TMEOpsHosts
import TMEOpsTestSupport
import TransferPlugin
import ValidatePlugin
import XCTest

@testable import tmeops

/// The spec's reference tmeops.yml, decoded by the sections the built-in plugins own.
final class ReferenceConfigTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    func harness(_ arguments: [String] = [], environment: [String: String] = ["TMEOPS_DB_PASSWORD": "pr0d-Secret", "DEV_DB_PASSWORD": "dev-Secret"]) throws
        -> TestHarness
    {
        let harness = try TestHarness(environment: environment, arguments: arguments)
        try registerPlugins(into: harness.registry)
        try FileManager.default.copyItem(
            at: Self.fixtures.appendingPathComponent("reference-tmeops.yml"), to: harness.directory.appendingPathComponent("tmeops.yml"))
        return harness
    }

    func testTheReferenceFileDecodesAsIs() throws {
        let harness = try harness()
        let config = try harness.context.loadConfig(selecting: .all)
        XCTAssertEqual(config.app, "tme-portal")
        XCTAssertEqual(config.image, "tme-portal-server")
        XCTAssertEqual(config.environmentNames, ["development", "production"])

        let build = try XCTUnwrap(config.section(BuildConfig.self))
        XCTAssertEqual(build.platform, "linux/amd64")
        XCTAssertEqual(build.args, ["NODE_ENV": "production"])
        XCTAssertEqual(build.require, [".next/standalone"])
        XCTAssertEqual(build.forbid, ["**/*turbopack*"])
        XCTAssertEqual(config.section(MigrationsConfig.self)?.dir, "database/migrations")

        let development = try config.environment("development")
        XCTAssertEqual(development.section(DatabaseConfig.self)?.url, "postgresql://tme_user:dev-Secret@127.0.0.1:5434/tme_portal")

        let production = try config.environment("production")
        let ssh = try XCTUnwrap(production.section(SSHConfig.self))
        XCTAssertEqual([ssh.host, ssh.user, ssh.identity, ssh.knownHosts], ["192.168.97.149", "tme-user", "~/.ssh/id_ed25519", "~/.ssh/known_hosts"])
        XCTAssertEqual(ssh.port, 22)
        XCTAssertEqual(ssh.hostKeyPolicy, .strict)
        XCTAssertEqual(production.section(DockerConfig.self)?.socket, "/var/run/docker.sock")
        let app = try XCTUnwrap(production.section(AppContainerConfig.self))
        XCTAssertEqual(app.container, "tme-user-app-1")
        XCTAssertEqual(app.network, "tme-user_tme_network")
        XCTAssertEqual(app.publish.map(\.description), ["80:3000"])
        XCTAssertEqual(app.envFile, "/home/tme-user/.env")
        XCTAssertEqual(production.section(TestInstanceConfig.self)?.database, "tme_portal_test")
        let health = try XCTUnwrap(production.section(HealthConfig.self))
        XCTAssertEqual([health.port, health.attempts, health.expectStatus], [3000, 30, 200])
        XCTAssertEqual(health.interval.seconds, 2)
        let database = try XCTUnwrap(production.section(DatabaseConfig.self))
        XCTAssertEqual(database.container, "tme-user-postgres-1")
        XCTAssertEqual(database.password, "pr0d-Secret")
        let backups = try XCTUnwrap(production.section(BackupsConfig.self))
        XCTAssertEqual([backups.keepLast, backups.keepDaily, backups.keepWeekly, backups.keepMonthly], [4, 7, 4, 0])
        let validate = try XCTUnwrap(production.section(ValidateConfig.self))
        XCTAssertEqual(validate.logErrors.map(\.description), ["constraint", "revision_number", "urgency"])
        XCTAssertEqual(validate.smoke.map(\.name), ["home page"])
        let deploy = try XCTUnwrap(production.section(DeployConfig.self))
        XCTAssertEqual(deploy.strategy, "replace")
        XCTAssertEqual(deploy.keepReleases, 5)
        XCTAssertEqual(deploy.lockTTL.seconds, 1800)
    }

    /// An environment that does not say `protected` is protected when it is reached over ssh or its
    /// database.url names another machine; a local URL or a socket is not; the key always wins.
    func testRemoteDatabasesAreProtectedUnlessTheConfigSaysOtherwise() throws {
        let harness = try TestHarness()
        try registerPlugins(into: harness.registry)
        try harness.write(
            "tmeops.yml",
            """
            app: demo
            image: demo-server
            environments:
              managed:
                database: { url: "postgresql://app@db.example.com:5432/app?sslmode=require" }
              managed-open:
                protected: false
                database: { url: "postgresql://app@db.example.com/app" }
              local:
                database: { url: "postgresql://app@127.0.0.1:5434/app" }
              socket:
                database: { url: "postgresql://app@localhost/app" }
              server:
                ssh: { host: example.org, user: deploy }
              marked:
                protected: true
                database: { url: "postgresql://app@[::1]/app" }
            """)
        let config = try harness.context.loadConfig(selecting: .all)
        let protected = try ["managed", "managed-open", "local", "socket", "server", "marked"].filter {
            ProtectedConfig.isProtected(try config.environment($0))
        }
        XCTAssertEqual(protected, ["managed", "server", "marked"])
        XCTAssertTrue(ProtectedConfig.reason(try config.environment("managed"))?.contains("names the server db.example.com") == true)
    }

    func testDefaultsAreFilledIn() throws {
        let harness = try TestHarness()
        try registerPlugins(into: harness.registry)
        try harness.write(
            "tmeops.yml",
            """
            app: demo
            image: demo-server
            environments:
              production:
                ssh: { host: example.org, user: deploy }
                app: { container: demo-app-1 }
                health: {}
                backups: { dir: /srv/backups }
                deploy: {}
            """)
        let production = try harness.context.loadConfig(selecting: .all).environment("production")
        XCTAssertEqual(production.section(SSHConfig.self)?.port, 22)
        XCTAssertEqual(production.section(SSHConfig.self)?.hostKeyPolicy, .strict, "strict host-key checking by default")
        XCTAssertEqual(production.section(HealthConfig.self)?.path, "/api/health")
        XCTAssertEqual(production.section(BackupsConfig.self)?.keepLast, 4)
        XCTAssertEqual(production.section(DeployConfig.self)?.lockTTL.description, "30m")
        XCTAssertNil(production.section(DatabaseConfig.self))
    }

    func testPluginSectionsRejectBadValuesWithTheirLocation() throws {
        let cases: [(String, String)] = [
            (
                "ssh: { host: h, user: u, host_key_policy: yolo }",
                "tmeops.yml:5:47: environments.production.ssh.host_key_policy: 'yolo' is not a host key policy; use strict or accept-new"
            ),
            (
                "deploy: { strategy: blue-green }",
                "tmeops.yml:5:25: environments.production.deploy.strategy: 'blue-green' is not a strategy; use replace, proxy or swarm"
            ),
            (
                "backups: { dir: /b, keep_last: 0, keep_daily: 0, keep_weekly: 0 }",
                "tmeops.yml:5:36: environments.production.backups.keep_last: every keep rule is 0, so prune would delete every backup; keep at least one"
            ),
            (
                "database: { user: u }",
                "tmeops.yml:5:15: environments.production.database.container: set either url (a postgresql:// URL) or container, user and name"
            ),
            (
                "database: { container: pg, user: u, name: portal_production_eu_west_with_a_long_suffix_012 }",
                "tmeops.yml:5:47: environments.production.database.name: 'portal_production_eu_west_with_a_long_suffix_012' is 48 bytes; tmeops names its copies <name>_tmeops_previous and PostgreSQL cuts names at 63 bytes, so a database name may have at most 47"
            ),
            (
                "database: { url: 'postgresql://u@db/portal_production_eu_west_with_a_long_suffix_012?sslmode=require' }",
                "tmeops.yml:5:22: environments.production.database.url: 'portal_production_eu_west_with_a_long_suffix_012' is 48 bytes; tmeops names its copies <name>_tmeops_previous and PostgreSQL cuts names at 63 bytes, so a database name may have at most 47"
            ),
            ("app: { container: 'bad name' }", "tmeops.yml:5:23: environments.production.app.container: 'bad name' is not a valid Docker container name"),
            ("health: { expect_status: 9000 }", "tmeops.yml:5:30: environments.production.health.expect_status: 9000 is not an HTTP status"),
        ]
        for (section, expected) in cases {
            let harness = try TestHarness()
            try registerPlugins(into: harness.registry)
            try harness.write("tmeops.yml", "app: demo\nimage: demo-server\nenvironments:\n  production:\n    \(section)\n")
            XCTAssertThrowsError(try harness.context.loadConfig(selecting: .all), section) { error in
                XCTAssertEqual("\(error)", expected)
            }
        }
    }

    func testConfigShowRedactsEverySecret() async throws {
        let harness = try harness(["-e", "production"])
        try await ConfigShowCommand.parse(["-e", "production"]).run(harness.context)
        let text = harness.stdout.text
        XCTAssertFalse(text.contains("pr0d-Secret"), text)
        XCTAssertTrue(text.contains("password: '********'") || text.contains("password: ********"), text)
        XCTAssertTrue(text.contains("host: 192.168.97.149"), text)
        XCTAssertTrue(text.contains("lock_ttl: 30m"), text)

        let all = try self.harness([], environment: ["TMEOPS_DB_PASSWORD": "pr0d-Secret", "DEV_DB_PASSWORD": "dev-Secret"])
        all.options = try GlobalOptions.parse(["--json"])
        try await ConfigShowCommand.parse(["--json"]).run(all.context)
        XCTAssertFalse(all.stdout.text.contains("dev-Secret"), all.stdout.text)
        XCTAssertTrue(all.stdout.text.contains("postgresql://tme_user:********@127.0.0.1:5434/tme_portal"), all.stdout.text)
        let object = try JSONSerialization.jsonObject(with: Data(all.stdout.text.utf8)) as? [String: Any]
        XCTAssertEqual((object?["environments"] as? [String: Any])?.keys.sorted(), ["development", "production"])
    }
}

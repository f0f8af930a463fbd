import TMEOpsTestSupport
import XCTest

final class ConfigCommandTests: XCTestCase {
    let secrets = ["TMEOPS_DB_PASSWORD": "Sup3r-Secret-Pw"]

    func testCheckPassesOnAValidFile() throws {
        let project = try Project()
        try project.write("tmeops.yml", Project.config)
        let result = try project.tmeops("config", "check", environment: secrets)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "✓ tmeops.yml is valid: app tme-portal, image tme-portal-server; checked environment production\n")
    }

    /// A secret placed in app.env (docker inspect shows it) or build.args (the image history keeps it)
    /// is a warning naming the place and the secret's key, never its value.
    func testCheckWarnsWhereASecretWouldBeVisible() throws {
        let project = try Project()
        try project.write(
            "tmeops.yml",
            """
            app: tme-portal
            image: tme-portal-server
            build:
              args: { NPM_TOKEN: "${NPM_TOKEN}", NODE_VERSION: "20" }
            environments:
              production:
                ssh: { host: 192.168.97.149, user: tme-user }
                app:
                  container: tme-user-app-1
                  env: { NODE_ENV: production, DATABASE_URL: "postgresql://app:${DB_PASSWORD}@db:5432/app" }

            """)
        try project.write(".tmeops/secrets.env", "DB_PASSWORD=db-Pw-From-File\nNPM_TOKEN=npm-Token-123\n", mode: 0o600)
        let result = try project.tmeops("config", "check")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(
            result.stderr.contains("environments.production.app.env.DATABASE_URL holds the value of DB_PASSWORD from .tmeops/secrets.env"), result.stderr)
        XCTAssertTrue(result.stderr.contains("app.env_file"), result.stderr)
        XCTAssertTrue(result.stderr.contains("build.args.NPM_TOKEN holds the value of NPM_TOKEN"), result.stderr)
        XCTAssertFalse(result.stderr.contains("NODE_VERSION") || result.stderr.contains("NODE_ENV"), result.stderr)
        XCTAssertFalse(result.stderr.contains("db-Pw-From-File") || result.stderr.contains("npm-Token-123"), result.stderr)
        let json = try project.tmeops("config", "check", "--json")
        XCTAssertTrue(json.stdout.contains("\"warnings\""), json.stdout)

        // The same from a password manager's command (secrets.command) as from the file.
        try project.write(".tmeops/secrets.env", "DB_PASSWORD=db-Pw-From-File\n", mode: 0o600)
        let config = try String(contentsOf: project.directory.appendingPathComponent("tmeops.yml"), encoding: .utf8)
        try project.write("tmeops.yml", "secrets: { command: \"echo NPM_TOKEN=npm-Token-From-Vault\" }\n" + config)
        let vault = try project.tmeops("config", "check")
        XCTAssertEqual(vault.status, 0, vault.stderr)
        XCTAssertTrue(vault.stderr.contains("build.args.NPM_TOKEN holds the value of NPM_TOKEN from secrets.command"), vault.stderr)
        XCTAssertTrue(vault.stderr.contains("DATABASE_URL holds the value of DB_PASSWORD from .tmeops/secrets.env"), vault.stderr)
        XCTAssertFalse(vault.stderr.contains("npm-Token-From-Vault"), vault.stderr)
    }

    /// On several servers swapped with `replace`, a `batch_wait` shorter than nginx's default
    /// fail_timeout is a warning naming the key; unset, or on one server, nothing is said.
    func testCheckWarnsWhenBatchWaitIsShorterThanALoadBalancerNeeds() throws {
        let project = try Project()
        let config = """
            app: tme-portal
            image: tme-portal-server
            environments:
              production:
                ssh: { hosts: [10.0.0.11, 10.0.0.12], user: deploy }
                deploy: { batch: 1, batch_wait: 2s }

            """
        try project.write("tmeops.yml", config)
        let short = try project.tmeops("config", "check")
        XCTAssertEqual(short.status, 0, short.stderr)
        XCTAssertTrue(short.stderr.contains("environments.production.deploy.batch_wait is 2s"), short.stderr)
        XCTAssertTrue(short.stderr.contains("fail_timeout 10s"), short.stderr)
        try project.write("tmeops.yml", config.replacingOccurrences(of: ", batch_wait: 2s", with: ""))
        let unset = try project.tmeops("config", "check")
        XCTAssertFalse(unset.stderr.contains("batch_wait"), unset.stderr)
        try project.write("tmeops.yml", config.replacingOccurrences(of: "hosts: [10.0.0.11, 10.0.0.12]", with: "host: 10.0.0.11"))
        XCTAssertFalse(try project.tmeops("config", "check").stderr.contains("batch_wait"))
    }

    func testCheckReportsLocationAndSuggestionWithExitTwo() throws {
        let project = try Project()
        try project.write("tmeops.yml", Project.config.replacingOccurrences(of: "      user: tme-user", with: "      usr: tme-user"))
        let result = try project.tmeops("config", "check", environment: secrets)
        XCTAssertEqual(result.status, 2)
        XCTAssertEqual(result.stdout, "")
        XCTAssertEqual(result.stderr, "error: tmeops.yml:7:7: environments.production.ssh.usr: unknown key 'usr'; did you mean 'user'?\n")
    }

    func testCheckNamesAnUnsetVariable() throws {
        let project = try Project()
        try project.write("tmeops.yml", Project.config)
        let result = try project.tmeops("config", "check")
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.contains("environments.production.database.password: ${TMEOPS_DB_PASSWORD} is not set"), result.stderr)
    }

    func testCheckOfAMissingFileExitsTwo() throws {
        let result = try Project().tmeops("--config", "nowhere/tmeops.yml", "config", "check")
        XCTAssertEqual(result.status, 2)
        XCTAssertEqual(result.stderr, "error: nowhere/tmeops.yml: no such file; run `tmeops init` to create one, or pass --config PATH\n")
    }

    func testCheckOfAWrongTypeExitsTwo() throws {
        let project = try Project()
        try project.write("deploy.yml", Project.config.replacingOccurrences(of: "      user: tme-user", with: "      user: tme-user\n      port: [22]"))
        let result = try project.tmeops("config", "check", "--config", "deploy.yml", environment: secrets)
        XCTAssertEqual(result.status, 2)
        XCTAssertEqual(result.stderr, "error: deploy.yml:8:13: environments.production.ssh.port: expected a whole number, found a list\n")
    }

    func testShowRedactsSecretsFromTheEnvironmentAndTheSecretsFile() throws {
        let project = try Project()
        try project.write("tmeops.yml", Project.config + "  development:\n    database:\n      url: postgresql://dev:${DEV_DB_PASSWORD}@127.0.0.1:5434/dev\n")
        try project.write(".tmeops/secrets.env", "DEV_DB_PASSWORD=dev-Pw-From-File\n", mode: 0o600)
        let result = try project.tmeops("config", "show", environment: secrets)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertFalse(result.stdout.contains("Sup3r-Secret-Pw"), result.stdout)
        XCTAssertFalse(result.stdout.contains("dev-Pw-From-File"), result.stdout)
        XCTAssertTrue(result.stdout.contains("postgresql://dev:********@127.0.0.1:5434/dev"), result.stdout)
        XCTAssertTrue(result.stdout.contains("host_key_policy: strict"), result.stdout)

        let json = try project.tmeops("config", "show", "-e", "development", "--json", environment: secrets)
        XCTAssertEqual(json.status, 0, json.stderr)
        XCTAssertFalse(json.stdout.contains("dev-Pw-From-File"), json.stdout)
        XCTAssertTrue(json.stdout.contains("\"url\" : \"postgresql://dev:********@127.0.0.1:5434/dev\""), json.stdout)
    }

    func testSecretsNeverReachErrorsOrJSONLogs() throws {
        let project = try Project()
        try project.write("tmeops.yml", Project.config.replacingOccurrences(of: "name: tme_portal", with: "name: tme_portal\n      passwrd: x"))
        let result = try project.tmeops("--log-format", "json", "config", "check", environment: secrets)
        XCTAssertEqual(result.status, 2)
        let line = try JSONSerialization.jsonObject(with: Data(result.stderr.utf8)) as? [String: Any]
        XCTAssertEqual(line?["level"] as? String, "error")
        XCTAssertEqual(line?["command"] as? String, "check")
        XCTAssertEqual(
            line?["message"] as? String, "tmeops.yml:12:7: environments.production.database.passwrd: unknown key 'passwrd'; did you mean 'password'?")
    }

    func testEnvironmentFromTMEOPSENV() throws {
        let project = try Project()
        try project.write("tmeops.yml", Project.config)
        let result = try project.tmeops("config", "check", "--json", environment: ["TMEOPS_ENV": "prod"])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.contains("environment 'prod' is not defined; did you mean 'production'?"), result.stderr)
    }
}

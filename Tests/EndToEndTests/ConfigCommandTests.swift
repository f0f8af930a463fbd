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

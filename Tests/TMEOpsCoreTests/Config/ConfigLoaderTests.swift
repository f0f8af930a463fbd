import Foundation
import TMEOpsCore
import XCTest

final class ConfigLoaderTests: XCTestCase {
    let sections: [any ConfigSection.Type] = [TestSSH.self, TestDatabase.self, TestBuild.self]

    func load(
        _ yaml: String, env: [String: String] = [:], secrets: [String: String] = [:], selecting: EnvironmentSelection = .all,
        redactor: Redactor = Redactor()
    ) throws -> LoadedConfig {
        try ConfigLoader(sections: sections, processEnvironment: env, redactor: redactor)
            .load(yaml: yaml, displayPath: "tmeops.yml", url: URL(fileURLWithPath: "/tmp/tmeops.yml"), secrets: secrets, selecting: selecting)
    }

    func assertConfigError(
        _ yaml: String, env: [String: String] = [:], selecting: EnvironmentSelection = .all,
        _ expected: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try load(yaml, env: env, selecting: selecting), file: file, line: line) { error in
            guard let error = error as? ConfigError else { return XCTFail("not a ConfigError: \(error)", file: file, line: line) }
            XCTAssertEqual(error.description, expected, file: file, line: line)
            XCTAssertEqual(error.exitStatus, .usage, file: file, line: line)
        }
    }

    let valid = """
        app: tme-portal
        image: tme-portal-server
        build:
          context: .
          args: { NODE_ENV: production }
          interval: 2s
          publish: ["80:3000", "127.0.0.1:3001:3000"]
        environments:
          development:
            database:
              url: postgresql://tme_user:${DEV_DB_PASSWORD}@127.0.0.1:5434/tme_portal
          production:
            ssh:
              host: 192.168.97.149
              user: tme-user
            database:
              password: ${TMEOPS_DB_PASSWORD}
        """

    func testDecodesSectionsIntoTheirTypes() throws {
        let config = try load(valid, env: ["DEV_DB_PASSWORD": "devpw", "TMEOPS_DB_PASSWORD": "prodpw"])
        XCTAssertEqual(config.app, "tme-portal")
        XCTAssertEqual(config.image, "tme-portal-server")
        XCTAssertEqual(config.environmentNames, ["development", "production"])
        let build = try XCTUnwrap(config.section(TestBuild.self))
        XCTAssertEqual(build.args, ["NODE_ENV": "production"])
        XCTAssertEqual(build.interval, ConfigDuration(seconds: 2))
        XCTAssertEqual(build.publish?.map(\.description), ["80:3000", "127.0.0.1:3001:3000"])
        let production = try config.environment("production")
        XCTAssertEqual(production.section(TestSSH.self)?.port, 22, "default filled in")
        XCTAssertEqual(production.section(TestSSH.self)?.host, "192.168.97.149")
        XCTAssertEqual(production.section(TestDatabase.self)?.password, "prodpw")
        XCTAssertNil(production.section(TestBuild.self))
        XCTAssertEqual(
            try config.environment("development").section(TestDatabase.self)?.url,
            "postgresql://tme_user:devpw@127.0.0.1:5434/tme_portal")
    }

    func testUnknownKeyNamesFileLineColumnAndSuggests() {
        assertConfigError(
            """
            app: a
            image: b
            environments:
              production:
                ssh:
                  host: h
                  usr: deploy
            """, "tmeops.yml:7:7: environments.production.ssh.usr: unknown key 'usr'; did you mean 'user'?")
    }

    func testUnknownTopLevelKeyAndEnvironmentKeySuggest() {
        assertConfigError(
            "app: a\nimage: b\nbuidl: {}\nenvironments: {p: {}}\n",
            "tmeops.yml:3:1: buidl: unknown top-level key 'buidl'; did you mean 'build'?")
        assertConfigError(
            "app: a\nimage: b\nenvironments:\n  p:\n    databse: {}\n",
            "tmeops.yml:5:5: environments.p.databse: unknown key in an environment 'databse'; did you mean 'database'?")
    }

    func testUnknownKeyWithoutCloseMatchListsChoices() {
        assertConfigError(
            "app: a\nimage: b\nenvironments:\n  p:\n    ssh: {host: h, user: u, zzzzzzzz: 1}\n",
            "tmeops.yml:5:29: environments.p.ssh.zzzzzzzz: unknown key 'zzzzzzzz'; expected one of: host, port, user")
    }

    func testWrongTypeNamesTheValue() {
        assertConfigError(
            "app: a\nimage: b\nenvironments:\n  p:\n    ssh:\n      host: h\n      user: u\n      port: twenty-two\n",
            "tmeops.yml:8:13: environments.p.ssh.port: expected a whole number, found 'twenty-two'")
        assertConfigError(
            "app: a\nimage: b\nenvironments:\n  p:\n    ssh: [1, 2]\n",
            "tmeops.yml:5:10: environments.p.ssh: expected a mapping of keys to values, found a list")
    }

    func testSectionValidationIsLocated() {
        assertConfigError(
            "app: a\nimage: b\nenvironments:\n  p:\n    ssh: {host: h, user: u, port: 70000}\n",
            "tmeops.yml:5:35: environments.p.ssh.port: 70000 is not a TCP port (1-65535)")
        assertConfigError(
            "app: a\nimage: b\nbuild: {context: ., interval: soon}\nenvironments: {p: {}}\n",
            "tmeops.yml:3:31: build.interval: 'soon' is not a duration; write e.g. 2s, 500ms, 30m or 1h")
        assertConfigError(
            "app: a\nimage: b\nbuild: {context: ., publish: [\"80\"]}\nenvironments: {p: {}}\n",
            "tmeops.yml:3:31: build.publish[0]: '80' is not a port mapping; write HOST:CONTAINER such as 80:3000 (or IP:HOST:CONTAINER)")
    }

    func testMissingRequiredKeysNameTheKeyPath() {
        assertConfigError(
            "app: a\nimage: b\nenvironments:\n  production:\n    ssh:\n      host: h\n",
            "tmeops.yml:6:7: environments.production.ssh: missing required key 'user'")
        assertConfigError("image: b\nenvironments: {p: {}}\n", "tmeops.yml:1:1: missing required key 'app'")
        assertConfigError("app: a\nimage: b\n", "tmeops.yml:1:1: missing required key 'environments'; add at least one environment (see `tmeops init`)")
    }

    func testUnsetVariableIsNamed() {
        assertConfigError(
            valid, env: ["DEV_DB_PASSWORD": "x"],
            "tmeops.yml:17:17: environments.production.database.password: ${TMEOPS_DB_PASSWORD} is not set; export TMEOPS_DB_PASSWORD or add it to .tmeops/secrets.env"
        )
    }

    func testOnlyTheSelectedEnvironmentIsInterpolated() throws {
        // DEV_DB_PASSWORD is unset, but only production is selected.
        let config = try load(valid, env: ["TMEOPS_DB_PASSWORD": "p"], selecting: .named("production"))
        XCTAssertNotNil(config.environments["production"])
        XCTAssertNil(config.environments["development"])
    }

    func testUnknownEnvironmentSuggests() {
        assertConfigError(
            valid, env: ["TMEOPS_DB_PASSWORD": "p"], selecting: .named("prod"),
            "tmeops.yml: environments: environment 'prod' is not defined; did you mean 'production'? Environments here: development, production")
    }

    func testNamesTheServersStateFolderUsesCannotNameAnEnvironment() {
        for name in ["proxy", "lock", "journals", "releases.jsonl", "backup-production.sh"] {
            XCTAssertNotNil(ConfigLoader.reservedEnvironmentName(name), name)
        }
        for name in ["production", "staging", "eu.west-1", "proxy2", "locked"] {
            XCTAssertNil(ConfigLoader.reservedEnvironmentName(name), name)
        }
        XCTAssertThrowsError(try load("app: a\nimage: b\nenvironments:\n  proxy: {}\n")) { error in
            XCTAssertTrue("\(error)".contains("'proxy' cannot name an environment"), "\(error)")
        }
    }

    func testSecretsFileWinsAndIsRedacted() throws {
        let redactor = Redactor()
        let config = try load(
            valid, env: ["DEV_DB_PASSWORD": "from-env", "TMEOPS_DB_PASSWORD": "env-loses"],
            secrets: ["TMEOPS_DB_PASSWORD": "s3cret-from-file"], redactor: redactor)
        XCTAssertEqual(try config.environment("production").section(TestDatabase.self)?.password, "s3cret-from-file")
        XCTAssertEqual(
            redactor.redact("pw=s3cret-from-file url=postgresql://tme_user:from-env@h/db"),
            "pw=******** url=postgresql://tme_user:********@h/db")
    }

    func testSyntaxErrorIsLocated() {
        XCTAssertThrowsError(try load("app: a\nimage: [b\nenvironments: {}\n")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("tmeops.yml:"), text)
            XCTAssertTrue(text.contains("not valid YAML"), text)
        }
    }

    func testDuplicateKeysAreRejected() {
        XCTAssertThrowsError(try load("app: a\napp: b\nimage: c\nenvironments: {p: {}}\n")) { error in
            XCTAssertTrue("\(error)".contains("tmeops.yml:"), "\(error)")
            XCTAssertTrue("\(error)".contains("app"), "\(error)")
        }
    }

    func testMissingFileSaysWhatToDo() throws {
        let directory = FileManager.default.temporaryDirectory
        let loader = ConfigLoader(sections: sections, processEnvironment: [:], redactor: Redactor())
        XCTAssertThrowsError(try loader.load(path: "no-such-tmeops.yml", relativeTo: directory, selecting: .all)) { error in
            XCTAssertEqual("\(error)", "no-such-tmeops.yml: no such file; run `tmeops init` to create one, or pass --config PATH")
        }
    }

    func testSecretsEnvBesideTheConfigIsRead() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tmeops-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent(".tmeops"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data(valid.utf8).write(to: directory.appendingPathComponent("tmeops.yml"))
        try Data("# secrets\nDEV_DB_PASSWORD='dev pw'\nexport TMEOPS_DB_PASSWORD=prod-pw\n".utf8)
            .write(to: directory.appendingPathComponent(".tmeops/secrets.env"))
        let redactor = Redactor()
        let config = try ConfigLoader(sections: sections, processEnvironment: [:], redactor: redactor)
            .load(path: "tmeops.yml", relativeTo: directory, selecting: .all)
        XCTAssertEqual(try config.environment("production").section(TestDatabase.self)?.password, "prod-pw")
        XCTAssertEqual(redactor.redact("dev pw and prod-pw"), "******** and ********")
    }
}

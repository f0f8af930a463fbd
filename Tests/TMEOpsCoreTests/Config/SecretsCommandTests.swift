import Foundation
import TMEOpsCore
import XCTest

/// `secrets.command`: a local command's `KEY=value` output used like `.tmeops/secrets.env`, in memory only.
final class SecretsCommandTests: XCTestCase {
    let sections: [any ConfigSection.Type] = [TestSSH.self, TestDatabase.self, TestBuild.self]
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tmeops-secrets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func config(command: String) -> String {
        """
        app: tme-portal
        image: tme-portal-server
        secrets:
          command: \(command)
        environments:
          production:
            database:
              password: ${TMEOPS_DB_PASSWORD}
        """
    }

    func load(_ yaml: String, secrets: [String: String] = [:], redactor: Redactor = Redactor()) throws -> LoadedConfig {
        try ConfigLoader(sections: sections, processEnvironment: ["PATH": "/usr/bin:/bin"], redactor: redactor)
            .load(yaml: yaml, displayPath: "tmeops.yml", url: folder.appendingPathComponent("tmeops.yml"), secrets: secrets, selecting: .all)
    }

    func testTheCommandsOutputIsInterpolatedRedactedAndAskedOncePerProcess() throws {
        // The command runs in the config's folder; each run leaves a mark, so the count of runs is seen.
        let yaml = config(command: ##"'echo run >> runs; printf "# from the vault\nTMEOPS_DB_PASSWORD=\"v@ult-Secret\"\n"'"##)
        let redactor = Redactor()
        let config = try load(yaml, redactor: redactor)
        XCTAssertEqual(try config.environment("production").section(TestDatabase.self)?.password, "v@ult-Secret")
        XCTAssertFalse(redactor.redact("password v@ult-Secret here").contains("v@ult-Secret"))
        _ = try load(yaml)
        XCTAssertEqual(try String(contentsOf: folder.appendingPathComponent("runs"), encoding: .utf8), "run\n", "asked once, then held in memory")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["runs"], "nothing of the secrets written to disk")
    }

    func testAListRunsAsWordsWithoutAShell() throws {
        let config = try load(config(command: #"["printf", "TMEOPS_DB_PASSWORD=a b;c\n"]"#))
        XCTAssertEqual(try config.environment("production").section(TestDatabase.self)?.password, "a b;c")
    }

    func testAFailingCommandIsAnErrorAtItsKeyWithNoValueShown() throws {
        XCTAssertThrowsError(try load(config(command: #"'printf "TMEOPS_DB_PASSWORD=half\n"; exit 7'"#))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("secrets.command") && text.contains("exited with status 7"), text)
        }
        // A line that is not KEY=value is named by its number, its text never shown.
        XCTAssertThrowsError(try load(config(command: #"'echo bm90LWEtcGFpcgo= | base64 -d'"#))) { error in
            XCTAssertTrue("\(error)".contains("secrets.command: line 1 of the output of"), "\(error)")
            XCTAssertFalse("\(error)".contains("not-a-pair"), "\(error)")
        }
        // A bare token with base64 padding: the text before '=' would be nearly all of it.
        XCTAssertThrowsError(try load(config(command: #"'echo czNjcjN0LXQwazNuPT0K | base64 -d'"#))) { error in
            XCTAssertTrue("\(error)".contains("is not KEY=value"), "\(error)")
            XCTAssertFalse("\(error)".contains("s3cr3t"), "\(error)")
        }
        XCTAssertThrowsError(try load(config(command: #"'printf "TMEOPS_DB_PASSWORD=x\n"'"#), secrets: ["TMEOPS_DB_PASSWORD": "y"])) { error in
            XCTAssertTrue("\(error)".contains("TMEOPS_DB_PASSWORD comes from both .tmeops/secrets.env and secrets.command"), "\(error)")
        }
        XCTAssertThrowsError(try load(config(command: "''"))) { error in
            XCTAssertTrue("\(error)".contains("secrets.command: expected a command"), "\(error)")
        }
    }
}

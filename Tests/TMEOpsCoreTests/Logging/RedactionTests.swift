import Foundation
import Logging
import TMEOpsCore
import XCTest

final class RedactionTests: XCTestCase {
    func testMasksSecretsAndURLPasswords() {
        let redactor = Redactor(secrets: ["hunter22"])
        XCTAssertEqual(redactor.redact("password hunter22, again hunter22"), "password ********, again ********")
        XCTAssertEqual(
            redactor.redact("postgresql://tme_user:pa55@db:5432/x and postgres://u:w@h"),
            "postgresql://tme_user:********@db:5432/x and postgres://u:********@h")
        XCTAssertEqual(redactor.redact("https://host/path?user=a:b@c"), "https://host/path?user=a:b@c", "only the authority is userinfo")
        XCTAssertEqual(redactor.redact("postgresql://user@host/db"), "postgresql://user@host/db")
    }

    func testLongerSecretsAreMaskedWhole() {
        let redactor = Redactor(secrets: ["abc", "abcdef"])
        XCTAssertEqual(redactor.redact("abcdef"), "********")
    }

    func testSecretNames() {
        XCTAssertTrue(Redactor.isSecretName("password"))
        XCTAssertTrue(Redactor.isSecretName("TMEOPS_DB_PASSWORD"))
        XCTAssertTrue(Redactor.isSecretName("api_token"))
        XCTAssertFalse(Redactor.isSecretName("host"))
    }

    func testHumanLogLinesAreRedacted() {
        let sink = BufferSink()
        let redactor = Redactor(secrets: ["s3cr3t"])
        var logger = Logger(label: "t") { _ in HumanLogHandler(sink: sink, redactor: redactor, level: .debug, color: false) }
        logger[metadataKey: LogField.step] = "backup"
        logger.info("connecting with s3cr3t", metadata: ["url": "postgresql://u:s3cr3t@h/db"])
        logger.error("failed: s3cr3t")
        logger.trace("not shown at debug")
        XCTAssertEqual(sink.text, "[backup] connecting with ******** url=postgresql://u:********@h/db\nerror: [backup] failed: ********\n")
    }

    func testJSONLogLinesCarryContextAndAreRedacted() throws {
        let sink = BufferSink()
        let redactor = Redactor(secrets: ["s3cr3t"])
        var logger = Logger(label: "t") { _ in
            JSONLogHandler(sink: sink, redactor: redactor, level: .info, clock: { Date(timeIntervalSince1970: 0) })
        }
        logger[metadataKey: LogField.plugin] = "backup"
        logger[metadataKey: LogField.command] = "create"
        logger[metadataKey: LogField.environment] = "production"
        logger.warning("token s3cr3t seen", metadata: [LogField.step: "dump", "bytes": "42", "dsn": "postgres://a:s3cr3t@h"])
        let line = try XCTUnwrap(sink.text.split(separator: "\n").first)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(object["time"] as? String, "1970-01-01T00:00:00.000Z")
        XCTAssertEqual(object["level"] as? String, "warning")
        XCTAssertEqual(object["plugin"] as? String, "backup")
        XCTAssertEqual(object["command"] as? String, "create")
        XCTAssertEqual(object["environment"] as? String, "production")
        XCTAssertEqual(object["step"] as? String, "dump")
        XCTAssertEqual(object["message"] as? String, "token ******** seen")
        XCTAssertEqual(object["metadata"] as? [String: String], ["bytes": "42", "dsn": "postgres://a:********@h"])
        XCTAssertFalse(sink.text.contains("s3cr3t"))
    }

    func testErrorsAreReportedRedactedWithTheirExitCode() throws {
        let harness = try TestHarnessLite()
        harness.redactor.add("topsecret")
        let error = harness.context.report(TMEOpsError("cannot log in with topsecret", exitStatus: .checkFailed))
        XCTAssertEqual("\(error)", "ExitCode(rawValue: 3)")
        XCTAssertEqual(harness.stderr.text, "error: cannot log in with ********\n")
    }

    func testOutputIsRedacted() throws {
        let sink = BufferSink()
        let output = Output(sink: sink, redactor: Redactor(secrets: ["pw1234"]), json: true)
        output.line("a pw1234")
        try output.writeJSON(["url": "postgresql://u:pw1234@h/d"])
        XCTAssertFalse(sink.text.contains("pw1234"))
        XCTAssertTrue(sink.text.contains("a ********"))
    }
}

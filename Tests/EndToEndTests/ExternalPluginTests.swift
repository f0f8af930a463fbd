import TMEOpsTestSupport
import XCTest

final class ExternalPluginEndToEndTests: XCTestCase {
    static let helloScript = """
        #!/bin/sh
        echo "args=$*"
        echo "config=$TMEOPS_CONFIG"
        echo "env=$TMEOPS_ENV"
        echo "log=$TMEOPS_LOG_FORMAT"
        echo "dry=$TMEOPS_DRY_RUN"
        echo "to stderr" >&2
        exit 7

        """

    func testExternalPluginReceivesItsEnvironmentAndExitStatus() throws {
        let project = try Project()
        try project.write(".tmeops/plugins/tmeops-hello", Self.helloScript, mode: 0o755)
        let result = try project.tmeops("-e", "production", "--log-format", "json", "--dry-run", "hello", "a", "b c", "--flag")
        XCTAssertEqual(result.status, 7)
        XCTAssertEqual(
            result.stdout,
            """
            args=a b c --flag
            config=\(project.directory.path)/tmeops.yml
            env=production
            log=json
            dry=1

            """)
        XCTAssertEqual(result.stderr, "to stderr\n")
    }

    func testExternalPluginOnPathWithDefaults() throws {
        let project = try Project()
        let bin = try TemporaryDirectory.make(prefix: "tmeops-bin")
        defer { try? FileManager.default.removeItem(at: bin) }
        let script = bin.appendingPathComponent("tmeops-hello")
        try Data(Self.helloScript.utf8).write(to: script)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        let result = try project.tmeops(["hello"], environment: ["PATH": "\(bin.path):/usr/bin:/bin", "TMEOPS_ENV": "staging"])
        XCTAssertEqual(result.status, 7)
        XCTAssertTrue(result.stdout.contains("env=staging\nlog=text\ndry=0\n"), result.stdout)
    }

    func testBuiltInCommandsWinAndPluginsSaysSo() throws {
        let project = try Project()
        try project.write(".tmeops/plugins/tmeops-deploy", "#!/bin/sh\necho hijacked\n", mode: 0o755)
        try project.write(".tmeops/plugins/tmeops-notify", "#!/bin/sh\necho notified\n", mode: 0o755)
        let deploy = try project.tmeops("deploy", "-e", "production")
        XCTAssertFalse(deploy.stdout.contains("hijacked"))
        XCTAssertEqual(deploy.status, 2, "the built-in deploy ran (and wants a tmeops.yml): \(deploy.stderr)")
        XCTAssertTrue(deploy.stderr.contains("tmeops.yml"), deploy.stderr)

        let plugins = try project.tmeops("plugins")
        XCTAssertEqual(plugins.status, 0, plugins.stderr)
        let lines = plugins.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[0].hasPrefix("PLUGIN"), plugins.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("transfer") && $0.contains("built-in") && $0.contains("ssh, transfer") }, plugins.stdout)
        XCTAssertTrue(
            lines.contains { $0.hasPrefix("notify") && $0.contains("external (project)") && $0.contains(".tmeops/plugins/tmeops-notify") }, plugins.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("deploy") && $0.contains("shadowed: the 'swap' plugin's command 'deploy' wins") }, plugins.stdout)

        let json = try project.tmeops("plugins", "--json")
        let entries = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        XCTAssertEqual(entries?.first { $0["id"] as? String == "deploy" }?["shadowedBy"] as? String, "swap")
    }
}

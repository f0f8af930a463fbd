import XCTest

@testable import TMEOpsCore

/// `config check`'s warning for environments that share a server, a login, backups.dir and a
/// database name (no sandbox).
final class SharedBackupsWarningTests: XCTestCase {
    func environment(host: String, user: String = "deploy", dir: String = "/srv/backups", database: String) -> [String: Any] {
        ["ssh": ["host": host, "user": user], "backups": ["dir": dir], "database": ["name": database]]
    }

    func testOnlyEnvironmentsSharingAllFourAreNamed() {
        let environments: [String: Any] = [
            "production": environment(host: "app.example", database: "portal"),
            "staging": environment(host: "app.example", database: "portal"),
            "preview": environment(host: "app.example", database: "portal_preview"),
            "other-login": environment(host: "app.example", user: "ops", database: "portal"),
            "other-dir": environment(host: "app.example", dir: "/srv/staging-backups", database: "portal"),
            "elsewhere": environment(host: "db.example", database: "portal"),
            "by-url": [
                "ssh": ["hosts": ["app.example"], "user": "deploy"], "backups": ["dir": "/srv/backups"], "database": ["url": "postgresql://u@x/portal"],
            ],
        ]
        let warnings = ConfigCheckCommand.sharedBackups(
            environments: environments, order: ["production", "staging", "preview", "other-login", "other-dir", "elsewhere", "by-url"], file: "tmeops.yml")
        XCTAssertEqual(warnings.count, 3, "\(warnings)")
        XCTAssertTrue(
            warnings[0].hasPrefix(
                "tmeops.yml: environments production and staging share the server app.example, its login deploy, backups.dir /srv/backups and the database name portal"
            ), warnings[0])
        XCTAssertTrue(warnings[1].contains("environments production and by-url"), warnings[1])
        XCTAssertTrue(warnings[2].contains("environments staging and by-url"), warnings[2])
        XCTAssertEqual(
            ConfigCheckCommand.sharedBackups(environments: ["a": ["ssh": ["host": "h"]]], order: ["a"], file: "x"), [], "incomplete blocks are not compared")
    }
}

import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsTestSupport
import XCTest

@testable import BackupPlugin
@testable import tmeops

final class BackupScheduleSerial: XCTestCase {

    /// Installs the schedule on the sandbox host (a crontab line: the host has no systemd user manager),
    /// runs the job as cron would, and reads its backup back with `backup list` and `backup verify`.
    func testTheScheduledJobWritesTheSameLayoutAndIsRemovable() async throws {
        let sandbox = try Sandbox.require()
        let user = sandbox["SANDBOX_SSH_USER"]
        let harness = try TestHarness(environment: [
            "HOME": NSHomeDirectory(), "TMEOPS_TEMPLATES": TMEOpsBinary.packageRoot.appendingPathComponent("Templates").path,
        ])
        try registerPlugins(into: harness.registry)
        try harness.writeSandboxConfig()
        let dir = "/home/\(user)/backups-scheduled-\(UUID().uuidString.prefix(6))"
        let config = harness.directory.appendingPathComponent("tmeops.yml")
        try Data(try String(contentsOf: config, encoding: .utf8).replacingOccurrences(of: "dir: /home/tme-user/backups", with: "dir: \(dir)").utf8).write(
            to: config)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }

        try await harness.run(BackupScheduleCommand.parse(["-e", "sandbox", "--at", "Sun 03:00", "--dry-run"]))
        XCTAssertTrue(harness.stdout.text.contains("OnCalendar=Sun *-*-* 03:00:00"), harness.stdout.text)
        XCTAssertTrue(
            harness.stdout.text.contains(#"0 3 * * 0 "$HOME"/.tmeops/tme-portal/backup-sandbox.sh # tmeops-backup-tme-portal-sandbox"#), harness.stdout.text)
        harness.stdout.clear()

        try await harness.run(BackupScheduleCommand.parse(["-e", "sandbox", "--at", "Sun 03:00"]))
        XCTAssertTrue(harness.stdout.text.contains("(crontab)"), harness.stdout.text)
        let crontab = try ProcessRunner.run("/usr/bin/crontab", ["-l", "-u", user])
        XCTAssertTrue(crontab.stdout.contains("# tmeops-backup-tme-portal-sandbox"), crontab.stdout + crontab.stderr)

        // Another environment's schedule whose name starts with this one's.
        let other = #"0 4 * * * "$HOME"/.tmeops/tme-portal/backup-sandbox-eu.sh # tmeops-backup-tme-portal-sandbox-eu"#
        let planted = try ProcessRunner.run(
            "/usr/sbin/runuser", ["-u", user, "--", "sh", "-c", #"(crontab -l; printf '%s\n' "$1") | crontab -"#, "sh", other])
        XCTAssertEqual(planted.status, 0, planted.stderr)
        addTeardownBlock { _ = try? ProcessRunner.run("/usr/bin/crontab", ["-r", "-u", user]) }
        try await harness.run(BackupScheduleCommand.parse(["-e", "sandbox", "--at", "Sun 03:00"]))
        let both = try ProcessRunner.run("/usr/bin/crontab", ["-l", "-u", user]).stdout
        XCTAssertTrue(both.contains(other), "installing again keeps the other environment's line: \(both)")
        XCTAssertEqual(both.components(separatedBy: "# tmeops-backup-tme-portal-sandbox\n").count, 2, "and keeps one line of its own: \(both)")

        // The job runs the way cron runs its line: through sh, from the user's home.
        let line = try XCTUnwrap(both.split(separator: "\n").first { $0.hasSuffix("# tmeops-backup-tme-portal-sandbox") })
        let command = line.split(separator: " ", maxSplits: 5).last.map(String.init) ?? ""
        let job = try ProcessRunner.run("/usr/sbin/runuser", ["-u", user, "--", "sh", "-c", "cd && \(command)"])
        XCTAssertEqual(job.status, 0, job.stderr)
        harness.stdout.clear()
        try await harness.run(BackupListCommand.parse(["-e", "sandbox"]))
        XCTAssertTrue(harness.stdout.text.contains("-scheduled  "), harness.stdout.text)
        XCTAssertTrue(harness.stdout.text.contains("(scheduled)"), harness.stdout.text)
        XCTAssertTrue(harness.stdout.text.contains("scheduled job, last run: "), harness.stdout.text)
        harness.stdout.clear()
        try await harness.run(BackupVerifyCommand.parse(["latest", "-e", "sandbox"]))
        XCTAssertTrue(harness.stdout.text.contains("none recorded (a scheduled backup)"), harness.stdout.text)
        XCTAssertTrue(harness.stdout.text.contains("is restorable"), harness.stdout.text)

        harness.stdout.clear()
        try await harness.run(BackupScheduleCommand.parse(["-e", "sandbox", "--remove"]))
        let left = try ProcessRunner.run("/usr/bin/crontab", ["-l", "-u", user]).stdout
        XCTAssertFalse(left.contains("# tmeops-backup-tme-portal-sandbox\n"), left)
        XCTAssertTrue(left.contains(other), "removing one environment's schedule never removes another's: \(left)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/home/\(user)/.tmeops/tme-portal/backup-sandbox.sh"))
    }
}

/// The schedule's times (no sandbox).
final class BackupScheduleTimesTests: XCTestCase {
    func testTimesParse() throws {
        XCTAssertEqual(try BackupSchedule.parse("Sun 03:00").onCalendar, "Sun *-*-* 03:00:00")
        XCTAssertEqual(try BackupSchedule.parse("Sun 03:00").cron, "0 3 * * 0")
        XCTAssertEqual(try BackupSchedule.parse("daily 02:30").cron, "30 2 * * *")
        XCTAssertEqual(try BackupSchedule.parse("23:05").onCalendar, "*-*-* 23:05:00")
        XCTAssertThrowsError(try BackupSchedule.parse("Sunday 25:00"))
        XCTAssertThrowsError(try BackupSchedule.parse("Someday 03:00"))
    }
}

import Foundation
import TMEOpsCore
import XCTest

@testable import BackupPlugin

final class RetentionPolicyTests: XCTestCase {
    func backup(_ time: String, id: String? = nil, verified: Bool? = nil) -> BackupMetadata {
        let date = BackupMetadata.parseTime(time)!
        return BackupMetadata(
            id: id ?? BackupMetadata.makeID(at: date, label: nil), file: "x.dump", database: "db", serverVersion: 150000, format: "custom",
            compression: nil, size: 1, sha256: "", durationMs: 0, label: nil, createdAt: time, tmeopsVersion: "t", schemaHash: nil, tableRows: [:],
            source: "tmeops backup create", verified: verified.map { .init(at: time, method: "restore", ok: $0, detail: "") })
    }

    let now = BackupMetadata.parseTime("2026-11-26T12:00:00Z")!

    func testResticSemanticsNewestOfEachDayWeekAndMonthRulesOred() {
        let backups = [
            backup("2026-11-26T10:00:00Z"), backup("2026-11-26T03:00:00Z"),  // two on one day: the newest counts for daily
            backup("2026-11-25T03:00:00Z"), backup("2026-11-18T03:00:00Z"), backup("2026-11-11T03:00:00Z"),
            backup("2026-10-20T03:00:00Z"), backup("2026-09-20T03:00:00Z"),
        ]
        let decisions = RetentionPolicy(last: 1, daily: 2, weekly: 2, monthly: 2).decide(backups, pinned: [:], now: now)
        let kept = Dictionary(uniqueKeysWithValues: decisions.map { ($0.id, $0.reasons) })
        XCTAssertEqual(kept["20261126-100000"], ["last 1", "daily 2026-11-26", "weekly 2026-W48", "monthly 2026-11"])
        XCTAssertEqual(kept["20261126-030000"], ["no rule keeps it"])
        XCTAssertEqual(kept["20261125-030000"], ["daily 2026-11-25"])
        XCTAssertEqual(kept["20261118-030000"], ["weekly 2026-W47"])
        XCTAssertEqual(kept["20261111-030000"], ["no rule keeps it"])
        XCTAssertEqual(kept["20261020-030000"], ["monthly 2026-10"])
        XCTAssertEqual(kept["20260920-030000"], ["no rule keeps it"])
        XCTAssertEqual(decisions.filter(\.keep).count, 4)
    }

    func testVerifiedPinnedAndUntrustworthyBackupsAreNeverRemoved() {
        let backups = [
            backup("2026-11-26T10:00:00Z"), backup("2026-11-20T03:00:00Z", verified: true), backup("2026-11-19T03:00:00Z", verified: true),
            backup("2026-11-10T03:00:00Z"), backup("2026-12-30T03:00:00Z"),  // a host clock a month ahead
            backup("2026-11-01T03:00:00Z", id: "20261125-030000-skewed"),
        ]
        let decisions = RetentionPolicy(last: 1, daily: 0, weekly: 0, monthly: 0).decide(backups, pinned: ["20261110-030000": "r-7"], now: now)
        let kept = Dictionary(uniqueKeysWithValues: decisions.map { ($0.id, $0.reasons) })
        XCTAssertEqual(kept["20261230-030000"], ["last 1", "dated in the future (check the host's clock)"])
        XCTAssertEqual(kept["20261126-100000"], ["no rule keeps it"])
        XCTAssertEqual(kept["20261120-030000"], ["newest verified backup"])
        XCTAssertEqual(kept["20261119-030000"], ["no rule keeps it"], "only the newest verified one is protected")
        XCTAssertEqual(kept["20261110-030000"], ["pinned by release r-7"])
        XCTAssertEqual(kept["20261125-030000-skewed"], ["its name and created_at disagree by more than an hour (clock skew?)"])
    }

    func testIDsAndTheirTimes() {
        let date = BackupMetadata.parseTime("2026-11-26T05:04:03Z")!
        XCTAssertEqual(BackupMetadata.makeID(at: date, label: "Pre Deploy!"), "20261126-050403-pre-deploy")
        XCTAssertEqual(BackupMetadata.makeID(at: date, label: "../../etc"), "20261126-050403-etc")
        XCTAssertEqual(BackupMetadata.timeInID("20261126-050403-pre-deploy"), date)
    }

    /// A backup counts for an environment only when it is of its database and (where recorded) made
    /// for it: staging beside production in one backups folder never prunes or restores the other's.
    func testABackupBelongsToItsDatabaseAndEnvironment() {
        var backup = self.backup("2026-12-01T00:00:00Z")
        backup.database = "portal"
        backup.environment = "production"
        XCTAssertTrue(backup.belongs(toDatabase: "portal", environment: "production"))
        XCTAssertFalse(backup.belongs(toDatabase: "portal", environment: "staging"), "the same database name, another environment")
        XCTAssertFalse(backup.belongs(toDatabase: "portal_staging", environment: "production"))
        backup.environment = nil
        XCTAssertTrue(backup.belongs(toDatabase: "portal", environment: "staging"), "from before environments were recorded: its database's")
        XCTAssertFalse(backup.belongs(toDatabase: "portal_staging", environment: "staging"))
    }
}

import TMEOpsCore
import TMEOpsHosts
import XCTest

@testable import SwapPlugin

/// Which release and which backup `rollback` picks, from the ledger alone.
final class RollbackChoiceTests: XCTestCase {
    func release(_ id: String, image: String, previous: String? = nil, previousImage: String? = nil, backup: String? = nil, outcome: String = "deployed")
        -> RemoteState.Release
    {
        RemoteState.Release(
            id: id, image: "app:\(id)", imageID: image, previous: previous, previousImageID: previousImage, backup: backup, migrations: [], steps: [:],
            unavailableSeconds: nil, operatorName: "ops", message: "", outcome: outcome, at: "2026-12-01T10:00:00Z", detail: nil)
    }

    func testTheLastReleaseThatServedOnAnotherImageIsChosen() throws {
        let ledger = [
            release("r1", image: "sha256:1", previousImage: "sha256:0", backup: "b1"),
            release("r2", image: "sha256:2", previous: "r1", previousImage: "sha256:1", backup: "b2"),
            release("r3", image: "sha256:3", previous: "r2", previousImage: "sha256:2", backup: "b3", outcome: "failed"),
            release("r4", image: "sha256:4", previous: "r2", previousImage: "sha256:2", backup: "b4"),
        ]
        let chosen = try RollbackChoice.destination(wanted: nil, releases: ledger, currentImageID: "sha256:4", environment: "production")
        XCTAssertEqual(chosen.id, "r2", "a failed release is never returned to")
        XCTAssertEqual(RollbackChoice.databaseBackup(for: chosen, releases: ledger), "b3", "the backup taken when r2 was first replaced")
        // Production already runs r2's image (a rollback happened): the one before it.
        XCTAssertEqual(try RollbackChoice.destination(wanted: nil, releases: ledger, currentImageID: "sha256:2", environment: "production").id, "r4")
        XCTAssertEqual(try RollbackChoice.destination(wanted: "r3", releases: ledger, currentImageID: "sha256:4", environment: "production").id, "r3")
    }

    func testTheImageBeforeTheFirstReleaseIsTheLastResort() throws {
        let ledger = [release("r1", image: "sha256:1", previousImage: "sha256:0", backup: "b1")]
        let chosen = try RollbackChoice.destination(wanted: nil, releases: ledger, currentImageID: "sha256:1", environment: "production")
        XCTAssertEqual(chosen.id, "before-r1")
        XCTAssertEqual(chosen.imageID, "sha256:0")
        XCTAssertEqual(RollbackChoice.databaseBackup(for: chosen, releases: ledger), "b1")
        XCTAssertNil(RollbackChoice.databaseBackup(for: ledger[0], releases: ledger), "nothing replaced r1 yet")
    }

    func testNothingToReturnToAndAnUnknownNameAreNamed() {
        let ledger = [release("r1", image: "sha256:1")]
        XCTAssertThrowsError(try RollbackChoice.destination(wanted: nil, releases: ledger, currentImageID: "sha256:1", environment: "staging")) {
            XCTAssertEqual("\($0)", "there is no earlier release to roll back to on staging (the ledger has 1 entries)")
        }
        XCTAssertThrowsError(try RollbackChoice.destination(wanted: "r9", releases: ledger, currentImageID: "sha256:1", environment: "staging")) {
            XCTAssertTrue("\($0)".contains("no release r9 in the ledger of staging"), "\($0)")
        }
    }
}

/// Which release tags and backup pins a deploy's clean-up drops, from the ledger alone.
final class CleanupChoiceTests: XCTestCase {
    func testReleasesBeyondKeepReleasesLoseTheirTagAndPinCountingOnlyDeployedOnes() {
        let make = { (id: String, backup: String?, outcome: String) in
            RemoteState.Release(
                id: id, image: "app:\(id)", imageID: "sha256:\(id)", previous: nil, previousImageID: nil, backup: backup, migrations: [], steps: [:],
                unavailableSeconds: nil, operatorName: "ops", message: "", outcome: outcome, at: "2026-12-01T10:00:00Z", detail: nil)
        }
        let ledger = [make("r1", "b1", "deployed"), make("r2", "b2", "failed"), make("r3", nil, "deployed"), make("r4", "b4", "rollback")]
        let new = make("r5", "b5", "deployed")
        let two = CleanupChoice.dropped(ledger: ledger, new: new, keep: 2, image: "app")
        XCTAssertEqual(two.tags, ["app:r1"], "r3 and the new r5 are kept; a failed or rollback entry is not counted")
        XCTAssertEqual(two.backups, ["b1"])
        let one = CleanupChoice.dropped(ledger: ledger, new: new, keep: 1, image: "app")
        XCTAssertEqual(one.tags, ["app:r1", "app:r3"])
        XCTAssertEqual(one.backups, ["b1"], "r3 had no backup")
        XCTAssertEqual(CleanupChoice.dropped(ledger: [], new: new, keep: 5, image: "app").tags, [])
    }
}

/// The deploy's other decisions that need no host: the proxy's configuration, and the guard that keeps
/// the test instance off production's database.
final class DeployDecisionTests: XCTestCase {
    func testTheProxyForwardsEachContainerPortOnceToTheReleaseAlias() throws {
        let publish = [try PortMapping(parsing: "80:3000"), try PortMapping(parsing: "8080:3000"), try PortMapping(parsing: "9090:9000")]
        let conf = DeployTarget.proxyConfig(upstream: "tme-portal-r-1", publish: publish)
        XCTAssertEqual(conf.components(separatedBy: "listen 3000;").count, 2, "one server per container port: \(conf)")
        XCTAssertTrue(conf.contains("listen 9000;"), conf)
        XCTAssertTrue(conf.contains("proxy_pass http://tme-portal-r-1:3000;"), conf)
        XCTAssertTrue(conf.contains("proxy_pass http://tme-portal-r-1:9000;"), conf)
        XCTAssertTrue(conf.contains("add_header X-Tmeops-Upstream tme-portal-r-1 always;"), conf)
        XCTAssertTrue(conf.contains("pid /tmp/nginx.pid;"), "the proxy runs as a user that cannot write /run: \(conf)")
    }

    func testTheTestInstanceDatabaseIsNeverTheEnvironmentsOwn() {
        XCTAssertTrue(DeployTarget.isOwnDatabase("tme_portal", name: "tme_portal", url: nil))
        XCTAssertTrue(DeployTarget.isOwnDatabase("tme_portal", name: nil, url: "postgresql://u:p@db:5432/tme_portal"))
        XCTAssertFalse(DeployTarget.isOwnDatabase("tme_portal_test", name: "tme_portal", url: nil))
        XCTAssertFalse(DeployTarget.isOwnDatabase("tme_portal", name: "other", url: "postgresql://u:p@db:5432/tme_portal"), "the name wins over the URL")
        XCTAssertFalse(DeployTarget.isOwnDatabase("tme_portal", name: nil, url: nil))
    }
}

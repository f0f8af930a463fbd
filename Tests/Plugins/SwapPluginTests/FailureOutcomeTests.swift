import TMEOpsCore
import TMEOpsDocker
import XCTest

@testable import SwapPlugin

/// How a failed deploy ends, for every combination of what happened (no host needed).
final class FailureOutcomeTests: XCTestCase {
    func testTheExitStatusLedgerOutcomeJournalsAndHookForEveryEnding() {
        // (production, partly migrated, several hosts) → (exit, ledger, journals kept, post-rollback hook)
        let table: [((ProductionAfterFailure, Bool, Bool), (ExitStatus, String, Bool, Bool))] = [
            ((.unchanged, false, false), (.failure, "failed", false, false)),
            ((.unchanged, false, true), (.failure, "failed", false, false)),
            ((.putBack, false, false), (.rolledBack, "rolled back", false, true)),
            ((.putBack, false, true), (.rolledBack, "rolled back", false, true)),
            ((.notRestored, false, false), (.notRestored, "not restored", false, true)),
            ((.notRestored, false, true), (.notRestored, "not restored", true, true)),
            ((.putBack, true, false), (.rolledBack, "partly migrated", false, false)),
            ((.notRestored, true, true), (.notRestored, "partly migrated", false, false)),
            ((.unchanged, true, true), (.failure, "partly migrated", false, false)),
        ]
        for ((production, partly, several), (exit, ledger, keeps, hook)) in table {
            let ending = FailureOutcome(production: production, migrationsPartlyApplied: partly, severalHosts: several)
            let name = "\(production), partly \(partly), several \(several)"
            XCTAssertEqual(ending.exitStatus, exit, name)
            XCTAssertEqual(ending.ledgerOutcome, ledger, name)
            XCTAssertEqual(ending.keepsJournals, keeps, name)
            XCTAssertEqual(ending.runsPostRollbackHook, hook, name)
        }
        XCTAssertEqual(ProductionAfterFailure.afterPutBack(healthy: true), .putBack)
        XCTAssertEqual(ProductionAfterFailure.afterPutBack(healthy: false), .notRestored)
        XCTAssertEqual(DeployError(message: "m", production: .notRestored).exitStatus, .notRestored)
    }

    func testWhatEachHostGetsBackAfterTheSwapStarted() {
        let decide = { (production: (release: String?, running: Bool)?, old: Bool, swarm: Bool) in
            FailureOutcome.putBack(release: "r-2", production: production, oldExists: old, swarm: swarm)
        }
        XCTAssertEqual(decide((release: "r-2", running: true), true, false), .putBackOld, "this release serves: the old one goes back")
        XCTAssertEqual(decide((release: "r-1", running: false), true, false), .putBackOld, "a stopped container is replaced by the old one")
        XCTAssertEqual(decide(nil, true, false), .putBackOld, "the swap stopped between its renames")
        XCTAssertEqual(decide((release: "r-1", running: true), true, false), .nothing, "the old release still serves")
        XCTAssertEqual(decide((release: nil, running: false), false, false), .startProduction, "nothing to put back: start what is there")
        XCTAssertEqual(decide((release: "r-1", running: true), false, false), .nothing)
        XCTAssertEqual(decide(nil, false, false), .nothing)
        XCTAssertEqual(decide(nil, true, true), .restoreRetired, "a container retired for the swarm's front door takes its port back")
        XCTAssertEqual(decide((release: "r-2", running: true), true, true), .putBackOld)
    }

    /// Undoing a failed conversion to Swarm removes the app service (and front door) only when this
    /// release created it: one that existed before the deploy (it has an earlier spec, or another
    /// release's label) is never removed.
    func testAConversionIsUndoneOnlyForAServiceThisReleaseCreated() throws {
        func service(_ json: String) throws -> JSONValue { try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)) }
        XCTAssertTrue(SwarmRelease.createdBy("r-2", service: try service(#"{"Spec":{"Labels":{"tmeops.release":"r-2"}}}"#)))
        XCTAssertFalse(SwarmRelease.createdBy("r-2", service: try service(#"{"Spec":{"Labels":{"tmeops.release":"r-2"}},"PreviousSpec":{"Labels":{}}}"#)))
        XCTAssertFalse(SwarmRelease.createdBy("r-2", service: try service(#"{"Spec":{"Labels":{"tmeops.release":"r-1"}}}"#)))
        XCTAssertFalse(SwarmRelease.createdBy("r-2", service: try service(#"{"Spec":{"Labels":{}}}"#)))
    }
}

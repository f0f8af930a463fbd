import XCTest

@testable import SwapPlugin

/// How a failed deploy ends, for every combination of what happened (no host needed).
final class FailureOutcomeTests: XCTestCase {
    func testTheLedgerOutcomeJournalsAndHookForEveryEnding() {
        // (rolledBack, notRestored, partly migrated, several hosts) → (ledger, journals kept, post-rollback hook)
        let table: [((Bool, Bool, Bool, Bool), (String, Bool, Bool))] = [
            ((false, false, false, false), ("failed", false, false)),
            ((false, false, false, true), ("failed", false, false)),
            ((true, false, false, false), ("rolled back", false, true)),
            ((true, false, false, true), ("rolled back", false, true)),
            ((true, true, false, false), ("not restored", false, true)),
            ((true, true, false, true), ("not restored", true, true)),
            ((false, true, false, true), ("not restored", true, false)),
            ((true, false, true, false), ("partly migrated", false, false)),
            ((true, true, true, true), ("partly migrated", false, false)),
            ((false, false, true, true), ("partly migrated", false, false)),
        ]
        for ((rolledBack, notRestored, partly, several), (ledger, keeps, hook)) in table {
            let ending = FailureOutcome(rolledBack: rolledBack, notRestored: notRestored, migrationsPartlyApplied: partly, severalHosts: several)
            let name = "rolledBack \(rolledBack), notRestored \(notRestored), partly \(partly), several \(several)"
            XCTAssertEqual(ending.ledgerOutcome, ledger, name)
            XCTAssertEqual(ending.keepsJournals, keeps, name)
            XCTAssertEqual(ending.runsPostRollbackHook, hook, name)
        }
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
}

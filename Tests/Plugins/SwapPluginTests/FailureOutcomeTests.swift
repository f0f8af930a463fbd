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

    /// The exit status and ledger word follow from the step that failed, for every step and strategy,
    /// whatever the error claimed: no step before the swap ends in "rolled back", and nothing ends in it
    /// without a put-back that was declared or checked.
    func testEveryStepAndStrategyEndsAsWhatHappenedToProduction() {
        typealias Scenario = (strategy: String, declared: ProductionAfterFailure?, checked: Bool?, exit: ExitStatus)
        let beforeSwap: [DeployStep] = [.preflight, .backup, .image, .migrateTest, .testInstance, .migrateApply]
        for step in beforeSwap {
            for strategy in ["replace", "proxy", "swarm"] {
                // An error that claims a put-back (the staging copy's schema check once did) changes nothing.
                for declared in [nil, ProductionAfterFailure.unchanged, .putBack] {
                    let ending = FailureOutcome.classify(
                        failedAt: step, swapStarted: false, declared: declared, putBackHealthy: nil, migrationsPartlyApplied: false, severalHosts: false)
                    XCTAssertEqual(ending.exitStatus, .failure, "\(step) \(strategy) \(String(describing: declared))")
                    XCTAssertEqual(ending.ledgerOutcome, "failed")
                }
            }
        }
        let partly = FailureOutcome.classify(
            failedAt: .migrateApply, swapStarted: false, declared: .notRestored, putBackHealthy: nil, migrationsPartlyApplied: true, severalHosts: false)
        XCTAssertEqual(partly.exitStatus, .notRestored)
        XCTAssertEqual(partly.ledgerOutcome, "partly migrated")
        // The swap's journal line could not even be written: the swap never started.
        XCTAssertEqual(
            FailureOutcome.classify(
                failedAt: .swap, swapStarted: false, declared: nil, putBackHealthy: nil, migrationsPartlyApplied: false, severalHosts: false
            ).exitStatus, .failure)
        let swapAndAfter: [Scenario] = [
            // replace: the new container failed its gate, the old one was started again and checked.
            ("replace", .putBack, true, .rolledBack),
            ("replace", .putBack, false, .notRestored),
            ("replace", .notRestored, nil, .notRestored),
            // an error that is not the strategy's (a dropped link): what the put-back's check found.
            ("replace", nil, true, .rolledBack),
            ("replace", nil, false, .notRestored),
            ("replace", nil, nil, .notRestored),
            // proxy: the new container failed beside the old one; the proxy was never switched.
            ("proxy", .unchanged, true, .failure),
            ("proxy", .unchanged, false, .notRestored),
            ("proxy", .putBack, true, .rolledBack),
            // swarm: Swarm rolled the update back itself (nothing for tmeops to check), or paused it.
            ("swarm", .putBack, nil, .rolledBack),
            ("swarm", .notRestored, nil, .notRestored),
            ("swarm", .unchanged, nil, .failure),
        ]
        for step in [DeployStep.swap, .validate] {
            for scenario in swapAndAfter {
                let ending = FailureOutcome.classify(
                    failedAt: step, swapStarted: true, declared: scenario.declared, putBackHealthy: scenario.checked, migrationsPartlyApplied: false,
                    severalHosts: false)
                XCTAssertEqual(ending.exitStatus, scenario.exit, "\(step) \(scenario)")
            }
        }
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

import TMEOpsHosts
import XCTest

@testable import SwapPlugin

/// What `recover` does at every point where a deploy can be killed, per strategy, as a pure decision:
/// the containers a killed deploy leaves there (read from the swap's code: `DeployTarget.swap`,
/// `proxySwap`, `restoreOld`), what the plan does with them, and what the ledger then says. The
/// end-to-end tests kill a real deploy at three of these points per strategy.
final class RecoveryPlanTests: XCTestCase {
    typealias Found = RecoveryPlan.Found
    let previousRunning = Found(isNew: false, running: true)
    let previousStopped = Found(isNew: false, running: false)
    let newCreated = Found(isNew: true, running: false)
    let newRunning = Found(isNew: true, running: true)

    /// One point of the matrix: what was found, what the strategy says about the swap, what the plan
    /// must do, which release serves in the end (with `newHealthy` for the new release's health), and
    /// what the ledger records.
    struct Point {
        var name: String
        var found: [RecoveryPlan.Slot: Found]
        var swapServes: Bool = false
        var newHealthy: Bool = true
        var steps: [RecoveryPlan.Step]
        var settlement: RecoveryPlan.Settlement
        var servesNew: Bool
    }

    /// Plays the plan over a point: the arrangement, then the settlement with production's health
    /// (the previous release is always healthy here; the new one as the point says).
    func play(_ point: Point, aim: RecoveryPlan.Aim = .whicheverServes) -> (RecoveryPlan.Arrangement, RecoveryPlan.Settlement, servesNew: Bool) {
        let arrangement = RecoveryPlan.arrange(point.found, aim: aim, swapServes: point.swapServes)
        let production = arrangement.production
        let settlement = RecoveryPlan.settle(arrangement, aim: aim) { production?.isNew == true ? point.newHealthy : true }
        let servesNew = production?.isNew == true && settlement == .serves
        return (arrangement, settlement, servesNew)
    }

    func testEveryPointOfTheReplaceStrategy() {
        var points: [Point] = []
        // Before the swap, production is untouched whatever was done (backup, image, migrations).
        for step in ["preflight", "backup", "image", "migrate-test", "test-instance", "migrate-apply"] {
            points.append(Point(name: "\(step).done", found: [.production: previousRunning], steps: [], settlement: .serves, servesNew: false))
        }
        points += [
            Point(
                name: "swap.after-create", found: [.production: previousRunning, .new: newCreated], steps: [.remove(.new)], settlement: .serves,
                servesNew: false),
            Point(
                name: "swap.after-stop", found: [.production: previousStopped, .new: newCreated], steps: [.remove(.new), .startProduction],
                settlement: .serves, servesNew: false),
            // The new container runs: the strategy checked its health, and the swap is finished.
            Point(
                name: "swap.after-start", found: [.production: previousStopped, .new: newRunning], swapServes: true, steps: [.promoteNew],
                settlement: .serves, servesNew: true),
            // ... or it is not healthy: it goes, and the old one starts again.
            Point(
                name: "swap.after-start (new unhealthy)", found: [.production: previousStopped, .new: newRunning], swapServes: false,
                newHealthy: false, steps: [.remove(.new), .startProduction], settlement: .serves, servesNew: false),
            Point(
                name: "swap.after-rename", found: [.old: previousStopped, .new: newRunning], swapServes: true, steps: [.promoteNew],
                settlement: .serves, servesNew: true),
            Point(
                name: "swap.after-rename (new unhealthy)", found: [.old: previousStopped, .new: newRunning], swapServes: false,
                newHealthy: false, steps: [.remove(.new), .rename(.old), .startProduction], settlement: .serves, servesNew: false),
            Point(name: "swap.done", found: [.production: newRunning, .old: previousStopped], steps: [], settlement: .serves, servesNew: true),
            Point(name: "validate.done", found: [.production: newRunning, .old: previousStopped], steps: [], settlement: .serves, servesNew: true),
            // The new release broke after its gate: the previous one goes back.
            Point(
                name: "validate.done (new unhealthy)", found: [.production: newRunning, .old: previousStopped], newHealthy: false, steps: [],
                settlement: .putBack, servesNew: false),
            Point(name: "cleanup.done", found: [.production: newRunning], steps: [], settlement: .serves, servesNew: true),
            Point(
                name: "cleanup.done (new unhealthy, nothing to put back)", found: [.production: newRunning], newHealthy: false, steps: [],
                settlement: .unhealthy, servesNew: false),
            // A put-back (`restoreOld`) cut off after the current one was set aside, before `-old` was renamed.
            Point(
                name: "put-back after aside", found: [.old: previousStopped, .aside: Found(isNew: true, running: false)],
                steps: [.rename(.old), .startProduction],
                settlement: .serves, servesNew: false),
            Point(
                name: "put-back after old renamed", found: [.production: previousStopped, .aside: Found(isNew: true, running: false)],
                steps: [.startProduction], settlement: .serves, servesNew: false),
            Point(
                name: "put-back, old gone", found: [.aside: Found(isNew: true, running: false)], steps: [.rename(.aside), .startProduction],
                settlement: .serves, servesNew: true),
        ]
        for point in points { check(point) }
    }

    func testEveryPointOfTheProxyStrategy() {
        let points = [
            // The new container is healthy beside the old one, the proxy not yet switched.
            Point(
                name: "swap.before-switch", found: [.production: previousRunning, .new: newRunning], swapServes: false, steps: [.remove(.new)],
                settlement: .serves, servesNew: false),
            // The proxy was switched (the journal says so) and the old one stopped: finish the swap.
            Point(
                name: "swap.after-switch", found: [.production: previousStopped, .new: newRunning], swapServes: true, steps: [.promoteNew],
                settlement: .serves, servesNew: true),
            Point(name: "swap.done", found: [.production: newRunning, .old: previousStopped], steps: [], settlement: .serves, servesNew: true),
        ]
        for point in points { check(point) }
    }

    func check(_ point: Point, file: StaticString = #filePath, line: UInt = #line) {
        let (arrangement, settlement, servesNew) = play(point)
        XCTAssertEqual(arrangement.steps, point.steps, point.name, file: file, line: line)
        XCTAssertEqual(arrangement.production?.running, true, "\(point.name): production runs after the steps", file: file, line: line)
        XCTAssertEqual(settlement, point.settlement, point.name, file: file, line: line)
        XCTAssertEqual(servesNew, point.servesNew, point.name, file: file, line: line)
        // A put-back leaves the previous release; the ledger never says `recovered` for a release that
        // does not serve.
        let healthy = settlement != .unhealthy
        let outcome = RecoveryPlan.ledgerOutcome(servesNew: servesNew, healthy: healthy)
        XCTAssertEqual(outcome, !healthy ? "failed" : servesNew ? "recovered" : "rolled back", point.name, file: file, line: line)
    }

    /// Several hosts must end on one release: the new one is kept on a host only when every host serves
    /// it; otherwise a host running the new release is put back without asking its health.
    func testSeveralHostsEndOnTheReleaseChosenForAll() {
        let promoted = RecoveryPlan.arrange([.production: previousStopped, .new: newRunning], aim: .new, swapServes: false)
        XCTAssertEqual(promoted.steps, [.promoteNew])
        XCTAssertEqual(promoted.production, newRunning)
        XCTAssertTrue(promoted.oldExists)

        let undone = RecoveryPlan.arrange([.production: previousStopped, .new: newRunning], aim: .previous, swapServes: true)
        XCTAssertEqual(undone.steps, [.remove(.new), .startProduction], "the strategy's answer does not count for one host of several")

        let swapped = RecoveryPlan.arrange([.production: newRunning, .old: previousStopped], aim: .previous, swapServes: false)
        var asked = false
        XCTAssertEqual(
            RecoveryPlan.settle(swapped, aim: .previous) {
                asked = true
                return true
            }, .putBack)
        XCTAssertFalse(asked, "the host is put back whatever its health")

        let unhealthyNew = RecoveryPlan.arrange([.production: newRunning, .old: previousStopped], aim: .new, swapServes: false)
        XCTAssertEqual(RecoveryPlan.settle(unhealthyNew, aim: .new) { false }, .unhealthy, "kept on the release every host serves")
    }

    func testNoContainerLeftIsUnhealthyAndTheLedgerSaysFailed() {
        let empty = RecoveryPlan.arrange([:], aim: .whicheverServes, swapServes: false)
        XCTAssertNil(empty.production)
        XCTAssertEqual(empty.steps, [])
        XCTAssertEqual(RecoveryPlan.settle(empty, aim: .whicheverServes) { true }, .unhealthy)
        XCTAssertEqual(RecoveryPlan.ledgerOutcome(servesNew: false, healthy: false), "failed")
        XCTAssertEqual(RecoveryPlan.ledgerOutcome(servesNew: true, healthy: false), "failed", "an unhealthy new release is never `recovered`")
    }

    /// How `recover` corrects the ledger from a journal: an existing line keeps everything but its
    /// outcome and detail; a missing one is built from the plan, the backup and the migrations applied.
    func testTheLedgerLineFollowsWhatServesAndTheJournal() {
        let journal = [
            RemoteState.JournalEntry(release: "r-0", step: "preflight", phase: "plan", data: ["image": "app:0"]),
            RemoteState.JournalEntry(
                release: "r-1", step: "preflight", phase: "plan",
                data: ["image": "app:2", "image_id": "sha256:2", "previous": "r-0", "previous_image_id": ""]),
            RemoteState.JournalEntry(release: "r-1", step: "backup", phase: "taken", data: ["backup": "pre-r-1.dump"]),
            RemoteState.JournalEntry(release: "r-1", step: "migrate-apply", phase: "applied", data: ["migration": "010_a.sql"]),
            RemoteState.JournalEntry(release: "r-1", step: "migrate-apply", phase: "applied", data: ["migration": "011_b.sql"]),
            RemoteState.JournalEntry(release: "r-1", step: "swap", phase: "created"),
        ]
        var outcome = Recovery.Outcome(release: "r-1", lastStep: "swap created")
        outcome.actions = ["removed app-new (the swap had not reached users)"]
        outcome.healthy = true
        let built = Recovery.ledgerLine(
            release: "r-1", existing: nil, journal: journal, outcome: outcome, servesNew: false, running: ("app:1", "sha256:1"), operatorName: "ops",
            at: "2026-12-07T00:00:00Z")
        XCTAssertEqual(built.outcome, "rolled back", "the previous release serves")
        XCTAssertEqual(built.image, "app:2")
        XCTAssertEqual(built.imageID, "sha256:2", "the plan's image, not the running one's")
        XCTAssertEqual(built.previous, "r-0")
        XCTAssertNil(built.previousImageID, "an empty value in the plan is no value")
        XCTAssertEqual(built.backup, "pre-r-1.dump")
        XCTAssertEqual(built.migrations, ["010_a.sql", "011_b.sql"])
        XCTAssertEqual(built.message, "interrupted at swap created")
        XCTAssertEqual(built.detail, "recover: removed app-new (the swap had not reached users)")

        let noPlan = Recovery.ledgerLine(
            release: "r-2", existing: nil, journal: [], outcome: outcome, servesNew: true, running: ("app:1", "sha256:1"), operatorName: "ops", at: "")
        XCTAssertEqual(noPlan.image, "app:1", "without a plan, the container that runs names the image")
        XCTAssertEqual(noPlan.outcome, "recovered")

        var existing = built
        existing.outcome = "failed"
        existing.steps = ["backup": 1.5]
        outcome.healthy = false
        let corrected = Recovery.ledgerLine(
            release: "r-1", existing: existing, journal: journal, outcome: outcome, servesNew: true, running: (nil, nil), operatorName: "x", at: "")
        XCTAssertEqual(corrected.outcome, "failed", "an unhealthy release is never recovered")
        XCTAssertEqual(corrected.steps, ["backup": 1.5], "the rest of the line stays")
        XCTAssertEqual(corrected.operatorName, "ops")
    }
}

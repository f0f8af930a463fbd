import BackupPlugin
import Foundation
import ImagePlugin
import SchemaPlugin
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import ValidatePlugin

/// `tmeops recover`: after a deploy that was cut off (killed, connection lost), read its journal, look at
/// the real containers, and bring production to exactly one healthy app container.
public enum Recovery {
    public struct Outcome: Codable, Sendable {
        public var release: String?
        public var lastStep: String?
        public var actions: [String] = []
        public var healthy: Bool = false
    }

    /// The deploy lock, for `recover`: a deploy that still runs is not ours to repair; one that is dead
    /// (its process gone here, or its lock not renewed within lock_ttl elsewhere, or `force`) loses it.
    static func takeLock(_ target: DeployTarget, force: Bool) throws -> RemoteState.LockOwner {
        let state = target.state
        if let holder = try state.lockOwner() {
            if holder.isLiveProcessHere {
                throw TMEOpsError(
                    "a deploy is still running: \(holder.owner) on this machine (pid \(holder.pid)) holds the lock on \(state.host) since \(holder.at) (\"\(holder.message)\"); wait for it, or stop it first"
                )
            }
            let idle = holder.idleSeconds ?? .infinity
            if holder.host != ProcessInfo.processInfo.hostName, idle < target.deploy.lockTTL.seconds, !force {
                throw TMEOpsError(
                    "the deploy lock on \(state.host) is held by \(holder.owner)@\(holder.host) (pid \(holder.pid)), renewed \(Int(idle)) s ago: that deploy may still be running; if it is dead, run recover again with --force"
                )
            }
            try state.breakLock(holder)
        }
        return try state.acquire(message: "recover", ttl: target.deploy.lockTTL.seconds, force: false, context: target.context)
    }

    public static func recover(_ target: DeployTarget, force: Bool = false) throws -> Outcome {
        let state = target.state
        let engine = target.engine
        // The lock first: a deploy that still runs is not ours to repair.
        let lock = try takeLock(target, force: force)
        defer { do { try state.release(token: lock.token) } catch { target.context.logger.warning("the deploy lock was not released: \(error)") } }
        let journal = try state.journal()
        var outcome = Outcome(release: journal.last?.release, lastStep: journal.last.map { "\($0.step) \($0.phase)" })
        let release = journal.last?.release
        func act(_ text: String) {
            outcome.actions.append(text)
            target.out.line("  • \(text)")
        }
        let healthy = try settle(target, release: release, aim: .whicheverServes, journal: journal, act: act)
        outcome.healthy = healthy
        try dropStaging(journal, release: release, target: target, act: act)
        let running = try engine.container(target.app.container)
        try correctLedger(
            state, journal: journal, release: release, outcome: outcome, running: running,
            servesNew: release != nil && running?.config.labels?["tmeops.release"] == release, context: target.context)
        if !journal.isEmpty, let release { try state.closeJournal(release: release) }
        if try state.lockOwner()?.token == lock.token {
            try state.release(token: lock.token)
            act("released the deploy lock")
        }
        state.audit(
            action: "recover", environment: target.environment.name, release: release, outcome: outcome.healthy ? "healthy" : "unhealthy",
            detail: outcome.actions.joined(separator: "; "), context: target.context)
        return outcome
    }

    /// The swap's containers on one host as `RecoveryPlan` sees them.
    static func found(_ host: DeployTarget, release: String?) throws -> [RecoveryPlan.Slot: RecoveryPlan.Found] {
        var found: [RecoveryPlan.Slot: RecoveryPlan.Found] = [:]
        for slot in RecoveryPlan.Slot.allCases {
            guard let details = try host.engine.container(host.name(of: slot)) else { continue }
            found[slot] = RecoveryPlan.Found(
                isNew: release != nil && details.config.labels?["tmeops.release"] == release, running: details.state.running)
        }
        return found
    }

    /// Brings one host to one healthy app container of the release `aim` asks for, as `RecoveryPlan`
    /// decides; whether it is healthy. Repairs what the strategy owns and removes the leftovers.
    static func settle(
        _ host: DeployTarget, release: String?, aim: RecoveryPlan.Aim, journal: [RemoteState.JournalEntry], act: (String) -> Void
    ) throws -> Bool {
        let engine = host.engine
        let name = host.app.container
        let found = try found(host, release: release)
        var swapServes = false
        if aim == .whicheverServes, found[.new] != nil {
            swapServes = try host.strategy.interruptedSwapServes(host, journal: journal, release: release)
        }
        let arrangement = RecoveryPlan.arrange(found, aim: aim, swapServes: swapServes)
        for step in arrangement.steps {
            switch step {
            case .promoteNew:
                if try engine.container(name) != nil { try engine.renameContainer(name, to: host.old) }
                try engine.renameContainer(host.new, to: name)
                act("\(host.new) had reached users: renamed it \(name) (finishing the swap)")
            case .remove(let slot):
                try engine.removeContainer(host.name(of: slot), force: true)
                act("removed \(host.name(of: slot)) (the swap had not reached users)")
            case .rename(let slot):
                try engine.renameContainer(host.name(of: slot), to: name)
                act(
                    "renamed \(host.name(of: slot)) back to \(name) ("
                        + (slot == .aside ? "a put-back was cut off before the old one was renamed" : "the swap stopped between the renames") + ")")
            case .startProduction:
                try engine.startContainer(name)
                act("started \(name)")
            }
        }
        guard let production = arrangement.production else {
            throw TMEOpsError(
                "there is no app container on \(host.host.name) (\(name), \(host.old) and \(host.new) are all missing); deploy a release again")
        }
        var health: HealthWait.Outcome?
        let settlement = try RecoveryPlan.settle(arrangement, aim: aim) {
            let outcome = try host.healthWait(name)
            health = outcome
            return outcome.healthy
        }
        let which = production.isNew ? "the new release \(release ?? "")" : "the previous release"
        switch settlement {
        case .serves:
            act("\(name) runs \(which) and is healthy")
        case .putBack:
            if let health { act("\(name) runs \(which) and is NOT healthy (\(health.detail)): putting \(host.old) back") }
            let back = try host.putBack()
            health = back
            act(back.healthy ? "put the previous release back (\(host.old) → \(name))" : "putting the previous release back failed: \(back.detail)")
        case .unhealthy:
            act("\(name) runs \(which) and is NOT healthy: \(health?.detail ?? "no health answer")")
        }
        let healthy = health?.healthy ?? false
        if healthy, let repaired = try host.strategy.repair(host) { act(repaired) }
        try removeLeftovers(host, healthy: healthy, act: act)
        return healthy
    }

    /// What a recovered host no longer needs: the swap's other containers once production is healthy
    /// (until then they may be what puts it back), and the test instance in any case.
    static func removeLeftovers(_ target: DeployTarget, healthy: Bool, act: (String) -> Void) throws {
        let engine = target.engine
        if healthy {
            for leftover in [target.old, target.new, target.aside] where try engine.container(leftover) != nil {
                try engine.removeContainer(leftover, force: true)
                act("removed \(leftover)")
            }
        }
        if try engine.container(target.test) != nil {
            try engine.removeContainer(target.test, force: true)
            act("removed the test instance \(target.test)")
        }
    }

    /// Drops the staging database the journal names (never one guessed from the config).
    static func dropStaging(_ journal: [RemoteState.JournalEntry], release: String?, target: DeployTarget, act: (String) -> Void) throws {
        let recorded = journal.last { $0.release == release && $0.step == "migrate-test" && $0.phase == "staging" }?.data["database"]
        if let staging = recorded, let database = try? Databases.open(target.environment, context: target.context) {
            defer { database.close() }
            if (try? database.connection.query("SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1", [staging]).scalar) != nil {
                try DatabaseCopy.drop(database, staging)
                act("dropped the staging database \(staging)")
            }
        }
    }

    /// The interrupted release's ledger line, corrected or (when the deploy died before writing it)
    /// written from what the journal says it planned, backed up and applied. Its outcome follows what
    /// the environment serves now (`servesNew`): a release that is not running is never `recovered`.
    static func correctLedger(
        _ state: RemoteState, journal: [RemoteState.JournalEntry], release: String?, outcome: Outcome, running: ContainerDetails?,
        servesNew: Bool, context: CommandContext
    ) throws {
        guard let release else { return }
        // Read with `try`: a ledger that cannot be read must not get a second line for this release.
        let existing = try state.releases().last { $0.id == release }
        try state.recordRelease(
            ledgerLine(
                release: release, existing: existing, journal: journal, outcome: outcome, servesNew: servesNew,
                running: (running?.config.image, running?.image), operatorName: context.environment["USER"] ?? NSUserName(),
                at: ISO8601DateFormatter().string(from: Date())))
    }

    /// The ledger line `recover` writes for `release` (pure): the existing line with its outcome and
    /// detail corrected, or one built from the journal (the preflight's plan, the backup taken, the
    /// migrations applied) and, where the plan is missing, the container that runs.
    static func ledgerLine(
        release: String, existing: RemoteState.Release?, journal: [RemoteState.JournalEntry], outcome: Outcome, servesNew: Bool,
        running: (image: String?, imageID: String?), operatorName: String, at: String
    ) -> RemoteState.Release {
        let recorded = RecoveryPlan.ledgerOutcome(servesNew: servesNew, healthy: outcome.healthy)
        let detail = "recover: " + outcome.actions.joined(separator: "; ")
        if var corrected = existing {
            corrected.outcome = recorded
            corrected.detail = detail
            return corrected
        }
        let lines = journal.filter { $0.release == release }
        let plan = lines.last { $0.step == "preflight" && $0.phase == "plan" }?.data ?? [:]
        let nonEmpty = { (key: String) in plan[key].flatMap { $0.isEmpty ? nil : $0 } }
        // The image as the host's engine names it, once delivered (its store may name it unlike ours).
        let delivered = lines.last { $0.step == "image" && $0.phase == "delivered" }?.data["image_id"]
        return RemoteState.Release(
            id: release, image: nonEmpty("image") ?? running.image ?? "", imageID: delivered ?? nonEmpty("image_id") ?? running.imageID ?? "",
            previous: nonEmpty("previous"), previousImageID: nonEmpty("previous_image_id"),
            backup: lines.last { $0.step == "backup" && $0.phase == "taken" }?.data["backup"],
            migrations: lines.filter { $0.step == "migrate-apply" && $0.phase == "applied" }.compactMap { $0.data["migration"] }, steps: [:],
            unavailableSeconds: nil, operatorName: operatorName, message: "interrupted at \(outcome.lastStep ?? "?")", outcome: recorded, at: at,
            detail: detail)
    }
}

import BackupPlugin
import Foundation
import ImagePlugin
import SchemaPlugin
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts

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
        defer { try? state.release(token: lock.token) }
        let journal = try state.journal()
        var outcome = Outcome(release: journal.last?.release, lastStep: journal.last.map { "\($0.step) \($0.phase)" })
        let release = journal.last?.release
        func act(_ text: String) {
            outcome.actions.append(text)
            target.out.line("  • \(text)")
        }
        let name = target.app.container
        // A swap that had already reached users is finished by its strategy, not undone.
        for action in try target.strategy.finishInterruptedSwap(target, journal: journal, release: release) { act(action) }
        var production = try engine.container(name)
        let old = try engine.container(target.old)
        let new = try engine.container(target.new)
        let isNew: (ContainerDetails?) -> Bool = { details in release != nil && details?.config.labels?["tmeops.release"] == release }

        let aside = try engine.container(target.aside)
        if production == nil {
            if old == nil, aside != nil {
                try engine.renameContainer(target.aside, to: name)
                act("renamed \(target.aside) back to \(name) (a put-back was cut off before the old one was renamed)")
            } else if old != nil {
                try engine.renameContainer(target.old, to: name)
                act("renamed \(target.old) back to \(name) (the swap stopped between the renames)")
            } else if new != nil {
                try engine.renameContainer(target.new, to: name)
                act("renamed \(target.new) to \(name) (no old container was left)")
            }
            production = try engine.container(name)
        }
        guard let current = production else {
            throw TMEOpsError(
                "there is no app container on \(target.environment.name) (\(name), \(target.old) and \(target.new) are all missing); deploy a release again")
        }
        if !current.state.running {
            try engine.startContainer(name)
            act("started \(name) (it was \(current.state.status))")
        }
        var health = try target.healthWait(name)
        if health.healthy {
            if isNew(current) {
                act("\(name) runs the new release \(release ?? "") and is healthy: the swap is finished")
            } else {
                act("\(name) runs the previous release and is healthy")
            }
        } else if isNew(current), try engine.container(target.old) != nil {
            act("the new release is not healthy (\(health.detail)): restoring \(target.old)")
            health = try target.putBack()
        }
        outcome.healthy = health.healthy
        if !health.healthy { act("\(name) is NOT healthy: \(health.detail)") }
        if health.healthy, let repaired = try target.strategy.repair(target) { act(repaired) }
        try removeLeftovers(target, healthy: outcome.healthy, act: act)
        try dropStaging(journal, release: release, target: target, act: act)
        try correctLedger(
            state, journal: journal, release: release, outcome: outcome, running: try engine.container(name), finishedNew: isNew, context: target.context)
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
    /// written from what the journal says it planned, backed up and applied.
    static func correctLedger(
        _ state: RemoteState, journal: [RemoteState.JournalEntry], release: String?, outcome: Outcome, running: ContainerDetails?,
        finishedNew: (ContainerDetails?) -> Bool, context: CommandContext
    ) throws {
        if let release, let entry = (try? state.releases())?.last(where: { $0.id == release }) {
            var corrected = entry
            corrected.outcome = outcome.healthy ? "recovered" : "failed"
            corrected.detail = "recover: " + outcome.actions.joined(separator: "; ")
            try state.recordRelease(corrected)
        } else if let release {
            let lines = journal.filter { $0.release == release }
            let plan = lines.last { $0.step == "preflight" && $0.phase == "plan" }?.data ?? [:]
            let nonEmpty = { (key: String) in plan[key].flatMap { $0.isEmpty ? nil : $0 } }
            try state.recordRelease(
                RemoteState.Release(
                    id: release, image: plan["image"] ?? running?.config.image ?? "", imageID: plan["image_id"] ?? running?.image ?? "",
                    previous: nonEmpty("previous"), previousImageID: nonEmpty("previous_image_id"),
                    backup: lines.last { $0.step == "backup" && $0.phase == "taken" }?.data["backup"],
                    migrations: lines.filter { $0.step == "migrate-apply" && $0.phase == "applied" }.compactMap { $0.data["migration"] }, steps: [:],
                    unavailableSeconds: nil, operatorName: context.environment["USER"] ?? NSUserName(),
                    message: "interrupted at \(outcome.lastStep ?? "?")", outcome: finishedNew(running) && outcome.healthy ? "recovered" : "rolled back",
                    at: ISO8601DateFormatter().string(from: Date()), detail: "recover: " + outcome.actions.joined(separator: "; ")))
        }
    }
}

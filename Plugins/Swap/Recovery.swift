import BackupPlugin
import Foundation
import ImagePlugin
import SchemaPlugin
import TMEOpsCore
import TMEOpsDocker

/// `tmeops recover`: after a deploy that was cut off (killed, connection lost), read its journal, look at
/// the real containers, and bring production to exactly one healthy app container.
public enum Recovery {
    public struct Outcome: Codable, Sendable {
        public var release: String?
        public var lastStep: String?
        public var actions: [String] = []
        public var healthy: Bool = false
    }

    public static func recover(_ target: DeployTarget, force: Bool = false) throws -> Outcome {
        let state = target.state
        let engine = target.engine
        // The lock first: a deploy that still runs is not ours to repair.
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
        let lock = try state.acquire(message: "recover", ttl: target.deploy.lockTTL.seconds, force: false, context: target.context)
        defer { try? state.release(token: lock.token) }
        let journal = try state.journal()
        var outcome = Outcome(release: journal.last?.release, lastStep: journal.last.map { "\($0.step) \($0.phase)" })
        let release = journal.last?.release
        func act(_ text: String) {
            outcome.actions.append(text)
            target.out.line("  • \(text)")
        }
        let name = target.app.container
        // Strategy proxy, killed after the proxy was switched but before the renames: the new container
        // already serves, so the swap is finished rather than undone.
        if target.deploy.strategy == .proxy, let release, journal.contains(where: { $0.release == release && $0.step == "swap" && $0.phase == "switched" }),
            try engine.container(target.new) != nil
        {
            if try engine.container(name) != nil { try engine.renameContainer(name, to: target.old) }
            try engine.renameContainer(target.new, to: name)
            act("the proxy already served \(target.new): renamed it \(name) (finishing the swap)")
        }
        // Replace, killed between the start of the new container and its rename: if it is healthy the
        // swap is finished, else it goes and the old one (still named as production) starts again.
        if target.deploy.strategy == .replace, let candidate = try engine.container(target.new), candidate.state.running {
            let health = try target.healthWait(target.new, attempts: 3)
            if health.healthy {
                if try engine.container(name) != nil { try engine.renameContainer(name, to: target.old) }
                try engine.renameContainer(target.new, to: name)
                act("\(target.new) was running and healthy: renamed it \(name) (finishing the swap)")
            } else {
                try engine.removeContainer(target.new, force: true)
                act("removed \(target.new), which was not healthy (\(health.detail))")
            }
        }
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
        if health.healthy, let upstream = try target.repairProxy() { act("\(target.proxy) points at \(upstream) and runs") }
        if outcome.healthy {
            for leftover in [target.old, target.new, target.aside] where try engine.container(leftover) != nil {
                try engine.removeContainer(leftover, force: true)
                act("removed \(leftover)")
            }
        }
        if try engine.container(target.test) != nil {
            try engine.removeContainer(target.test, force: true)
            act("removed the test instance \(target.test)")
        }
        // Only a staging database the journal names is dropped: never one guessed from the config.
        let recorded = journal.last { $0.release == release && $0.step == "migrate-test" && $0.phase == "staging" }?.data["database"]
        if let staging = recorded, let database = try? Databases.open(target.environment, context: target.context) {
            defer { database.close() }
            if (try? database.connection.query("SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1", [staging]).scalar) != nil {
                try DatabaseCopy.drop(database, staging)
                act("dropped the staging database \(staging)")
            }
        }
        if let release, let entry = (try? state.releases())?.last(where: { $0.id == release }) {
            var corrected = entry
            corrected.outcome = outcome.healthy ? "recovered" : "failed"
            corrected.detail = "recover: " + outcome.actions.joined(separator: "; ")
            try state.recordRelease(corrected)
        } else if let release {
            // The deploy died before its ledger line: the journal says what it planned, backed up and applied.
            let running = try engine.container(name)
            let lines = journal.filter { $0.release == release }
            let plan = lines.last { $0.step == "preflight" && $0.phase == "plan" }?.data ?? [:]
            let nonEmpty = { (key: String) in plan[key].flatMap { $0.isEmpty ? nil : $0 } }
            try state.recordRelease(
                RemoteState.Release(
                    id: release, image: plan["image"] ?? running?.config.image ?? "", imageID: plan["image_id"] ?? running?.image ?? "",
                    previous: nonEmpty("previous"), previousImageID: nonEmpty("previous_image_id"),
                    backup: lines.last { $0.step == "backup" && $0.phase == "taken" }?.data["backup"],
                    migrations: lines.filter { $0.step == "migrate-apply" && $0.phase == "applied" }.compactMap { $0.data["migration"] }, steps: [:],
                    unavailableSeconds: nil, operatorName: target.context.environment["USER"] ?? NSUserName(),
                    message: "interrupted at \(outcome.lastStep ?? "?")", outcome: isNew(running) && outcome.healthy ? "recovered" : "rolled back",
                    at: ISO8601DateFormatter().string(from: Date()), detail: "recover: " + outcome.actions.joined(separator: "; ")))
        }
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
}

/// `tmeops rollback`: back to a kept release's image with the same health gate.
public enum Rollback {
    public static func run(
        _ target: DeployTarget, to wanted: String?, withDatabase: Bool, message: String
    ) throws -> RemoteState.Release {
        let state = target.state
        let releases = try state.releases()
        let good = releases.filter { ["deployed", "recovered", "rollback"].contains($0.outcome) }
        guard let current = try target.engine.container(target.app.container) else {
            throw TMEOpsError("no container \(target.app.container) on \(target.environment.name); run `tmeops recover -e \(target.environment.name)`")
        }
        let chosen: RemoteState.Release?
        if let wanted {
            chosen = releases.last { $0.id == wanted }
            guard chosen != nil else {
                throw TMEOpsError.usage("no release \(wanted) in the ledger of \(target.environment.name); see `tmeops releases -e \(target.environment.name)`")
            }
        } else if let earlier = good.last(where: { $0.imageID != current.image }) {
            chosen = earlier
        } else if let latest = good.last, let previousImage = latest.previousImageID, previousImage != current.image {
            // The image production ran before tmeops's first release (tagged backup-… by that deploy).
            chosen = RemoteState.Release(
                id: "before-\(latest.id)", image: "the image before \(latest.id)", imageID: previousImage, previous: nil, previousImageID: nil, backup: nil,
                migrations: [], steps: [:], unavailableSeconds: nil, operatorName: latest.operatorName, message: "", outcome: "deployed", at: latest.at,
                detail: nil)
        } else {
            chosen = nil
        }
        guard let destination = chosen else {
            throw TMEOpsError("there is no earlier release to roll back to on \(target.environment.name) (the ledger has \(releases.count) entries)")
        }
        guard try target.engine.image(destination.imageID) != nil else {
            throw TMEOpsError(
                "the image of \(destination.id) (\(destination.imageID.prefix(19))) is no longer on \(target.environment.name); deploy it again instead")
        }
        if try !state.journal().isEmpty {
            throw TMEOpsError("an unfinished deploy journal is on \(state.host); run `tmeops recover -e \(target.environment.name)` first")
        }
        let id = "r-" + ImageTag.timestamp()
        let lock = try state.acquire(
            message: message.isEmpty ? "rollback to \(destination.id)" : message, ttl: target.deploy.lockTTL.seconds, force: false, context: target.context)
        defer { try? state.release(token: lock.token) }
        try state.record(.init(release: id, step: "rollback", phase: "start", data: ["to": destination.id]))
        var restored: String?
        if withDatabase {
            // The database as it was while the destination ran: the pre-deployment backup of the release
            // that replaced it.
            let following =
                destination.id.hasPrefix("before-") ? releases.first { "before-\($0.id)" == destination.id } : releases.first { $0.previous == destination.id }
            guard let backup = following?.backup else {
                throw TMEOpsError("no pre-deployment backup was taken when \(destination.id) was replaced; cannot roll the database back with it")
            }
            target.out.line("restoring the database from \(backup) (a safety backup is taken first)")
            let outcome = try BackupService.restore(
                backup, environment: target.environment, context: target.context, toDatabase: nil, log: { target.out.line("  \($0)") })
            restored = outcome.id
        }
        do {
            let window = try target.switchTo(image: destination.imageID, release: id) { phase, data in
                try state.record(.init(release: id, step: "swap", phase: phase, data: data))
            }
            try AppContainers.removeIfPresent(target.engine, target.old)
            let entry = RemoteState.Release(
                id: id, image: destination.image, imageID: destination.imageID, previous: releases.last(where: { $0.imageID == current.image })?.id,
                previousImageID: current.image, backup: restored, migrations: [], steps: [:], unavailableSeconds: window,
                operatorName: lock.owner, message: message.isEmpty ? "rollback to \(destination.id)" : message, outcome: "rollback",
                at: ISO8601DateFormatter().string(from: Date()), detail: withDatabase ? "database restored from \(restored ?? "")" : nil)
            try state.recordRelease(entry)
            try state.closeJournal(release: id)
            state.audit(
                action: "rollback", environment: target.environment.name, release: id, outcome: "rollback", detail: "to \(destination.id)",
                context: target.context)
            return entry
        } catch {
            try? state.closeJournal(release: id)
            state.audit(action: "rollback", environment: target.environment.name, release: id, outcome: "failed", detail: "\(error)", context: target.context)
            throw error
        }
    }
}

import BackupPlugin
import Foundation
import ImagePlugin
import SchemaPlugin
import SwarmPlugin
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts

/// `tmeops rollback`: back to a kept release's image with the same health gate; on an environment of
/// several hosts, rolling across them in batches as a deploy swaps (`hosts`, the first keeping the lock
/// and the ledger).
public enum Rollback {
    public static func run(
        _ target: DeployTarget, hosts: [DeployTarget] = [], to wanted: String?, withDatabase: Bool, message: String, lockWait: TimeInterval = 0
    ) throws -> RemoteState.Release {
        let hosts = hosts.isEmpty ? [target] : hosts
        let lead = hosts[0]
        let state = lead.state
        // The lock first: the ledger and the journals are read as the holder leaves them (a rollback that
        // waited for a deploy sees that deploy's release).
        let lock: RemoteState.LockOwner
        do {
            lock = try state.acquire(
                message: message.isEmpty ? "rollback\(wanted.map { " to \($0)" } ?? "")" : message, ttl: target.deploy.lockTTL.seconds, force: false,
                wait: lockWait, context: target.context)
        } catch {
            // A lock left by a deploy that was killed: its journal says what to do.
            if state.abandonedDeployJournal(ttl: target.deploy.lockTTL.seconds) != nil {
                throw TMEOpsError("\(error); an unfinished deploy journal is on \(state.host): run `tmeops recover -e \(target.environment.name)` first")
            }
            throw error
        }
        defer { do { try state.release(token: lock.token) } catch { target.context.logger.warning("the deploy lock was not released: \(error)") } }
        let releases = try state.releases()
        let swarm = lead.strategy is SwarmStrategy
        let currentImage: String
        if swarm {
            // A swarm's app is its service: the image it runs is the one in its spec.
            guard let image = try SwarmRelease(hosts: hosts, manager: lead).currentImage() else {
                throw TMEOpsError("there is no app service on \(target.environment.name) yet; deploy a release first")
            }
            currentImage = image
        } else {
            guard let current = try lead.engine.container(lead.app.container) else {
                throw TMEOpsError("no container \(target.app.container) on \(target.environment.name); run `tmeops recover -e \(target.environment.name)`")
            }
            currentImage = current.image
        }
        let destination = try RollbackChoice.destination(
            wanted: wanted, releases: releases, currentImageID: currentImage, environment: target.environment.name)
        // The release's tag, which every host's engine gave the image it names its own way (the ledger's
        // ID is the ledger host's engine's: servers on different image stores name one image differently).
        let releaseTag = "\(target.config.image):\(destination.id)"
        var runImage = destination.imageID
        if !swarm, try !hosts.allSatisfy({ try $0.engine.image(destination.imageID) != nil }),
            try hosts.allSatisfy({ try $0.engine.image(releaseTag) != nil })
        {
            runImage = releaseTag
        }
        for host in hosts {
            guard try host.engine.image(runImage) != nil else {
                let place = hosts.count > 1 ? host.host.name : target.environment.name
                throw TMEOpsError("the image of \(destination.id) (\(destination.imageID.prefix(19))) is no longer on \(place); deploy it again instead")
            }
            if try !host.state.journal().isEmpty {
                throw TMEOpsError("an unfinished deploy journal is on \(host.state.host); run `tmeops recover -e \(target.environment.name)` first")
            }
        }
        let id = "r-" + ImageTag.timestamp()
        try state.record(.init(release: id, step: "rollback", phase: "start", data: ["to": destination.id]), holding: lock.token)
        var restore: BackupService.RestoreOutcome?
        var restoreFrom: String?
        do {
            if withDatabase {
                // The database as it was while the destination ran: the pre-deployment backup of the
                // release that replaced it. Inside the failure handling: whatever fails after it is
                // recorded with the backups it concerns.
                guard let backup = RollbackChoice.databaseBackup(for: destination, releases: releases) else {
                    throw TMEOpsError("no pre-deployment backup was taken when \(destination.id) was replaced; cannot roll the database back with it")
                }
                restoreFrom = backup
                target.out.line("restoring the database from \(backup) (a safety backup is taken first)")
                restore = try BackupService.restore(
                    backup, environment: target.environment, context: target.context, toDatabase: nil,
                    compression: target.config.section(TransferConfig.self)?.compression ?? .auto, pinSafetyTo: id, log: { target.out.line("  \($0)") })
            }
            let journal = { (host: DeployTarget, phase: String, data: [String: String]) in
                try host.state.record(.init(release: id, step: "swap", phase: phase, data: data), holding: host === lead ? lock.token : nil)
            }
            let window: Double
            if swarm {
                let manager = hosts.first { $0.host.name == target.environment.section(SwarmConfig.self)?.manager } ?? lead
                window = try SwarmRelease(hosts: hosts, manager: manager).put(
                    imageID: destination.imageID, imageRef: destination.image, release: id, journal: { phase, data in try journal(lead, phase, data) })
            } else if hosts.count > 1 {
                let windows = try RollingSwap(hosts: hosts, context: target.context).run(
                    image: runImage, release: id, shown: destination.image, journal: journal,
                    batch: { phase, data in try state.record(.init(release: id, step: "swap", phase: phase, data: data), holding: lock.token) })
                window = windows.max() ?? 0
            } else {
                window = try target.switchTo(image: runImage, release: id) { phase, data in try journal(target, phase, data) }
            }
            for host in hosts { try AppContainers.removeIfPresent(host.engine, host.old) }
            // The safety backup is the database as it was before this release: its pre-deployment backup.
            let entry = RemoteState.Release(
                id: id, image: destination.image, imageID: destination.imageID, previous: releases.last(where: { $0.imageID == currentImage })?.id,
                previousImageID: currentImage, backup: restore?.safetyBackup, migrations: [], steps: [:], unavailableSeconds: window,
                operatorName: lock.owner, message: message.isEmpty ? "rollback to \(destination.id)" : message, outcome: "rollback",
                at: ISO8601DateFormatter().string(from: Date()), detail: restore.map { Self.restoredDetail($0) })
            try state.recordRelease(entry)
            for host in hosts.dropFirst() { try host.state.closeJournal(release: id) }
            try state.closeJournal(release: id)
            state.audit(
                action: "rollback", environment: target.environment.name, release: id, outcome: "rollback", detail: "to \(destination.id)",
                context: target.context)
            return entry
        } catch {
            let failure = error as? DeployError
            let ending = FailureOutcome(production: failure?.production ?? .unchanged, migrationsPartlyApplied: false, severalHosts: hosts.count > 1)
            // Hosts left on different releases keep their journals, so that `recover` knows each one's.
            if !ending.keepsJournals {
                for host in hosts.dropFirst() {
                    do { try host.state.closeJournal(release: id) } catch {
                        target.context.logger.warning("closing the rollback's journal on \(host.host.name) failed: \(error)")
                    }
                }
                do { try state.closeJournal(release: id) } catch {
                    target.context.logger.warning("closing the rollback's journal on \(state.host) failed: \(error)")
                }
            }
            var detail = "\(error)"
            if let restore {
                detail += "; " + Self.restoredDetail(restore) + ", so the release that ran before the rollback now runs on the restored database"
            } else if let restoreFrom {
                detail += "; the database was not restored from \(restoreFrom)"
            }
            // Written whatever failed once anything changed: a rollback that restored the database or
            // touched production is never left unrecorded (one refused before that is only audited).
            if restore != nil || ending.production != .unchanged {
                do {
                    try state.recordRelease(
                        RemoteState.Release(
                            id: id, image: destination.image, imageID: destination.imageID,
                            previous: releases.last(where: { $0.imageID == currentImage })?.id, previousImageID: currentImage,
                            backup: restore?.safetyBackup, migrations: [], steps: [:], unavailableSeconds: nil, operatorName: lock.owner,
                            message: message.isEmpty ? "rollback to \(destination.id)" : message, outcome: ending.ledgerOutcome,
                            at: ISO8601DateFormatter().string(from: Date()), detail: target.context.redactor.redact(detail)))
                } catch let recordError {
                    target.context.logger.error("the ledger line of the failed rollback \(id) could not be written: \(recordError); what happened: \(detail)")
                }
            }
            state.audit(action: "rollback", environment: target.environment.name, release: id, outcome: "failed", detail: detail, context: target.context)
            guard let restore else { throw error }
            // The error says what the database now is, with the exit status the swap's failure has.
            let said = "\(failure?.message ?? "\(error)"); \(Self.restoredDetail(restore))"
            throw DeployError(message: said, production: failure?.production ?? .notRestored, evidence: failure?.evidence ?? [])
        }
    }

    /// What a rollback with the database did to it, for the ledger and the error.
    static func restoredDetail(_ restore: BackupService.RestoreOutcome) -> String {
        "database restored from \(restore.id)"
            + (restore.safetyBackup.map { " (safety backup \($0), taken just before: `tmeops backup restore \($0)` undoes it)" } ?? "")
    }
}

/// What a rollback returns to, decided from the ledger and the image production runs, with no host
/// touched: the last release that served (deployed, recovered or a rollback) on another image; else the
/// image production ran before tmeops's first release; or the release asked for by name.
public enum RollbackChoice {
    /// Outcomes of releases that served users, and so may be returned to.
    public static let served: Set<String> = ["deployed", "recovered", "rollback"]

    public static func destination(
        wanted: String?, releases: [RemoteState.Release], currentImageID: String, environment: String
    ) throws -> RemoteState.Release {
        let good = releases.filter { served.contains($0.outcome) }
        if let wanted {
            guard let named = releases.last(where: { $0.id == wanted }) else {
                throw TMEOpsError.usage("no release \(wanted) in the ledger of \(environment); see `tmeops releases -e \(environment)`")
            }
            return named
        }
        if let earlier = good.last(where: { $0.imageID != currentImageID }) { return earlier }
        if let latest = good.last, let previousImage = latest.previousImageID, previousImage != currentImageID {
            // The image production ran before tmeops's first release (tagged backup-… by that deploy).
            return RemoteState.Release(
                id: "before-\(latest.id)", image: "the image before \(latest.id)", imageID: previousImage, previous: nil, previousImageID: nil,
                backup: nil, migrations: [], steps: [:], unavailableSeconds: nil, operatorName: latest.operatorName, message: "", outcome: "deployed",
                at: latest.at, detail: nil)
        }
        throw TMEOpsError("there is no earlier release to roll back to on \(environment) (the ledger has \(releases.count) entries)")
    }

    /// The backup that holds the database as it was while `destination` ran: the pre-deployment backup
    /// of the release that replaced it (nil when none was taken).
    public static func databaseBackup(for destination: RemoteState.Release, releases: [RemoteState.Release]) -> String? {
        let following =
            destination.id.hasPrefix("before-")
            ? releases.first { "before-\($0.id)" == destination.id } : releases.first { $0.previous == destination.id }
        return following?.backup
    }
}

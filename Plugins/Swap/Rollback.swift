import BackupPlugin
import Foundation
import ImagePlugin
import SchemaPlugin
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts

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

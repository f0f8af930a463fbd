import Foundation
import ImagePlugin
import SchemaPlugin
import TMEOpsCore
import TMEOpsHosts

/// What a deploy's plan found before anything changed: the image, what runs now, the migrations and the
/// connection to production's database. Every step reads it; none changes it (the migrate test only
/// reconnects the database connection, which a CREATE DATABASE … TEMPLATE needs closed).
struct DeployFacts {
    /// The image as the operator named it, and its ID (what every later step uses).
    let imageRef: String
    let imageID: String
    /// The image's unpacked size when the host does not have it yet (0 when it does).
    let imageBytes: UInt64
    /// The image's unpacked size (what a host that lacks it must have room for).
    let imageSize: UInt64
    let layers: Int
    let layersOnHost: Int
    /// The image production's app container runs now, if one runs.
    let previousImageID: String?
    /// The migration files the plan read: what was shown is what runs.
    let migrations: MigrationSetup
    /// The file names of the migrations production lacks.
    let pending: [String]
    /// The connection to production's database the deploy holds from the plan to its end.
    let database: DatabaseSession
    /// The running container's settings the new one takes over (after tmeops.yml's changes).
    let carriedOver: [String]

    /// Reads the facts for a deploy of `imageRef` to `target`.
    static func read(_ target: DeployTarget, imageRef: String, context: CommandContext) throws -> DeployFacts {
        let local = try DockerEngines.local(context)
        guard let image = try local.image(imageRef) else {
            throw DeployError(
                message: "no image \(imageRef) in the local Docker engine (\(local.location)); build it with `tmeops image build`", production: .unchanged)
        }
        let layers = image.rootFS.layers ?? []
        // Which layers the host lacks is worked out by the push itself (it inspects the host's images);
        // the plan only says whether the whole image is there already.
        let onHost = try target.engine.image(image.id) != nil ? layers.count : 0
        let current = try target.engine.container(target.app.container)
        let setup = try MigrationSetup(target.config)
        // Where the database runs on this host, its container is found through the engine held already.
        let database = try Databases.open(target.environment, context: context, engine: target.host.runsDatabase ? target.engine : nil)
        do {
            let pending = try MigrationService.toApply(
                files: setup.files, ledger: try MigrationLedger.entries(database.connection), environment: target.environment.name)
            let carried = current == nil ? [] : try target.carriedSettings(from: target.app.container).summary
            return DeployFacts(
                imageRef: imageRef, imageID: image.id, imageBytes: onHost == layers.count ? 0 : UInt64(max(image.size, 0)),
                imageSize: UInt64(max(image.size, 0)), layers: layers.count,
                layersOnHost: onHost, previousImageID: current?.image, migrations: setup, pending: pending.map(\.fileName), database: database,
                carriedOver: carried)
        } catch {
            database.close()
            throw error
        }
    }
}

/// The ten steps of a deploy, in order. The journal names them, the plan describes them, the progress
/// lines title them and the summary times them, all from this one list.
public enum DeployStep: String, CaseIterable, Sendable {
    case preflight, backup, image
    case migrateTest = "migrate-test"
    case testInstance = "test-instance"
    case migrateApply = "migrate-apply"
    case swap, validate, cleanup, ledger

    /// The step's number, as the progress lines show it (1-based).
    var number: Int { (Self.allCases.firstIndex(of: self) ?? 0) + 1 }

    /// The progress line's title.
    var title: String {
        switch self {
        case .preflight: return "preflight and lock"
        case .backup: return "pre-deployment backup"
        case .image: return "deliver the image"
        case .migrateTest: return "staging copy and migrate test"
        case .testInstance: return "test instance against the staging copy"
        case .migrateApply: return "apply migrations to production"
        case .swap: return "swap containers"
        case .validate: return "post-deploy validation"
        case .cleanup: return "clean up"
        case .ledger: return "release ledger, audit, unlock"
        }
    }

    /// What the plan says this step will do.
    func plan(_ facts: DeployFacts, target: DeployTarget, release: String) -> String {
        let pending = facts.pending
        switch self {
        case .preflight: return "preflight: lock, production healthy, env file present, disk for the backup"
        case .backup: return "backup: pre-deployment backup of the database, pinned to \(release)"
        case .image:
            return facts.layersOnHost == facts.layers
                ? "image: \(facts.imageRef) is on the host already; tag it \(release) and the current image backup-…"
                : "image: push \(facts.imageRef) (\(facts.layers) layers; only those the host lacks are sent); tag the current image backup-…"
        case .migrateTest:
            return "migrate-test: copy the database, apply \(pending.count) pending migration\(pending.count == 1 ? "" : "s") to the copy, record a proof"
        case .testInstance:
            let ports = target.testInstance?.publish.map(\.description).joined(separator: ", ") ?? "3001:3000"
            if target.strategy is SwarmStrategy {
                return
                    "test-instance: a one-replica service on the swarm's network, \(ports) on \(target.host.name), against the copy: health, log scan, smoke checks"
            }
            return "test-instance: \(target.test) on \(ports) against the copy: health, log scan, smoke checks"
        case .migrateApply: return "migrate-apply: \(pending.isEmpty ? "nothing pending" : pending.joined(separator: ", "))"
        case .swap: return target.strategy.describeSwap(target, image: facts.imageRef)
        case .validate: return "validate: health, smoke checks, log patterns since the deploy, database"
        case .cleanup:
            return "cleanup: remove \(target.old) and \(target.test), drop the staging copy, keep \(target.deploy.keepReleases) release images"
        case .ledger: return "ledger: release \(release) and audit line on the host; unlock"
        }
    }
}

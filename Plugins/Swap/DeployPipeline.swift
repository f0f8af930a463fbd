import BackupPlugin
import Foundation
import ImagePlugin
import SchemaPlugin
import TMEOpsCore
import TMEOpsDocker
import TMEOpsSSH
import ValidatePlugin

/// `tmeops deploy`: build, test and release steps in order, each step journaled on the host before and after
/// it runs, with automatic rollback and a release ledger entry whatever happens.
public final class DeployPipeline {
    public struct Options: Sendable {
        public var image: String?
        public var message: String
        public var dryRun: Bool
        public var forceLock: Bool
        /// Deploy even though the running container wrote files into its own writable layer.
        public var discardContainerChanges: Bool
        /// Deploy even though the new container's variables differ from the running one's.
        public var acceptEnvChanges: Bool

        public init(
            image: String? = nil, message: String = "", dryRun: Bool = false, forceLock: Bool = false, discardContainerChanges: Bool = false,
            acceptEnvChanges: Bool = false
        ) {
            self.image = image
            self.message = message
            self.dryRun = dryRun
            self.forceLock = forceLock
            self.discardContainerChanges = discardContainerChanges
            self.acceptEnvChanges = acceptEnvChanges
        }
    }

    public static let steps = [
        "preflight", "backup", "image", "migrate-test", "test-instance", "migrate-apply", "swap", "validate", "cleanup", "ledger",
    ]

    let target: DeployTarget
    let options: Options
    let release: String
    let started = Date()
    var timings: [(String, Double)] = []
    var lock: RemoteState.LockOwner?
    var backup: BackupMetadata?
    var appliedMigrations: [String] = []
    /// Some migrations committed on production, then one failed: the database changed, the app did not.
    var migrationsPartlyApplied = false
    /// Why the clean-up after a validated release failed, if it did.
    var cleanupWarning: String?
    var unavailable: Double?
    var database: DatabaseSession?
    var stagingDatabase: String?
    var previousRelease: RemoteState.Release?
    var previousImageID: String?
    var imageID = ""
    /// The image's unpacked size when the host does not have it yet (0 when it does).
    var imageBytes: UInt64 = 0
    var imageRef = ""
    var productionChanged = false
    var pusher: BackgroundPush?
    var migrations: MigrationSetup?
    var containerRecord: ContainerRecord?

    public init(target: DeployTarget, options: Options) {
        self.target = target
        self.options = options
        release = "r-" + ImageTag.timestamp(started)
    }

    var out: Output { target.out }
    var context: CommandContext { target.context }
    var state: RemoteState { target.state }
    var engine: DockerEngine { target.engine }
    var env: String { target.environment.name }

    func journal(_ step: String, _ phase: String, _ data: [String: String] = [:]) throws {
        try state.record(.init(release: release, step: step, phase: phase, data: data))
    }

    /// Runs one step: journaled before and after, its duration printed.
    func step<T>(_ name: String, _ what: String, _ body: () throws -> T) throws -> T {
        let number = (Self.steps.firstIndex(of: name) ?? 0) + 1
        out.line("[\(number)/\(Self.steps.count)] \(what)")
        try journal(name, "start")
        FaultPoint.hit("\(name).start", context)
        let stepStarted = Date()
        do {
            let result = try body()
            let seconds = Date().timeIntervalSince(stepStarted)
            timings.append((name, seconds))
            try journal(name, "done", ["seconds": String(format: "%.2f", seconds)])
            out.line("      \(out.green("✓")) \(name) \(String(format: "%.1f", seconds)) s")
            FaultPoint.hit("\(name).done", context)
            return result
        } catch {
            timings.append((name, Date().timeIntervalSince(stepStarted)))
            _ = try? journal(name, "failed", ["error": context.redactor.redact("\(error)")])
            out.line("      \(out.red("✗")) \(name) failed after \(String(format: "%.1f", Date().timeIntervalSince(stepStarted))) s")
            throw error
        }
    }

    // MARK: plan

    public struct Plan: Codable, Sendable {
        public var release: String
        public var environment: String
        public var image: String
        public var imageID: String
        public var currentImageID: String?
        public var currentContainer: String
        public var pendingMigrations: [String]
        public var layers: Int
        public var layersOnHost: Int
        public var steps: [String]
        /// The running container's settings the new one takes over (after tmeops.yml's changes).
        public var carriedOver: [String]
    }

    func makePlan() throws -> Plan {
        let local = try DockerEngines.local(context)
        imageRef = options.image ?? "\(target.config.image):latest"
        guard let image = try local.image(imageRef) else {
            throw DeployError(
                message: "no image \(imageRef) in the local Docker engine (\(local.location)); build it with `tmeops image build`", rolledBack: false)
        }
        imageID = image.id
        let layers = image.rootFS.layers ?? []
        // Which layers the host lacks is worked out by the push itself (it inspects the host's images);
        // the plan only says whether the whole image is there already.
        let onHost = try engine.image(image.id) != nil ? layers.count : 0
        imageBytes = onHost == layers.count ? 0 : UInt64(max(image.size, 0))
        let current = try engine.container(target.app.container)
        previousImageID = current?.image
        let setup = try MigrationSetup(target.config)
        migrations = setup
        let files = setup.files
        let database = try Databases.open(target.environment, context: context)
        self.database = database
        let pending = try MigrationService.toApply(files: files, ledger: try MigrationLedger.entries(database.connection), environment: env)
        let carried = current == nil ? [] : try target.carriedSettings(from: target.app.container).summary
        return Plan(
            release: release, environment: env, image: imageRef, imageID: image.id, currentImageID: current?.image, currentContainer: target.app.container,
            pendingMigrations: pending.map(\.fileName), layers: layers.count, layersOnHost: onHost,
            steps: [
                "preflight: lock, production healthy, env file present, disk for the backup",
                "backup: pre-deployment backup of the database, pinned to \(release)",
                onHost == layers.count
                    ? "image: \(imageRef) is on the host already; tag it \(release) and the current image backup-…"
                    : "image: push \(imageRef) (\(layers.count) layers; only those the host lacks are sent); tag the current image backup-…",
                "migrate-test: copy the database, apply \(pending.count) pending migration\(pending.count == 1 ? "" : "s") to the copy, record a proof",
                "test-instance: \(target.test) on \(target.testInstance?.publish.map(\.description).joined(separator: ", ") ?? "3001:3000") against the copy: health, log scan, smoke checks",
                "migrate-apply: \(pending.isEmpty ? "nothing pending" : pending.map(\.fileName).joined(separator: ", "))",
                target.strategy.describeSwap(target, image: imageRef),
                "validate: health, smoke checks, log patterns since the deploy, database",
                "cleanup: remove \(target.old) and \(target.test), drop the staging copy, keep \(target.deploy.keepReleases) release images",
                "ledger: release \(release) and audit line on the host; unlock",
            ], carriedOver: carried)
    }

    // MARK: run

    /// Prints the plan, and unless it is a dry run, carries it out.
    public func run() throws -> RemoteState.Release? {
        if !options.dryRun && pusher == nil {
            // Started first, as the lock and the plan take about as long as the local engine needs to
            // begin its export; it loads nothing on the host until preflight has passed (runSteps).
            pusher = BackgroundPush(environment: target.environment, context: context, image: options.image ?? "\(target.config.image):latest")
            pusher!.start()
        }
        do {
            return try lockAndRun()
        } catch {
            pusher?.cancel()
            throw error
        }
    }

    func lockAndRun() throws -> RemoteState.Release? {
        // The lock first: while another deploy runs, its journal is not ours to judge or write to.
        if !options.dryRun {
            do {
                lock = try state.acquire(
                    message: options.message.isEmpty ? "deploy \(options.image ?? target.config.image + ":latest")" : options.message,
                    ttl: target.deploy.lockTTL.seconds, force: options.forceLock, context: context)
            } catch {
                // A lock left by a deploy that was killed: its journal says what to do.
                if let last = try state.journal().last { throw unfinished(last) }
                throw error
            }
        }
        do {
            return try runLocked()
        } catch {
            if let lock, try state.lockOwner()?.token == lock.token { try? state.release(token: lock.token) }
            throw error
        }
    }

    func unfinished(_ last: RemoteState.JournalEntry) -> DeployError {
        DeployError(
            message:
                "an earlier deploy (\(last.release)) did not finish: its journal on \(state.host) ends with \(last.step) \(last.phase) at \(last.at); run `tmeops recover -e \(env)` first",
            rolledBack: false)
    }

    func runLocked() throws -> RemoteState.Release? {
        if let last = try state.journal().last { throw unfinished(last) }
        defer { database?.close() }
        let plan = try makePlan()
        out.line("deploy \(plan.image) (\(plan.imageID.prefix(19))) to \(env) as release \(release):")
        for (index, line) in plan.steps.enumerated() { out.line("  \(index + 1). \(line)") }
        if !plan.carriedOver.isEmpty {
            out.line("  the new container keeps from \(target.app.container) (tmeops.yml's app.volumes, app.labels, app.options applied):")
            for line in plan.carriedOver { out.line("    \(line)") }
        }
        if options.dryRun {
            out.line("dry run: nothing was changed")
            return nil
        }
        previousRelease = try state.releases().last { $0.outcome == "deployed" || $0.outcome == "rollback" || $0.outcome == "recovered" }
        try target.runHook("pre-deploy", release: release, image: imageRef, previous: previousRelease?.id)
        do {
            try step("preflight", "preflight and lock") {
                try preflight()
                // What `recover` needs to write a true ledger entry if this process dies.
                try journal(
                    "preflight", "plan",
                    ["image": imageRef, "image_id": imageID, "previous": previousRelease?.id ?? "", "previous_image_id": previousImageID ?? ""])
            }
        } catch {
            // Refused before anything changed: the journal is archived, so no recover is asked for.
            try? state.closeJournal(release: release + "-refused")
            state.audit(action: "deploy", environment: env, release: release, outcome: "refused", detail: "\(error)", context: context)
            throw error
        }
        do {
            try runSteps()
        } catch {
            throw try finishFailed(error)
        }
        return try finishSucceeded()
    }

    func preflight() throws {
        if let problem = target.strategy.configProblem(target) { throw TMEOpsError.usage(problem) }
        do {
            guard let current = try engine.container(target.app.container), current.state.running else {
                throw DeployError(
                    message: "\(target.app.container) is not running on \(env); deploy needs a running production container (see `tmeops recover`)",
                    rolledBack: false)
            }
            let health = try target.healthWait(target.app.container, attempts: 3)
            guard health.healthy else {
                throw DeployError(message: "production (\(target.app.container)) is not healthy before the deploy: \(health.detail)", rolledBack: false)
            }
            if let envFile = target.app.envFile {
                let check = try target.session.capture(["test", "-r", envFile])
                guard check.exit.succeeded else {
                    throw DeployError(
                        message: "app.env_file \(envFile) does not exist (or is not readable) on \(state.host); create it before deploying", rolledBack: false)
                }
            }
            try target.checkWritableLayer(of: target.app.container, allow: options.discardContainerChanges)
            try target.checkEnvironment(allow: options.acceptEnvChanges)
            try target.checkTestPortsAndNetwork()
            let backups = try target.environment.require(BackupsConfig.self, for: "the pre-deployment backup")
            let store = BackupStore(session: target.session, dir: backups.dir, host: state.host)
            try store.ensureDirectory()
            let last = try store.list().backups.first?.size
            let databaseSize = UInt64(try database?.connection.query("SELECT pg_catalog.pg_database_size(pg_catalog.current_database())").scalar ?? "0") ?? 0
            let needed = max(last ?? databaseSize / 2, 1 << 20) * 3 / 2
            let root = (try? engine.info())?["DockerRootDir"]?.string ?? "/var/lib/docker"
            let space = DiskSpace(
                backups: try target.freeSpace(backups.dir), backupBytes: needed,
                // An engine folder the login cannot see is not measured (the load itself then reports a full disk).
                docker: imageBytes == 0 ? nil : try? target.freeSpace(root), imageBytes: imageBytes)
            if let problem = space.problem(backupsDir: backups.dir, dockerRoot: root, host: state.host) {
                throw DeployError(message: problem, rolledBack: false)
            }
        }
    }

    func runSteps() throws {
        // The image goes to the host in the background, on its own SSH connection, while the backup is
        // taken (loading an image changes nothing production runs); the image step waits for it.
        pusher!.proceed()
        backup = try step("backup", "pre-deployment backup") { () -> BackupMetadata in
            let backups = try target.environment.require(BackupsConfig.self, for: "the pre-deployment backup")
            let store = BackupStore(session: target.session, dir: backups.dir, host: state.host)
            let metadata = try BackupService.create(
                target.environment, context: context, options: .init(label: "pre-deploy-\(release)"), database: database,
                store: BackupService.OpenStore(store: store, engine: engine, session: nil))
            try store.pin(metadata.id, release: release)
            try journal("backup", "taken", ["backup": metadata.id])
            out.line("      backup \(metadata.id) (\(metadata.size) bytes, sha256 \(metadata.sha256.prefix(12))…)")
            return metadata
        }
        // The files the plan read: what was shown is what runs.
        let (files, settings, migrations) = (self.migrations!.files, self.migrations!.settings, self.migrations!.config)
        let copyName = target.testInstance?.database ?? "\(database!.target.database)_tmeops_test"
        var preparedCopy: Result<MigrationService.PreparedCopy, Error>?
        try step("image", "deliver the image") {
            if !pusher!.isFinished {
                // The next step's staging copy is made while the host is still loading the image (the
                // backup is done, and this thread would only wait); that step reports its failure.
                // Recorded before it exists: `recover` drops only a staging database the journal names.
                try journal("migrate-test", "staging", ["database": copyName])
                stagingDatabase = copyName
                preparedCopy = Result {
                    try MigrationService.prepareCopy(database!, environment: target.environment, context: context, files: files, copyName: copyName)
                }
            }
            let report = try pusher!.wait()
            try engine.tagImage(imageID, repository: target.config.image, tag: release)
            if let previousImageID { try engine.tagImage(previousImageID, repository: target.config.image, tag: "backup-\(ImageTag.timestamp(started))") }
            out.line(
                "      sent \(report.bytesSent) bytes: \(report.layers - report.layersSkipped) of \(report.layers) layers; tagged \(target.config.image):\(release)"
            )
        }
        try step("migrate-test", "staging copy and migrate test") {
            let expected = try migrations.expect.map { try SchemaSource.snapshot($0, context: context) }
            if stagingDatabase == nil { try journal("migrate-test", "staging", ["database": copyName]) }
            stagingDatabase = copyName
            let outcome = try MigrationService.test(
                database!, environment: target.environment, context: context, files: files, settings: settings, expect: expected, copyName: copyName,
                keep: true, prepared: try preparedCopy?.get(),
                log: { self.context.logger.debug("\($0)") })
            try database!.reconnect()
            guard outcome.passed else {
                throw DeployError(
                    message:
                        "the migrated staging copy differs from \(migrations.expect ?? "the expected schema") in \(outcome.expectedDiff?.count ?? 0) places",
                    rolledBack: true)
            }
            out.line(
                "      \(copyName) (\(outcome.method)): \(outcome.applied.count) migration\(outcome.applied.count == 1 ? "" : "s") applied, proof recorded")
        }
        try step("test-instance", "test instance against the staging copy") { try runTestInstance(database: copyName) }
        // The last moment nothing in production has changed: a failing pre-swap hook stops here.
        try target.runHook("pre-swap", release: release, image: imageRef, previous: previousRelease?.id)
        // Again, as files written since preflight would be lost as well.
        try target.checkWritableLayer(of: target.app.container, allow: options.discardContainerChanges)
        try step("migrate-apply", "apply migrations to production") {
            do {
                // Each file is recorded as it commits, so a failure part-way leaves a true account.
                _ = try MigrationService.apply(
                    database!, files: files, settings: settings, environment: env, untested: false, log: { self.context.logger.debug("\($0)") },
                    warn: { self.context.logger.warning("\($0)") },
                    onApplied: { applied in
                        let name = String(format: "%03d", applied.version) + "_\(applied.name)"
                        self.appliedMigrations.append(name)
                        _ = try? self.journal("migrate-apply", "applied", ["migration": name])
                    })
            } catch  where !appliedMigrations.isEmpty {
                migrationsPartlyApplied = true
                throw DeployError(
                    message:
                        "\(error). Production's database WAS changed: \(appliedMigrations.joined(separator: ", ")) applied and committed; the app still runs the previous release. "
                        + "Fix the failing migration and deploy again, or return the database to the pre-deployment backup: `tmeops backup restore \(backup?.id ?? "<id>") -e \(env)`",
                    rolledBack: false, notRestored: true)
            }
            out.line("      \(appliedMigrations.isEmpty ? "nothing to apply" : "applied \(appliedMigrations.joined(separator: ", "))")")
        }
        unavailable = try step("swap", "swap containers") { () -> Double in
            productionChanged = true
            let window = try target.switchTo(image: "\(target.config.image):\(release)", release: release) { phase, data in
                try self.journal("swap", phase, data)
            }
            containerRecord = try engine.containerDocument(target.app.container).map(ContainerRecord.init)
            out.line("      \(target.app.container) now runs \(imageRef); unavailable for \(String(format: "%.2f", window)) s")
            return window
        }
        try step("validate", "post-deploy validation") {
            let results = try ValidationService.run(
                target.environment, context: context, since: Int(started.timeIntervalSince1970), healthAttempts: 5,
                connection: (engine, target.session, database!))
            for result in results where !result.ok { out.line("      \(out.red("✗")) \(result.name): \(result.evidence)") }
            if results.contains(where: { !$0.ok }) {
                let evidence = target.evidence(target.app.container)
                let back = try target.putBack()
                throw DeployError(
                    message:
                        "post-deploy validation failed; the old container was restored (\(back.healthy ? "healthy" : "NOT healthy: \(back.detail); run `tmeops recover -e \(env)`"))",
                    rolledBack: back.healthy, notRestored: !back.healthy, evidence: evidence)
            }
            out.line("      \(results.count) checks passed")
        }
        // The release is validated and serving: a clean-up that fails is a warning in the ledger, never a
        // reason to call the deploy failed or to put the old release back.
        do {
            try step("cleanup", "clean up") { try cleanup() }
        } catch {
            cleanupWarning = context.redactor.redact("\(error)")
            context.logger.warning(
                "the release is deployed, but its clean-up failed: \(error); `tmeops recover -e \(env)` or the next deploy removes what is left")
            // The ledger must still be written: when the connection itself is what failed, open it again.
            target.reconnectIfLost()
        }
    }

    func runTestInstance(database copy: String) throws {
        try AppContainers.removeIfPresent(engine, target.test)
        guard let image = try engine.image(imageID) else { throw TMEOpsError("image \(imageID) is not in the engine of \(env)") }
        let testPorts = try target.testInstance?.publish ?? [PortMapping(parsing: "3001:3000")]
        let plan = AppContainers.Plan(
            name: target.test, image: imageID, release: release, publish: testPorts,
            network: target.app.network, aliases: [], test: true, testDatabase: copy)
        // Production's settings (limits, log options, …) with its mounts read-only: the test instance
        // runs like production and cannot write production's files.
        _ = try target.createTestContainer(plan: plan, image: image, database: copy)
        let started = Int(Date().timeIntervalSince1970) - 1
        try engine.startContainer(target.test)
        // Polled every 100 ms within the usual budget: the deploy waits on it, and an app that is ready in
        // 1.1 s should not cost 2 s.
        let health = try target.healthWait(target.test, poll: 0.1)
        guard health.healthy else {
            throw DeployError(
                message: "the test instance of \(imageRef) failed its health gate: \(health.detail); production was not touched", rolledBack: false,
                evidence: target.evidence(target.test))
        }
        let validate = target.environment.section(ValidateConfig.self) ?? ValidateConfig()
        let scan = try Checks.logScan(validate.logErrors, engine: engine, container: target.test, since: started)
        var failures = scan.ok ? [] : ["logs: \(scan.evidence)"] + scan.details
        if let details = try engine.container(target.test), let address = containerAddress(details, network: target.app.network) {
            failures += Checks.smoke(validate.smoke, session: target.session, address: address, port: target.health.port).filter { !$0.ok }.map {
                "\($0.name): \($0.evidence)"
            }
        }
        guard failures.isEmpty else {
            throw DeployError(
                message: "the test instance failed its checks: \(failures.joined(separator: "; ")); production was not touched", rolledBack: false,
                evidence: target.evidence(target.test))
        }
        out.line("      \(target.test) healthy (\(health.detail)), logs clean, \(validate.smoke.count) smoke checks passed")
    }

    func cleanup() throws {
        try AppContainers.removeIfPresent(engine, target.old)
        try AppContainers.removeIfPresent(engine, target.test)
        if let stagingDatabase, let database { try DatabaseCopy.drop(database, stagingDatabase) }
        // Releases beyond keep_releases lose their image tag (the image goes when nothing uses it) and
        // their pin on the pre-deployment backup (backup prune's rules decide about it from then on).
        // One listing of the release tags and one of the pins, so the cost does not grow with the ledger.
        let kept = try state.releases().filter { $0.outcome == "deployed" } + [ledgerEntry(outcome: "deployed", detail: nil)]
        let dropped = kept.dropLast(target.deploy.keepReleases)
        let droppedTags = Set(dropped.map { "\(target.config.image):\($0.id)" })
        let tagged = (try? engine.images(filters: ["reference": ["\(target.config.image):r-*"]])) ?? []
        for tag in tagged.flatMap({ $0.repoTags ?? [] }) where droppedTags.contains(tag) { _ = try? engine.removeImage(tag) }
        if let backups = target.environment.section(BackupsConfig.self).map({ BackupStore(session: target.session, dir: $0.dir, host: state.host) }),
            let pins = try? backups.pins()
        {
            let droppedBackups = Set(dropped.compactMap(\.backup))
            try? backups.unpin(pins.keys.filter { droppedBackups.contains($0) }.sorted())
        }
    }

    // MARK: endings

    func ledgerEntry(outcome: String, detail: String?, evidence: [String] = []) -> RemoteState.Release {
        RemoteState.Release(
            id: release, image: imageRef, imageID: imageID, previous: previousRelease?.id, previousImageID: previousImageID, backup: backup?.id,
            migrations: appliedMigrations, steps: Dictionary(timings.map { ($0.0, ($0.1 * 100).rounded() / 100) }, uniquingKeysWith: { $1 }),
            unavailableSeconds: unavailable, operatorName: lock?.owner ?? NSUserName(), message: options.message, outcome: outcome,
            at: ISO8601DateFormatter().string(from: Date()), detail: detail.map { context.redactor.redact($0) }, container: containerRecord,
            evidence: evidence.isEmpty ? nil : evidence)
    }

    func finishSucceeded() throws -> RemoteState.Release {
        let entry = ledgerEntry(outcome: "deployed", detail: cleanupWarning.map { "deployed; clean-up failed: \($0)" })
        try step("ledger", "release ledger, audit, unlock") {
            try state.recordRelease(entry)
            state.audit(action: "deploy", environment: env, release: release, outcome: "deployed", detail: "\(imageRef) \(imageID)", context: context)
        }
        // Last, after the step's own journal lines: the journal is archived, then the lock released.
        try state.closeJournal(release: release)
        try state.release(token: lock?.token)
        try? target.runHook("post-deploy", release: release, image: imageRef, previous: previousRelease?.id)
        return entry
    }

    /// After a failure past the lock: leftovers removed, production checked, ledger and audit written,
    /// the journal closed and the lock released.
    /// Returns the error to report: a plain error after production changed becomes a `DeployError`
    /// that says whether production was put back (exit 4) or not (exit 5).
    func finishFailed(_ error: Error) throws -> Error {
        var error = error
        _ = try? pusher?.wait()
        // What follows needs the host; a connection that dropped is opened again first.
        target.reconnectIfLost(attempts: 2)
        let rolledBack = (error as? DeployError).map { $0.rolledBack || $0.notRestored } ?? productionChanged
        _ = try? AppContainers.removeIfPresent(engine, target.test)
        if let stagingDatabase, let database {
            do {
                try DatabaseCopy.drop(database, stagingDatabase)
            } catch {
                // The deploy's connection may be what failed (a dropped SSH link): try once on a fresh one.
                if let fresh = try? Databases.open(target.environment, context: context) {
                    _ = try? DatabaseCopy.drop(fresh, stagingDatabase)
                    fresh.close()
                }
            }
        }
        if productionChanged {
            // A failure after the swap started: if the container named as production is this release's,
            // or none runs, the old one goes back.
            let current = (try? engine.container(target.app.container)) ?? nil
            let oldExists = ((try? engine.container(target.old)) ?? nil) != nil
            var back: HealthWait.Outcome?
            if oldExists && (current?.config.labels?["tmeops.release"] == release || current?.state.running != true) {
                back = (try? target.putBack()) ?? HealthWait.Outcome(healthy: false, attempts: 0, seconds: 0, detail: "putting it back failed")
            } else if let current, !current.state.running {
                // The container with production's name is stopped and there is nothing to put back: start it.
                back = target.startAndCheck(current.id)
            }
            if !(error is DeployError) {
                let healthy = back?.healthy ?? true
                error = DeployError(
                    message: "\(error); "
                        + (healthy
                            ? "the previous release was put back and is serving"
                            : "putting the previous release back failed (\(back?.detail ?? "?")): run `tmeops recover -e \(env)`"),
                    rolledBack: healthy, notRestored: !healthy)
            }
        }
        let outcome =
            migrationsPartlyApplied ? "partly migrated" : (error as? DeployError)?.notRestored == true ? "not restored" : rolledBack ? "rolled back" : "failed"
        let failure = error as? DeployError
        try? state.recordRelease(ledgerEntry(outcome: outcome, detail: failure?.message ?? "\(error)", evidence: failure?.evidence ?? []))
        state.audit(action: "deploy", environment: env, release: release, outcome: outcome, detail: "\(error)", context: context)
        try? state.closeJournal(release: release)
        try? state.release(token: lock?.token)
        if rolledBack && !migrationsPartlyApplied { try? target.runHook("post-rollback", release: release, image: imageRef, previous: previousRelease?.id) }
        return error
    }
}

/// An image push on a thread of its own, with its own SSH connection to the host (a libssh2 session is
/// used by one thread at a time). It starts as the deploy does: the local export, the connection and
/// the question of which layers the host has all happen while the plan is made and preflight runs; it
/// loads nothing on the host until `proceed()`, and `cancel()` stops it with nothing loaded.
final class BackgroundPush: @unchecked Sendable {
    let environment: EnvironmentConfig
    let context: CommandContext
    let image: String
    private var result: Result<ImagePush.Report, Error>? {
        get { lock.withLock { storedResult } }
        set { lock.withLock { storedResult = newValue } }
    }
    private var storedResult: Result<ImagePush.Report, Error>?
    private let done = DispatchSemaphore(value: 0)
    private let gate = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var cancelled = false
    private var thread: Thread?

    init(environment: EnvironmentConfig, context: CommandContext, image: String) {
        self.environment = environment
        self.context = context
        self.image = image
    }

    func start() {
        let thread = Thread { [self] in
            result = Result {
                let local = try DockerEngines.local(context)
                // The local engine starts writing its export before the SSH connection is even made.
                let export = try? ImagePush.startExport(image, from: local, logger: context.logger)
                do {
                    let (remote, session) = try DockerEngines.remote(environment, context: context)
                    defer { session.close() }
                    var push = ImagePush(local: local, remote: remote, logger: context.logger)
                    push.beforeLoading = { [self] in
                        gate.wait()
                        gate.signal()
                        if lock.withLock({ cancelled }) { throw TMEOpsError("the deploy stopped before the image was sent") }
                    }
                    return try push.push(image, export: export)
                } catch {
                    export?.cancel()
                    throw error
                }
            }
            done.signal()
        }
        thread.stackSize = 4 << 20
        self.thread = thread
        thread.start()
    }

    /// Lets the push load the image on the host (preflight has passed).
    func proceed() { gate.signal() }

    var isFinished: Bool { result != nil }

    /// Stops the push before it loads anything, and waits for its thread.
    func cancel() {
        lock.withLock { cancelled = true }
        gate.signal()
        _ = try? wait()
    }

    /// Waits for the push; its error, if it failed. Later calls return the same.
    func wait() throws -> ImagePush.Report {
        done.wait()
        done.signal()
        return try result!.get()
    }
}

import BackupPlugin
import Foundation
import ImagePlugin
import SchemaPlugin
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import ValidatePlugin

/// The bodies of the deploy's steps, in the order they run. Each reads the plan's facts and returns what
/// the next steps need; what must survive a failure (the staging copy's name, each committed migration,
/// that production changed) goes into `progress` the moment it is true.
extension DeployPipeline {
    /// 1. Production is running and healthy, its env file is there, nothing would be lost, and the host
    /// has room for the backup and the image.
    func preflight(_ facts: DeployFacts) throws {
        if let problem = target.strategy.configProblem(target) { throw TMEOpsError.usage(problem) }
        // Every host at once, each on its own connection; the first host (in ssh.hosts order) that
        // fails is the one reported.
        let results = OnEachHost.map(hosts) { host in try self.preflightHost(host, facts) }
        for (host, result) in zip(hosts, results) {
            if case .failure(let error) = result {
                guard several else { throw error }
                throw (error as? DeployError).map { DeployError(message: "\(host.host.name): \($0.message)", production: .unchanged, evidence: $0.evidence) }
                    ?? TMEOpsError("\(host.host.name): \(error)", exitStatus: (error as? OperatorError)?.exitStatus ?? .failure)
            }
        }
        if swarmMode { try preflightSwarm() }
        try target.checkTestPortsAndNetwork()
        let backups = try target.environment.require(BackupsConfig.self, for: "the pre-deployment backup")
        let store = BackupStore(session: target.session, dir: backups.dir, host: target.state.host)
        try store.ensureDirectory()
        let last = try store.list().backups.first?.size
        let databaseSize = UInt64(try facts.database.connection.query("SELECT pg_catalog.pg_database_size(pg_catalog.current_database())").scalar ?? "0") ?? 0
        let needed = max(last ?? databaseSize / 2, 1 << 20) * 3 / 2
        let root = (try? engine.info())?["DockerRootDir"]?.string ?? "/var/lib/docker"
        let space = DiskSpace(
            backups: try target.freeSpace(backups.dir), backupBytes: needed,
            // An engine folder the login cannot see is not measured (the load itself then reports a full disk).
            docker: facts.imageBytes == 0 ? nil : try? target.freeSpace(root), imageBytes: facts.imageBytes)
        if let problem = space.problem(backupsDir: backups.dir, dockerRoot: root, host: target.state.host) {
            throw DeployError(message: problem, production: .unchanged)
        }
    }

    /// What preflight checks on each host: production runs and is healthy, the env file is there,
    /// nothing would be lost, the environment is unchanged, and (beside the database host, which is
    /// measured with the backup) the engine has room for the image.
    func preflightHost(_ host: DeployTarget, _ facts: DeployFacts) throws {
        let place = several ? host.host.name : env
        if swarmMode { return try checkEngineRoom(host, facts) }
        guard let current = try host.engine.container(host.app.container), current.state.running else {
            throw DeployError(
                message: "\(host.app.container) is not running on \(place); deploy needs a running production container (see `tmeops recover`)",
                production: .unchanged)
        }
        let health = try host.healthWait(host.app.container, attempts: 3)
        guard health.healthy else {
            throw DeployError(message: "production (\(host.app.container)) is not healthy before the deploy: \(health.detail)", production: .unchanged)
        }
        if let envFile = host.app.envFile {
            let check = try host.session.capture(["test", "-r", envFile])
            guard check.exit.succeeded else {
                throw DeployError(
                    message: "app.env_file \(envFile) does not exist (or is not readable) on \(host.state.host); create it before deploying",
                    production: .unchanged)
            }
        }
        try host.checkWritableLayer(of: host.app.container, allow: options.discardContainerChanges)
        try host.checkEnvironment(allow: options.acceptEnvChanges)
        try checkEngineRoom(host, facts)
    }

    /// Beside the database host (measured with the backup), the host's engine has room for the image.
    func checkEngineRoom(_ host: DeployTarget, _ facts: DeployFacts) throws {
        guard host !== target, facts.imageSize > 0, try host.engine.image(facts.imageID) == nil else { return }
        let root = (try? host.engine.info())?["DockerRootDir"]?.string ?? "/var/lib/docker"
        // An engine folder the login cannot see is not measured (the load itself then reports a full disk).
        guard let docker = try? host.freeSpace(root) else { return }
        let space = DiskSpace(backups: docker, backupBytes: 0, docker: nil, imageBytes: 0)
        if docker.free < facts.imageSize * 2 {
            throw DeployError(
                message:
                    "\(root) (the Docker engine's data) on \(host.state.host) has \(space.mib(docker.free)) free; loading the image needs about \(space.mib(facts.imageSize * 2)) (twice its \(space.mib(facts.imageSize)) while it loads); free some space (docker image prune) first",
                production: .unchanged)
        }
    }

    /// 2. The pre-deployment backup, pinned to the release; its id is journaled.
    func takeBackup(_ facts: DeployFacts) throws -> BackupMetadata {
        let backups = try target.environment.require(BackupsConfig.self, for: "the pre-deployment backup")
        let store = BackupStore(session: target.session, dir: backups.dir, host: target.state.host)
        let metadata = try BackupService.create(
            target.environment, context: context, options: .init(label: "pre-deploy-\(release)"), database: facts.database,
            store: BackupService.OpenStore(store: store, engine: engine, session: nil))
        try store.pin(metadata.id, release: release)
        try journal(.backup, "taken", ["backup": metadata.id])
        out.line("      backup \(metadata.id) (\(metadata.size) bytes, sha256 \(metadata.sha256.prefix(12))…)")
        return metadata
    }

    /// 3. Waits for the background push and tags the release (and the image it replaces). While the
    /// host is still loading, the staging copy is made; the migrate test reports its failure.
    func deliverImage(_ facts: DeployFacts, push: PushGroup, copyName: String) throws -> Result<MigrationService.PreparedCopy, Error>? {
        var preparedCopy: Result<MigrationService.PreparedCopy, Error>?
        if !push.isFinished {
            // Recorded before it exists: `recover` drops only a staging database the journal names.
            try journal(.migrateTest, "staging", ["database": copyName])
            progress.stagingDatabase = copyName
            preparedCopy = Result {
                try MigrationService.prepareCopy(
                    facts.database, environment: target.environment, context: context, files: facts.migrations.files, copyName: copyName)
            }
        }
        // The push's bar (on a terminal) only now, while nothing else is printed.
        push.showProgress()
        let reports = try push.wait()
        for (host, report) in zip(hosts, reports) {
            // As this host's engine names the image: its image store may name it differently from ours.
            let delivered = report.remoteImageID.isEmpty ? facts.imageID : report.remoteImageID
            try host.engine.tagImage(delivered, repository: target.config.image, tag: release)
            progress.deliveredByHost[host.host.name] = delivered
            // The ledger's host (the database host, else the first) records the image as its engine names it.
            if host === (hosts.first { $0 === target } ?? hosts[0]) {
                progress.deliveredImageID = delivered
                try journal(.image, "delivered", ["image_id": delivered])
            }
            let previous = host === target ? facts.previousImageID : try host.engine.container(host.app.container)?.image
            if let previous {
                try host.engine.tagImage(previous, repository: target.config.image, tag: "backup-\(ImageTag.timestamp(started))")
            }
            out.line(
                "      \(several ? "\(host.host.name): " : "")sent \(report.bytesSent) bytes\(ImagePush.wireNote(report)): \(report.layers - report.layersSkipped) of \(report.layers) layers\(ImagePush.resumeNote(report)); tagged \(target.config.image):\(release)"
            )
        }
        return preparedCopy
    }

    /// 4. The pending migrations applied to the staging copy (made here unless the image step made it),
    /// checked against `migrations.expect`, and a proof recorded.
    func migrateTest(_ facts: DeployFacts, copyName: String, prepared: Result<MigrationService.PreparedCopy, Error>?) throws {
        let migrations = facts.migrations
        let expected = try migrations.config.expect.map { try SchemaSource.snapshot($0, context: context) }
        if progress.stagingDatabase == nil { try journal(.migrateTest, "staging", ["database": copyName]) }
        progress.stagingDatabase = copyName
        let outcome = try MigrationService.test(
            facts.database, environment: target.environment, context: context, files: migrations.files, settings: migrations.settings,
            expect: expected, copyName: copyName, keep: true, prepared: try prepared?.get(), log: { self.context.logger.debug("\($0)") })
        try facts.database.reopened()
        guard outcome.passed else {
            throw DeployError(
                message:
                    "the migrated staging copy differs from \(migrations.config.expect ?? "the expected schema") in \(outcome.expectedDiff?.count ?? 0) places",
                production: .putBack)
        }
        out.line("      \(copyName) (\(outcome.method)): \(outcome.applied.count) migration\(outcome.applied.count == 1 ? "" : "s") applied, proof recorded")
    }

    /// 5. A container of the new image on the test port against the staging copy, with production's
    /// settings and its mounts read-only: health, log scan, smoke checks.
    func runTestInstance(_ facts: DeployFacts, database copy: String) throws {
        if swarmMode { return try runSwarmTestInstance(facts, database: copy) }
        try AppContainers.removeIfPresent(engine, target.test)
        guard let image = try engine.image(imageID(facts)) else { throw TMEOpsError("image \(imageID(facts)) is not in the engine of \(env)") }
        let testPorts = try target.testInstance?.publish ?? [PortMapping(parsing: "3001:3000")]
        let plan = AppContainers.Plan(
            name: target.test, image: imageID(facts), release: release, publish: testPorts,
            network: target.app.network, aliases: [], test: true, testDatabase: copy)
        _ = try target.createTestContainer(plan: plan, image: image, database: copy)
        let started = Int(Date().timeIntervalSince1970) - 1
        try engine.startContainer(target.test)
        // Polled every 100 ms within the usual budget: the deploy waits on it, and an app that is ready in
        // 1.1 s should not cost 2 s.
        let health = try target.healthWait(target.test, poll: 0.1)
        guard health.healthy else {
            throw DeployError(
                message: "the test instance of \(facts.imageRef) failed its health gate: \(health.detail); production was not touched",
                production: .unchanged, evidence: target.evidence(target.test))
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
                message: "the test instance failed its checks: \(failures.joined(separator: "; ")); production was not touched", production: .unchanged,
                evidence: target.evidence(target.test))
        }
        out.line("      \(target.test) healthy (\(health.detail)), logs clean, \(validate.smoke.count) smoke checks passed")
    }

    /// 6. The tested migrations applied to production with the proof, each file journaled as it commits.
    func applyMigrations(_ facts: DeployFacts) throws {
        let migrations = facts.migrations
        do {
            _ = try MigrationService.apply(
                facts.database, files: migrations.files, settings: migrations.settings, environment: env, untested: false,
                log: { self.context.logger.debug("\($0)") }, warn: { self.context.logger.warning("\($0)") },
                onApplied: { applied in
                    let name = String(format: "%03d", applied.version) + "_\(applied.name)"
                    self.progress.appliedMigrations.append(name)
                    // Committed already: a journal line that cannot be written is said, not hidden (the
                    // ledger still lists it, from memory, unless the process dies before).
                    self.recordOrWarn("the journal's line for the applied migration \(name)") {
                        try self.journal(.migrateApply, "applied", ["migration": name])
                    }
                })
        } catch  where !progress.appliedMigrations.isEmpty {
            progress.migrationsPartlyApplied = true
            throw DeployError(
                message:
                    "\(error). Production's database WAS changed: \(progress.appliedMigrations.joined(separator: ", ")) applied and committed; the app still runs the previous release. "
                    + "Fix the failing migration and deploy again, or return the database to the pre-deployment backup: `tmeops backup restore \(progress.backup?.id ?? "<id>") -e \(env)`",
                production: .notRestored)
        }
        let applied = progress.appliedMigrations
        out.line("      \(applied.isEmpty ? "nothing to apply" : "applied \(applied.joined(separator: ", "))")")
    }

    /// 7. The strategy's swap; returns how long the app was unavailable.
    func swap(_ facts: DeployFacts) throws -> Double {
        progress.productionChanged = true
        if swarmMode { return try swarmSwap(facts) }
        if several { return try rollingSwap(facts) }
        let window = try target.switchTo(image: "\(target.config.image):\(release)", release: release) { phase, data in
            try self.journal(.swap, phase, data)
        }
        progress.containerRecord = try engine.containerDocument(target.app.container).map(ContainerRecord.init)
        out.line("      \(target.app.container) now runs \(facts.imageRef); unavailable for \(String(format: "%.2f", window)) s")
        return window
    }

    /// 8. Validation against production; a failure puts the previous release back.
    func validate(_ facts: DeployFacts) throws {
        if swarmMode { return try validateSwarm(facts) }
        if several { return try validateEachHost(facts) }
        let results = try ValidationService.run(
            target.environment, context: context, since: Int(started.timeIntervalSince1970), healthAttempts: 5,
            connection: (engine, target.session, facts.database))
        for result in results where !result.ok { out.line("      \(out.red("✗")) \(result.name): \(result.evidence)") }
        if results.contains(where: { !$0.ok }) {
            let evidence = target.evidence(target.app.container)
            let back = try target.putBack()
            throw DeployError(
                message:
                    back.healthy
                    ? "post-deploy validation failed; the old container was restored (healthy)"
                    : "post-deploy validation failed; the previous release was not put back: \(back.detail); run `tmeops recover -e \(env)`",
                production: .afterPutBack(healthy: back.healthy), evidence: evidence)
        }
        out.line("      \(results.count) checks passed")
    }

    /// 9. The old and test containers and the staging copy removed; releases beyond `keep_releases` lose
    /// their image tag and their backup's pin.
    func cleanup(_ facts: DeployFacts) throws {
        for host in hosts {
            try AppContainers.removeIfPresent(host.engine, host.old)
            try AppContainers.removeIfPresent(host.engine, host.test)
        }
        if let stagingDatabase = progress.stagingDatabase { try DatabaseCopy.drop(facts.database, stagingDatabase) }
        if swarmMode { try cleanupSwarm() }
        // Releases beyond keep_releases lose their image tag (the image goes when nothing uses it) and
        // their pin on the pre-deployment backup (backup prune's rules decide about it from then on).
        // One listing of the release tags and one of the pins, so the cost does not grow with the ledger.
        let (droppedTags, droppedBackups) = CleanupChoice.dropped(
            ledger: try state.releases(), new: ledgerEntry(facts, outcome: "deployed", detail: nil), keep: target.deploy.keepReleases,
            image: target.config.image)
        for host in hosts {
            let tagged = (try? host.engine.images(filters: ["reference": ["\(target.config.image):r-*"]])) ?? []
            for tag in tagged.flatMap({ $0.repoTags ?? [] }) where droppedTags.contains(tag) { _ = try? host.engine.removeImage(tag) }
        }
        if let backups = target.environment.section(BackupsConfig.self).map({ BackupStore(session: target.session, dir: $0.dir, host: target.state.host) }),
            let pins = try? backups.pins()
        {
            try? backups.unpin(pins.keys.filter { droppedBackups.contains($0) }.sorted())
        }
    }
}

/// What a deploy's clean-up drops, from the ledger alone: among the deployed releases with the new one
/// last, those beyond `keep` lose their image tag (`image:<release id>`) and their backup's pin.
enum CleanupChoice {
    static func dropped(ledger: [RemoteState.Release], new: RemoteState.Release, keep: Int, image: String) -> (tags: Set<String>, backups: Set<String>) {
        let dropped = (ledger.filter { $0.outcome == "deployed" } + [new]).dropLast(keep)
        return (Set(dropped.map { "\(image):\($0.id)" }), Set(dropped.compactMap(\.backup)))
    }
}

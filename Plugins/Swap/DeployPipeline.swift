import BackupPlugin
import Foundation
import ImagePlugin
import SchemaPlugin
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import ValidatePlugin

/// `tmeops deploy`: the ten steps of `DeployStep` in order, each journaled on the host before and after
/// it runs, with automatic rollback and a release ledger entry whatever happens. The plan's findings
/// (`DeployFacts`) are read once and passed to every step; what the steps have done is kept in one
/// `DeployProgress`, which the ledger entry and the failure handling read.
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
        /// Seconds to wait for a deploy lock another holder has before refusing.
        public var lockWait: TimeInterval

        public init(
            image: String? = nil, message: String = "", dryRun: Bool = false, forceLock: Bool = false, discardContainerChanges: Bool = false,
            acceptEnvChanges: Bool = false, lockWait: TimeInterval = 0
        ) {
            self.lockWait = lockWait
            self.image = image
            self.message = message
            self.dryRun = dryRun
            self.forceLock = forceLock
            self.discardContainerChanges = discardContainerChanges
            self.acceptEnvChanges = acceptEnvChanges
        }
    }

    /// Writes a record (a journal or ledger line) on a path that is already failing: a write that fails
    /// is not hidden but shown to the operator as a warning naming what was not recorded and why, and
    /// does not replace the error being reported. Whether it was written.
    @discardableResult
    func recordOrWarn(_ what: String, _ write: () throws -> Void) -> Bool {
        do {
            try write()
            return true
        } catch {
            context.logger.warning("\(what) could not be written on \(state.host): \(context.redactor.redact("\(error)"))")
            return false
        }
    }

    /// The steps' names, in order, as the journal and the ledger's timings spell them.
    public static let steps = DeployStep.allCases.map(\.rawValue)

    /// What the steps have done so far.
    struct DeployProgress {
        var lock: RemoteState.LockOwner?
        var previousRelease: RemoteState.Release?
        var backup: BackupMetadata?
        /// The staging copy, once its name is journaled (before it exists, so `recover` can drop it).
        var stagingDatabase: String?
        /// Migrations committed on production, each recorded as it commits.
        var appliedMigrations: [String] = []
        /// Some migrations committed on production, then one failed: the database changed, the app did not.
        var migrationsPartlyApplied = false
        /// The swap has begun: from here a failure puts the previous release back.
        var productionChanged = false
        /// The step whose failure ended the deploy (the first that failed).
        var failedStep: DeployStep?
        var unavailable: Double?
        var containerRecord: ContainerRecord?
        /// Why the clean-up after a validated release failed, if it did.
        var cleanupWarning: String?
        var timings: [(String, Double)] = []
        /// What the database host's engine names the delivered image (its image store may name it
        /// differently from the local engine's).
        var deliveredImageID: String?
        /// The same, for each host (by its name).
        var deliveredByHost: [String: String] = [:]
    }

    /// The image's ID on the database host: once delivered, as that engine names it.
    func imageID(_ facts: DeployFacts) -> String { progress.deliveredImageID ?? facts.imageID }

    /// The host the database work happens on (backup, staging copy, test instance): the database host.
    let target: DeployTarget
    /// Every host of the environment, in `ssh.hosts` order (just `target` for an environment of one).
    /// The first keeps the lock, the journal of the deploy's steps and the release ledger; each keeps a
    /// journal of its own swap.
    let hosts: [DeployTarget]
    let options: Options
    let release: String
    let started = Date()
    var progress = DeployProgress()
    /// The swap across several hosts (unused on one).
    lazy var rolling = RollingSwap(hosts: hosts, context: context)
    /// The image pushes, when the caller started them already (they start before the deploy connects).
    var pushes: PushGroup?

    public init(target: DeployTarget, options: Options, hosts: [DeployTarget] = []) {
        self.target = target
        self.hosts = hosts.isEmpty ? [target] : hosts
        self.options = options
        release = "r-" + ImageTag.timestamp(started)
    }

    var out: Output { target.out }
    var context: CommandContext { target.context }
    /// The host that keeps the lock, the steps' journal and the ledger.
    var lead: DeployTarget { hosts[0] }
    var state: RemoteState { lead.state }
    var several: Bool { hosts.count > 1 }
    var engine: DockerEngine { target.engine }
    var env: String { target.environment.name }
    var imageRef: String { options.image ?? "\(target.config.image):latest" }

    func journal(_ step: DeployStep, _ phase: String, _ data: [String: String] = [:]) throws {
        try state.record(.init(release: release, step: step.rawValue, phase: phase, data: data), holding: progress.lock?.token)
    }

    /// Runs one step: journaled before and after, its duration printed and kept for the ledger.
    func step<T>(_ step: DeployStep, _ body: () throws -> T) throws -> T {
        let name = step.rawValue
        out.line("[\(step.number)/\(DeployStep.allCases.count)] \(step.title)")
        try journal(step, "start")
        FaultPoint.hit("\(name).start", context)
        let stepStarted = Date()
        do {
            let result = try body()
            let seconds = Date().timeIntervalSince(stepStarted)
            progress.timings.append((name, seconds))
            try journal(step, "done", ["seconds": String(format: "%.2f", seconds)])
            out.line("      \(out.green("✓")) \(name) \(String(format: "%.1f", seconds)) s")
            FaultPoint.hit("\(name).done", context)
            return result
        } catch {
            progress.failedStep = progress.failedStep ?? step
            progress.timings.append((name, Date().timeIntervalSince(stepStarted)))
            recordOrWarn("the journal's line for the failed step \(name)") { try journal(step, "failed", ["error": context.redactor.redact("\(error)")]) }
            out.line("      \(out.red("✗")) \(name) failed after \(String(format: "%.1f", Date().timeIntervalSince(stepStarted))) s")
            throw error
        }
    }

    // MARK: run

    /// Prints the plan, and unless it is a dry run, carries it out.
    public func run() throws -> RemoteState.Release? {
        if options.dryRun {
            let facts = try planAndShow()
            facts.database.close()
            out.line("dry run: nothing was changed")
            return nil
        }
        // Started first, as the lock and the plan take about as long as the local engine needs to begin
        // its export; it loads nothing on the host until preflight has passed (runSteps). With
        // --lock-wait it starts once the lock is held: a connection left idle while another deploy runs
        // may be dropped by a firewall on the way.
        var push: PushGroup? = pushes
        if push == nil, options.lockWait <= 0 { push = startedPush() }
        do {
            try takeLock()
            let group = push ?? startedPush()
            push = group
            do {
                return try runLocked(group)
            } catch {
                if let lock = progress.lock, try state.lockOwner()?.token == lock.token { try? state.release(token: lock.token) }
                throw error
            }
        } catch {
            push?.cancel()
            throw error
        }
    }

    /// The image pushes to every host, started.
    func startedPush() -> PushGroup {
        let push = PushGroup(environment: target.environment, config: target.config, context: context, image: imageRef, hosts: hosts.map(\.host.name))
        push.start()
        return push
    }

    func takeLock() throws {
        // The lock first: while another deploy runs, its journal is not ours to judge or write to.
        do {
            progress.lock = try state.acquire(
                message: options.message.isEmpty ? "deploy \(imageRef)" : options.message, ttl: target.deploy.lockTTL.seconds,
                force: options.forceLock, wait: options.lockWait, context: context)
        } catch {
            // A lock left by a deploy that was killed: its journal says what to do. A deploy that still
            // runs (elsewhere, renewing its lock) has a journal too, and is only waited for.
            let refusal: Error = state.abandonedDeployJournal(ttl: target.deploy.lockTTL.seconds).map { unfinished($0) } ?? error
            // Appended without the lock: an audit line is one small write, and whoever holds the lock
            // never reads the log.
            state.audit(action: "deploy", environment: target.environment.name, release: nil, outcome: "refused", detail: "\(refusal)", context: context)
            throw refusal
        }
    }

    func unfinished(_ last: RemoteState.JournalEntry, on host: DeployTarget? = nil) -> DeployError {
        DeployError(
            message:
                "an earlier deploy (\(last.release)) did not finish: its journal on \((host ?? lead).state.host) ends with \(last.step) \(last.phase) at \(last.at); run `tmeops recover -e \(env)` first",
            production: .unchanged)
    }

    /// Reads the facts and prints the plan: one line per step, then the settings carried over.
    func planAndShow() throws -> DeployFacts {
        for host in hosts {
            if let last = try host.state.journal().last { throw unfinished(last, on: host) }
        }
        let facts = try DeployFacts.read(target, imageRef: imageRef, context: context)
        out.line("deploy \(facts.imageRef) (\(facts.imageID.prefix(19))) to \(env) as release \(release):")
        if several {
            out.line(
                "  on \(hosts.count) hosts: \(hosts.map(\.host.name).joined(separator: ", ")); lock and ledger on \(lead.host.name), database work on \(target.host.name)"
            )
        }
        for step in DeployStep.allCases {
            out.line("  \(step.number). \(step.plan(facts, target: target, release: release))")
            if several && step == .swap && !swarmMode {
                let deploy = target.deploy
                out.line(
                    "     on each host, in \(DeployBatches.describe(batches.map { $0.map(\.host.name) }))"
                        + BalancerSettle.plan(configured: deploy.batchWait, batches: batches.count, portsClose: !(target.strategy is ProxyStrategy))
                        + "; "
                        + "a host that fails its health gate puts every host already swapped back")
            }
        }
        if !facts.carriedOver.isEmpty && !swarmMode {
            out.line("  the new container keeps from \(target.app.container) (tmeops.yml's app.volumes, app.labels, app.options applied):")
            for line in facts.carriedOver { out.line("    \(line)") }
        }
        return facts
    }

    func runLocked(_ push: PushGroup) throws -> RemoteState.Release {
        let facts = try planAndShow()
        defer { facts.database.close() }
        progress.previousRelease = try state.releases().last { $0.outcome == "deployed" || $0.outcome == "rollback" || $0.outcome == "recovered" }
        try target.runHook("pre-deploy", release: release, image: imageRef, previous: progress.previousRelease?.id)
        do {
            try step(.preflight) {
                try preflight(facts)
                // What `recover` needs to write a true ledger entry if this process dies.
                try journal(
                    .preflight, "plan",
                    [
                        "image": facts.imageRef, "image_id": facts.imageID, "previous": progress.previousRelease?.id ?? "",
                        "previous_image_id": facts.previousImageID ?? "",
                    ])
            }
        } catch {
            // Refused before anything changed: the journal is archived, so no recover is asked for.
            recordOrWarn("archiving the journal of the refused deploy") { try state.closeJournal(release: release, archivedAs: release + "-refused") }
            state.audit(action: "deploy", environment: env, release: release, outcome: "refused", detail: "\(error)", context: context)
            throw error
        }
        do {
            try runSteps(facts, push: push)
        } catch {
            _ = try? push.wait()
            throw try finishFailed(error, facts)
        }
        return try finishSucceeded(facts)
    }

    /// Steps 2 to 9, each with what it reads passed in and what it gives back returned.
    func runSteps(_ facts: DeployFacts, push: PushGroup) throws {
        // The image goes to the host in the background, on its own SSH connection, while the backup is
        // taken (loading an image changes nothing production runs); the image step waits for it.
        push.proceed()
        progress.backup = try step(.backup) { try takeBackup(facts) }
        let copyName = target.testInstance?.database ?? "\(facts.database.target.database)_tmeops_test"
        let preparedCopy = try step(.image) { try deliverImage(facts, push: push, copyName: copyName) }
        try step(.migrateTest) { try migrateTest(facts, copyName: copyName, prepared: preparedCopy) }
        try step(.testInstance) { try runTestInstance(facts, database: copyName) }
        // The last moment nothing in production has changed: a failing pre-swap hook stops here.
        try target.runHook("pre-swap", release: release, image: imageRef, previous: progress.previousRelease?.id)
        // Again, as files written since preflight would be lost as well.
        for host in hosts { try host.checkWritableLayer(of: host.app.container, allow: options.discardContainerChanges) }
        try step(.migrateApply) { try applyMigrations(facts) }
        progress.unavailable = try step(.swap) { try swap(facts) }
        try step(.validate) { try validate(facts) }
        // The release is validated and serving: a clean-up that fails is a warning in the ledger, never a
        // reason to call the deploy failed or to put the old release back.
        do {
            try step(.cleanup) { try cleanup(facts) }
        } catch {
            progress.cleanupWarning = context.redactor.redact("\(error)")
            context.logger.warning(
                "the release is deployed, but its clean-up failed: \(error); `tmeops recover -e \(env)` or the next deploy removes what is left")
            // The ledger must still be written: when the connection itself is what failed, open it again.
            lead.reconnectIfLost()
        }
    }

    // MARK: endings

    func ledgerEntry(_ facts: DeployFacts, outcome: String, detail: String?, evidence: [String] = []) -> RemoteState.Release {
        RemoteState.Release(
            id: release, image: facts.imageRef, imageID: imageID(facts), previous: progress.previousRelease?.id, previousImageID: facts.previousImageID,
            backup: progress.backup?.id, migrations: progress.appliedMigrations,
            steps: Dictionary(progress.timings.map { ($0.0, ($0.1 * 100).rounded() / 100) }, uniquingKeysWith: { $1 }),
            unavailableSeconds: progress.unavailable, operatorName: progress.lock?.owner ?? NSUserName(), message: options.message, outcome: outcome,
            at: ISO8601DateFormatter().string(from: Date()), detail: detail.map { context.redactor.redact($0) }, container: progress.containerRecord,
            evidence: evidence.isEmpty ? nil : evidence)
    }

    func finishSucceeded(_ facts: DeployFacts) throws -> RemoteState.Release {
        tagOperatorsReference(facts)
        let entry = ledgerEntry(facts, outcome: "deployed", detail: progress.cleanupWarning.map { "deployed; clean-up failed: \($0)" })
        try step(.ledger) {
            try state.recordRelease(entry)
            state.audit(
                action: "deploy", environment: env, release: release, outcome: "deployed", detail: "\(facts.imageRef) \(imageID(facts))", context: context)
        }
        // Last, after the step's own journal lines: the journals are archived, then the lock released.
        try state.closeJournal(release: release)
        for host in hosts.dropFirst() {
            // The release is deployed and recorded: a host whose journal cannot be archived now is
            // warned about, never a reason to call the deploy failed.
            do { try host.state.closeJournal(release: release) } catch { context.logger.warning("\(host.host.name): \(error)") }
        }
        try state.release(token: progress.lock?.token)
        try? target.runHook("post-deploy", release: release, image: imageRef, previous: progress.previousRelease?.id)
        return entry
    }

    /// The release passed its gates: the tag the operator named (`X:latest`) now names it on every host
    /// too, as it does here. (The image was delivered untagged; until now that tag on a server still
    /// named the previous image, so nothing that starts it by that tag ran an untested release.)
    func tagOperatorsReference(_ facts: DeployFacts) {
        let reference = facts.imageRef
        guard !reference.hasPrefix("sha256:"), !facts.imageID.hasPrefix(reference), !facts.imageID.dropFirst(7).hasPrefix(reference) else { return }
        let (repository, tag) = ImagePush.split(reference)
        for host in hosts {
            guard let id = progress.deliveredByHost[host.host.name] else { continue }
            do {
                try host.engine.tagImage(id, repository: repository, tag: tag)
            } catch {
                context.logger.warning("\(host.host.name): tagging the release's image \(reference) failed: \(error)")
            }
        }
    }

    /// After a failure past the lock: leftovers removed, production checked, ledger and audit written,
    /// the journal closed and the lock released.
    /// Returns the error to report: a plain error after production changed becomes a `DeployError`
    /// that says whether production was put back (exit 4) or not (exit 5).
    func finishFailed(_ error: Error, _ facts: DeployFacts) throws -> Error {
        var error = error
        // What follows needs the host; a connection that dropped is opened again first.
        for host in hosts { host.reconnectIfLost(attempts: 2) }
        _ = try? AppContainers.removeIfPresent(engine, target.test)
        if let stagingDatabase = progress.stagingDatabase {
            do {
                try DatabaseCopy.drop(facts.database, stagingDatabase)
            } catch {
                // The deploy's connection may be what failed (a dropped SSH link): try once on a fresh one.
                if let fresh = try? Databases.open(target.environment, context: context) {
                    _ = try? DatabaseCopy.drop(fresh, stagingDatabase)
                    fresh.close()
                }
            }
        }
        var checked: Bool?
        if progress.productionChanged {
            // A failure after the swap started: on every host where the container named as production is
            // this release's, or none runs, the old one goes back.
            var back: HealthWait.Outcome?
            for host in hosts {
                let current = (try? host.engine.container(host.app.container)) ?? nil
                let oldExists = ((try? host.engine.container(host.old)) ?? nil) != nil
                var outcome: HealthWait.Outcome?
                let found = current.map { (release: $0.config.labels?["tmeops.release"], running: $0.state.running) }
                switch FailureOutcome.putBack(release: release, production: found, oldExists: oldExists, swarm: swarmMode) {
                case .restoreRetired:
                    outcome = (try? host.restoreOld()) ?? HealthWait.Outcome(healthy: false, attempts: 0, seconds: 0, detail: "putting it back failed")
                case .putBackOld:
                    outcome = (try? host.putBack()) ?? HealthWait.Outcome(healthy: false, attempts: 0, seconds: 0, detail: "putting it back failed")
                case .startProduction:
                    if let current {
                        outcome = host.startAndCheck(current.id)
                        // A proxy may still send traffic to this release's container: it goes back to
                        // production's, and that container goes.
                        if outcome?.healthy == true {
                            do {
                                _ = try host.strategy.repair(host)
                                try AppContainers.removeIfPresent(host.engine, host.new)
                            } catch {
                                outcome = HealthWait.Outcome(healthy: false, attempts: 0, seconds: 0, detail: "the previous release runs, but \(error)")
                            }
                        }
                    }
                case .nothing:
                    // Production's container runs and is not this release's: checked, never assumed.
                    if current != nil, !swarmMode {
                        outcome =
                            (try? host.healthWait(host.app.container, poll: 0.05))
                            ?? HealthWait.Outcome(healthy: false, attempts: 0, seconds: 0, detail: "its health could not be checked")
                    }
                }
                if let outcome, back?.healthy != false {
                    back = outcome
                    if several { back?.detail = "\(host.host.name): \(outcome.detail)" }
                }
            }
            checked = back?.healthy
            if !(error is DeployError) {
                let healthy = back?.healthy ?? false
                error = DeployError(
                    message: "\(error); "
                        + (healthy
                            ? "the previous release was put back and is serving"
                            : "putting the previous release back failed (\(back?.detail ?? "?")): run `tmeops recover -e \(env)`"),
                    production: .afterPutBack(healthy: healthy))
            }
        }
        // How it ends follows from the step that failed and what the put-back found, whatever the error
        // itself claimed (`FailureOutcome.classify`); the error then says the same.
        let ending = FailureOutcome.classify(
            failedAt: progress.failedStep ?? .preflight, swapStarted: progress.productionChanged, declared: (error as? DeployError)?.production,
            putBackHealthy: checked, migrationsPartlyApplied: progress.migrationsPartlyApplied, severalHosts: several)
        if let declared = error as? DeployError, declared.production != ending.production {
            error = DeployError(message: declared.message, production: ending.production, evidence: declared.evidence)
        }
        let failure = error as? DeployError
        let outcome = ending.ledgerOutcome
        // A ledger line that cannot be written keeps the journal, so that `recover` writes it.
        let recorded = recordOrWarn("the ledger line of release \(release) (\(outcome))") {
            try state.recordRelease(ledgerEntry(facts, outcome: outcome, detail: failure?.message ?? "\(error)", evidence: failure?.evidence ?? []))
        }
        state.audit(action: "deploy", environment: env, release: release, outcome: outcome, detail: "\(error)", context: context)
        if !ending.keepsJournals && recorded {
            for host in hosts.dropFirst() { recordOrWarn("closing the journal on \(host.host.name)") { try host.state.closeJournal(release: release) } }
            recordOrWarn("closing the journal on \(state.host)") { try state.closeJournal(release: release) }
        }
        _ = recordOrWarn("releasing the deploy lock") { try state.release(token: progress.lock?.token) }
        if ending.runsPostRollbackHook {
            try? target.runHook("post-rollback", release: release, image: imageRef, previous: progress.previousRelease?.id)
        }
        return error
    }
}

/// How a deploy that failed past its lock ends, decided from what happened (no host is asked): what each
/// host gets back, the ledger's outcome, whether the journals stay for `recover`, and whether the
/// `post-rollback` hook runs. The exit status follows from the `DeployError` (1, 4 or 5).
struct FailureOutcome: Equatable {
    /// What production was left as (from the `DeployError`; unchanged for any other error).
    let production: ProductionAfterFailure
    /// A migration failed part-way on production (its ledger line says so, whatever else happened).
    let migrationsPartlyApplied: Bool
    let severalHosts: Bool

    /// The exit status: 1, 4 or 5.
    var exitStatus: ExitStatus { production.exitStatus }

    /// How a deploy that failed at `step` ends. Before the swap nothing production runs was touched
    /// (`unchanged`, exit 1), whatever the error says, unless migrations were committed part-way on
    /// its database (`notRestored`, ledger `partly migrated`). From the swap on (once it started):
    /// `notRestored` when the error says so or the put-back's health check failed; `unchanged` when the
    /// strategy says production was never switched (and its check passed); `putBack` when a put-back
    /// was declared or checked healthy; never `putBack` on no evidence.
    static func classify(
        failedAt step: DeployStep, swapStarted: Bool, declared: ProductionAfterFailure?, putBackHealthy: Bool?, migrationsPartlyApplied: Bool,
        severalHosts: Bool
    ) -> FailureOutcome {
        let production: ProductionAfterFailure
        switch step {
        case .preflight, .backup, .image, .migrateTest, .testInstance, .migrateApply:
            production = migrationsPartlyApplied ? .notRestored : .unchanged
        case .swap where !swapStarted:
            production = .unchanged
        case .swap, .validate, .cleanup, .ledger:
            if declared == .notRestored || putBackHealthy == false {
                production = .notRestored
            } else if declared == .unchanged {
                production = .unchanged
            } else if declared == .putBack || putBackHealthy == true {
                production = .putBack
            } else {
                production = .notRestored
            }
        }
        return FailureOutcome(production: production, migrationsPartlyApplied: migrationsPartlyApplied, severalHosts: severalHosts)
    }

    /// The word the release ledger and the audit record.
    var ledgerOutcome: String {
        if migrationsPartlyApplied { return "partly migrated" }
        switch production {
        case .unchanged: return "failed"
        case .putBack: return "rolled back"
        case .notRestored: return "not restored"
        }
    }

    /// Hosts left on different releases keep their journals, so that `recover` knows the release on every
    /// host (it then brings all of them to one); otherwise they are archived.
    var keepsJournals: Bool { severalHosts && production == .notRestored && !migrationsPartlyApplied }

    /// Production changed: the `post-rollback` hook runs (unless the database is half migrated).
    var runsPostRollbackHook: Bool { production != .unchanged && !migrationsPartlyApplied }

    /// What one host needs after a failure once the swap had started.
    enum PutBack: Equatable {
        /// A plain container retired for a swarm's front door takes its name and port back.
        case restoreRetired
        /// The old container goes back in place of this release's (or of a stopped one).
        case putBackOld
        /// Production's container is stopped and there is nothing to put back: it is started.
        case startProduction
        case nothing
    }

    /// `production`: the container named as production (its release label, whether it runs), if any.
    static func putBack(release: String, production: (release: String?, running: Bool)?, oldExists: Bool, swarm: Bool) -> PutBack {
        if oldExists && swarm && production == nil { return .restoreRetired }
        if oldExists && (production?.release == release || production?.running != true) { return .putBackOld }
        if let production, !production.running { return .startProduction }
        return .nothing
    }
}

import ArgumentParser
import BackupPlugin
import Foundation
import ImagePlugin
import SchemaPlugin
import TMEOpsCore
import TMEOpsDocker
import TMEOpsPostgres
import TransferPlugin
import ValidatePlugin

/// Opens the deploy target of the command's environment (`loaded`, or loaded here), runs `body` on a thread, closes it.
func withTarget<T: Sendable>(
    _ context: CommandContext, _ what: String, loaded: (LoadedConfig, EnvironmentConfig)? = nil, _ body: @escaping @Sendable (DeployTarget) throws -> T
) async throws -> T {
    let (config, environment) = try loaded ?? context.loadEnvironment()
    return try await runBlocking(what) {
        let target = try DeployTarget(context: context, config: config, environment: environment)
        defer { target.close() }
        return try body(target)
    }
}

/// `tmeops deploy -e ENV`.
public struct DeployCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Deploy the app image to an environment, with backup, migrations, swap and rollback.",
        discussion: """
            Ten steps in order, none skippable: preflight and lock; pre-deployment backup; \
            image push (only the missing layers) and a backup tag of the current image; staging copy and \
            migrate test; a test instance on the test port against the copy (health, log scan, smoke \
            checks); migrate apply with its proof; the swap (old container kept stopped as <name>-old until \
            the new one is healthy); post-deploy validation; cleanup; ledger, audit and unlock. Every step \
            is journaled on the host; an interrupted deploy is finished or undone by `tmeops recover`.
            Exit 0 deployed; 1 failed before production changed (preflight, image, migrate test, test instance); 4 production changed, the deploy failed and production was put back; 5 production changed and could not be put back (the error names the command that restores it).

            The new container keeps every setting of the running one that tmeops.yml does not name: \
            mounts and volumes, restart policy, memory and CPU limits, log options, capabilities, user, \
            healthcheck, labels (compose's included); app.volumes, app.labels and app.options change them. \
            --dry-run lists what is carried over. A running container that wrote files into its own layer \
            under the app's folder is refused (they would be lost) unless --discard-container-changes.

            app.env_file is read with the rules of the tool that made the running container (docker \
            compose's when it carries compose's labels: quotes stripped, `export`, escapes, comments; else \
            docker run --env-file's; app.env_file_format chooses) and put into the new container, never into \
            its configuration. Preflight compares the variables key by key with the running container's and \
            refuses on a difference (keys named, values never shown) unless --accept-env-changes.

            Examples:
              tmeops deploy -e production --dry-run
              tmeops deploy -e production --image tme-portal-server:20261126-101500 --message "revision numbers"
            """)

    @OptionGroup public var globals: GlobalOptions

    @Option(help: "The local image to deploy (default: IMAGE:latest).")
    public var image: String?

    @Option(help: "Why: kept in the lock, the ledger and the audit log.")
    public var message: String = ""

    @Flag(help: "Break the deploy lock if it has expired (older than deploy.lock_ttl).")
    public var force = false

    @Flag(help: "Deploy although the running container wrote files into its own layer, which the new one will not have.")
    public var discardContainerChanges = false

    @Flag(help: "Deploy although the new container's environment variables differ from the running one's.")
    public var acceptEnvChanges = false

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let options = DeployPipeline.Options(
            image: image, message: message, dryRun: context.dryRun, forceLock: force, discardContainerChanges: discardContainerChanges,
            acceptEnvChanges: acceptEnvChanges)
        // The push starts before the deploy's own SSH connection: the local engine needs a while before
        // the first byte of its export. It loads nothing on the host until preflight has passed.
        let (config, environment) = try context.loadEnvironment()
        let pusher = context.dryRun ? nil : BackgroundPush(environment: environment, context: context, image: image ?? "\(config.image):latest")
        pusher?.start()
        let release: RemoteState.Release?
        do {
            release = try await withTarget(context, "deploy", loaded: (config, environment)) { target in
                let pipeline = DeployPipeline(target: target, options: options)
                pipeline.pusher = pusher
                return try pipeline.run()
            }
        } catch {
            pusher?.cancel()
            throw error
        }
        guard let release else { return }
        let out = context.output
        if context.json { return try out.writeJSON(release) }
        out.line("")
        out.line("\(out.green("✓")) released \(release.id): \(release.image) (\(release.imageID.prefix(19)))")
        out.line("  unavailable: \(release.unavailableSeconds.map { String(format: "%.2f s", $0) } ?? "-")")
        let backupDir = (try? context.loadEnvironment().environment.section(BackupsConfig.self)?.dir) ?? nil
        out.line("  backup: \(release.backup.map { id in backupDir.map { "\(id) in \($0) on the host" } ?? id } ?? "-")")
        out.line("  migrations: \(release.migrations.isEmpty ? "none" : release.migrations.joined(separator: ", "))")
        out.line(
            "  steps: "
                + DeployPipeline.steps.compactMap { step in release.steps[step].map { "\(step) \(String(format: "%.1f", $0)) s" } }.joined(separator: ", "))
    }
}

/// `tmeops recover -e ENV`.
public struct RecoverCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "recover",
        abstract: "Finish or undo an interrupted deploy from its journal.",
        discussion: """
            Reads the deploy journal on the host, looks at the real containers, and leaves exactly one \
            healthy app container: the new release when it is healthy, else the old one; removes the test \
            container and the staging database, releases the lock, and records what it did.

            It holds the deploy lock while it works. A deploy that still runs (its process on this \
            machine, or one elsewhere that renewed the lock within deploy.lock_ttl) is left alone and \
            named; --force takes over from one on another machine that is known to be dead.

            Examples:
              tmeops recover -e production
              tmeops recover -e production --force
            """)

    @OptionGroup public var globals: GlobalOptions

    @Flag(help: "Take over the lock of a deploy on another machine that renewed it within deploy.lock_ttl (it must be dead).")
    public var force = false

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let force = self.force
        let outcome = try await withTarget(context, "recover") { target -> Recovery.Outcome in
            let last = try target.state.journal().last
            target.out.line(
                "recover \(target.environment.name): "
                    + (last.map { "deploy \($0.release) stopped at \($0.step) \($0.phase) (\($0.at))" } ?? "no unfinished deploy"))
            return try Recovery.recover(target, force: force)
        }
        let out = context.output
        if context.json { return try out.writeJSON(outcome) }
        out.line(outcome.healthy ? "\(out.green("✓")) production has one healthy app container" : "\(out.red("✗")) production is not healthy")
        if !outcome.healthy { throw ExitCode(ExitStatus.failure.rawValue) }
    }
}

/// `tmeops rollback -e ENV`.
public struct RollbackCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Return an environment to an earlier release's image, through the same health gate.",
        discussion: """
            Without --to, the newest earlier release with another image. --with-database also restores \
            that release's pre-deployment backup (after a fresh safety backup) and needs --yes.

            Examples:
              tmeops rollback -e production
              tmeops rollback -e production --to r-20261126-101500 --with-database --yes
            """)

    @OptionGroup public var globals: GlobalOptions

    @Option(help: "The release to return to (see `tmeops releases`).")
    public var to: String?

    @Flag(help: "Also restore the release's pre-deployment database backup.")
    public var withDatabase = false

    @Option(help: "Why: kept in the ledger and the audit log.")
    public var message: String = ""

    public init() {}

    public func run(_ context: CommandContext) async throws {
        if withDatabase && !globals.yes {
            throw TMEOpsError.usage("--with-database replaces the database with the release's backup (after a safety backup); pass --yes to confirm")
        }
        let (to, withDatabase, message) = (self.to, self.withDatabase, self.message)
        if context.dryRun {
            context.output.line("would roll back to \(to ?? "the previous release")\(withDatabase ? " and restore its database backup" : "")")
            return
        }
        let entry = try await withTarget(context, "rollback") { target in try Rollback.run(target, to: to, withDatabase: withDatabase, message: message) }
        let out = context.output
        if context.json { return try out.writeJSON(entry) }
        out.line(
            "\(out.green("✓")) rolled back: \(entry.id) runs \(entry.image) (\(entry.imageID.prefix(19))); unavailable \(String(format: "%.2f", entry.unavailableSeconds ?? 0)) s"
        )
    }
}

/// `tmeops releases -e ENV`.
public struct ReleasesCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "releases",
        abstract: "List the release ledger of an environment.",
        discussion: """
            --diff R1 R2 shows how the app container of release R2 differs from R1's: image, names of \
            environment variables (never their values), mounts, limits, restart and log settings, labels.

            Examples:
              tmeops releases -e production
              tmeops releases -e production --json
              tmeops releases -e production --diff r-20261126-101500 r-20261201-093000
              tmeops releases -e production --show r-20261201-093000
            """)

    @OptionGroup public var globals: GlobalOptions

    @Option(
        name: .customLong("diff"), parsing: .upToNextOption,
        help: ArgumentHelp("Two releases: show how the second's container settings differ from the first's.", valueName: "release"))
    public var diff: [String] = []

    @Option(
        help: ArgumentHelp(
            "One release in full (or `latest`): its steps, container settings and, if it failed, the failing container's last log lines.",
            valueName: "release"))
    public var show: String?

    public init() {}

    public func validate() throws {
        if !diff.isEmpty && diff.count != 2 { throw ValidationError("--diff takes two releases, e.g. --diff r-20261126-101500 r-20261201-093000") }
    }

    public func run(_ context: CommandContext) async throws {
        let releases = try await withTarget(context, "releases") { target in try target.state.releases() }
        let out = context.output
        if diff.count == 2 {
            let pair = try diff.map { id -> RemoteState.Release in
                guard let release = releases.first(where: { $0.id == id }) else {
                    throw TMEOpsError.usage("no release \(id) in the ledger; `tmeops releases` lists them")
                }
                return release
            }
            guard let first = pair[0].container, let second = pair[1].container else {
                let missing = pair.first { $0.container == nil }!.id
                throw TMEOpsError("release \(missing) has no container settings in the ledger (it was recorded by an older tmeops, or never swapped in)")
            }
            let lines = first.differences(to: second)
            if context.json { return try out.writeJSON(["from": pair[0].id, "to": pair[1].id, "differences": lines.joined(separator: "\n")]) }
            out.line(
                "\(pair[0].id) -> \(pair[1].id): \(lines.isEmpty ? "the same container settings" : "\(lines.count) difference\(lines.count == 1 ? "" : "s")")")
            for line in lines { out.line("  \(line)") }
            return
        }
        if let show {
            guard let release = show == "latest" ? releases.last : releases.first(where: { $0.id == show }) else {
                throw TMEOpsError.usage("no release \(show) in the ledger; `tmeops releases` lists them")
            }
            if context.json { return try out.writeJSON(release) }
            out.line(
                "\(release.id)  \(release.outcome)  at \(release.at)  by \(release.operatorName)\(release.message.isEmpty ? "" : "  \"\(release.message)\"")")
            out.line("  image       \(release.image) (\(release.imageID.prefix(19)))")
            out.line("  previous    \(release.previous ?? "-")")
            out.line("  backup      \(release.backup ?? "-")")
            out.line("  migrations  \(release.migrations.isEmpty ? "none" : release.migrations.joined(separator: ", "))")
            out.line(
                "  steps       "
                    + DeployPipeline.steps.compactMap { step in release.steps[step].map { "\(step) \(String(format: "%.1f", $0)) s" } }.joined(separator: ", "))
            if let seconds = release.unavailableSeconds { out.line("  unavailable \(String(format: "%.2f s", seconds))") }
            if let container = release.container {
                out.line("  container   \(container.mounts.count) mounts, env keys \(container.envKeys.joined(separator: " "))")
                for (_, value) in container.settings.sorted(by: { $0.key < $1.key }) { out.line("              \(value)") }
            }
            if let detail = release.detail { out.line("  error       \(detail)") }
            if let evidence = release.evidence, !evidence.isEmpty {
                out.line("  the failing container's last log lines:")
                for line in evidence { out.line("    \(line)") }
            }
            return
        }
        if context.json { return try out.writeJSON(releases) }
        if releases.isEmpty { out.line("no releases recorded yet") }
        for release in releases {
            let mark = release.outcome == "deployed" || release.outcome == "rollback" || release.outcome == "recovered" ? out.green("✓") : out.red("✗")
            out.line(
                "\(mark) \(release.id)  \(release.outcome)  \(release.image) (\(release.imageID.replacingOccurrences(of: "sha256:", with: "").prefix(12)))"
                    + "  backup \(release.backup ?? "-")  migrations \(release.migrations.count)"
                    + (release.unavailableSeconds.map { String(format: "  unavailable %.2f s", $0) } ?? "")
                    + (release.message.isEmpty ? "" : "  \"\(release.message)\""))
            if let detail = release.detail, release.outcome != "deployed" { out.line("    \(detail.split(separator: "\n").first ?? "")") }
        }
    }
}

/// `tmeops lock status|acquire|release -e ENV`.
public struct LockCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "lock", abstract: "Show, take or release the remote deploy lock.",
        subcommands: [LockStatusCommand.self, LockAcquireCommand.self, LockReleaseCommand.self])

    public init() {}
}

public struct LockStatusCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(commandName: "status", abstract: "Who holds the deploy lock, since when, and why.")

    @OptionGroup public var globals: GlobalOptions

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let owner = try await withTarget(context, "lock status") { target in try target.state.lockOwner() }
        if context.json { return try context.output.writeJSON(owner) }
        guard let owner else { return context.output.line("the deploy lock is free") }
        context.output.line("held by \(owner.owner)@\(owner.host) (pid \(owner.pid)) since \(owner.at): \"\(owner.message)\"")
    }
}

public struct LockAcquireCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "acquire", abstract: "Take the deploy lock (e.g. for maintenance by hand).",
        discussion: """
            Examples:
              tmeops lock acquire -e production --message "vacuum full by hand"
            """)

    @OptionGroup public var globals: GlobalOptions

    @Option(help: "Why.")
    public var message: String = "held by hand"

    @Flag(help: "Break the lock if it has expired.")
    public var force = false

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let (message, force) = (self.message, self.force)
        let owner = try await withTarget(context, "lock acquire") { target -> RemoteState.LockOwner in
            let owner = try target.state.acquire(message: message, ttl: target.deploy.lockTTL.seconds, force: force, context: context)
            target.state.audit(action: "lock acquire", environment: target.environment.name, release: nil, outcome: "held", detail: message, context: context)
            return owner
        }
        context.output.line("\(context.output.green("✓")) deploy lock taken at \(owner.at): \"\(owner.message)\"")
    }
}

public struct LockReleaseCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "release", abstract: "Release the deploy lock (--force when a deploy holds it).",
        discussion: """
            Examples:
              tmeops lock release -e production --force
            """)

    @OptionGroup public var globals: GlobalOptions

    @Flag(help: "Release it even though a deploy holds it (check `lock status` first).")
    public var force = false

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let force = self.force
        let text = try await withTarget(context, "lock release") { target -> String in
            guard let owner = try target.state.lockOwner() else { return "the deploy lock was free" }
            if !force {
                throw TMEOpsError.usage(
                    "the lock is held by \(owner.owner)@\(owner.host) since \(owner.at) (\"\(owner.message)\"); pass --force to release it anyway")
            }
            try target.state.release(token: nil)
            target.state.audit(
                action: "lock release", environment: target.environment.name, release: nil, outcome: "released", detail: owner.message, context: context)
            return "released the lock of \(owner.owner)@\(owner.host)"
        }
        context.output.line(text)
    }
}

/// `tmeops test-instance up|down -e ENV`.
public struct TestInstanceCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "test-instance", abstract: "Run or remove a test container of an image on the test port.",
        subcommands: [TestInstanceUpCommand.self, TestInstanceDownCommand.self])

    public init() {}
}

public struct TestInstanceUpCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "up", abstract: "Start <app.container>-test from an image on the host, on the test port, and wait for its health.",
        discussion: """
            The image must already be on the host (`tmeops image push`). It runs against --database \
            (default: test_instance.database), labelled test=true.

            Examples:
              tmeops test-instance up -e production --image tme-portal-server:latest --database tme_portal_test
            """)

    @OptionGroup public var globals: GlobalOptions

    @Option(help: "The image on the host.")
    public var image: String

    @Option(help: "The database it uses (default: test_instance.database).")
    public var database: String?

    @Option(help: "A local environment's test instance: the port it is published on (default: health.port).")
    public var port: Int?

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let (config, environment) = try context.loadEnvironment()
        if environment.section(SSHConfig.self) == nil {
            let (image, port) = (self.image, self.port)
            let outcome = try await runBlocking("test-instance up") {
                try LocalTestInstance.up(environment, config: config, context: context, image: image, port: port)
            }
            return try report(outcome, context: context)
        }
        let (image, database) = (self.image, self.database)
        let outcome = try await withTarget(context, "test-instance up") { target -> HealthWait.Outcome in
            guard let details = try target.engine.image(image) else { throw TMEOpsError("no image \(image) on \(target.environment.name); push it first") }
            try AppContainers.removeIfPresent(target.engine, target.test)
            let plan = AppContainers.Plan(
                name: target.test, image: image, release: "test", publish: try target.testInstance?.publish ?? [PortMapping(parsing: "3001:3000")],
                network: target.app.network, aliases: [], test: true, testDatabase: database ?? target.testInstance?.database)
            _ = try target.createTestContainer(plan: plan, image: details, database: database ?? target.testInstance?.database)
            try target.engine.startContainer(target.test)
            return try target.healthWait(target.test)
        }
        try report(outcome, context: context)
    }

    func report(_ outcome: HealthWait.Outcome, context: CommandContext) throws {
        let out = context.output
        out.line(
            outcome.healthy ? "\(out.green("✓")) test instance healthy: \(outcome.detail)" : "\(out.red("✗")) test instance not healthy: \(outcome.detail)")
        for line in outcome.logTail ?? [] { out.line("    \(line)") }
        if !outcome.healthy { throw ExitCode(ExitStatus.checkFailed.rawValue) }
    }
}

public struct TestInstanceDownCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(commandName: "down", abstract: "Remove the test container.")

    @OptionGroup public var globals: GlobalOptions

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let (config, environment) = try context.loadEnvironment()
        if environment.section(SSHConfig.self) == nil {
            let removed = try await runBlocking("test-instance down") { try LocalTestInstance.down(environment, config: config, context: context) }
            return context.output.line(removed)
        }
        let removed = try await withTarget(context, "test-instance down") { target -> String in
            guard try target.engine.container(target.test) != nil else { return "no test instance \(target.test)" }
            try target.engine.removeContainer(target.test, force: true)
            return "removed \(target.test)"
        }
        context.output.line(removed)
    }
}

/// A local environment's test instance ("test locally first"): the image on this
/// machine's engine against the development database. The database URL reaches the container in an env
/// file mounted read-only (in a 0700 folder beside tmeops.yml), never in its configuration. A database on
/// this machine's loopback is reached with host networking; otherwise the app's port is published.
public enum LocalTestInstance {
    static func name(_ config: LoadedConfig, _ environment: EnvironmentConfig) -> String { "\(config.app)-\(environment.name)-test" }

    static func envFile(_ config: LoadedConfig, _ environment: EnvironmentConfig) -> URL {
        config.url.deletingLastPathComponent().appendingPathComponent(".tmeops/run/\(name(config, environment)).env")
    }

    public static func up(_ environment: EnvironmentConfig, config: LoadedConfig, context: CommandContext, image: String, port: Int?) throws
        -> HealthWait.Outcome
    {
        let engine = try DockerEngines.local(context)
        let health = environment.section(HealthConfig.self) ?? HealthConfig()
        let databaseConfig = try environment.require(DatabaseConfig.self, for: "a test instance's database")
        guard case .url(let url) = try databaseConfig.location(environment: environment.name) else {
            throw TMEOpsError.usage(
                "a local test instance needs environments.\(environment.name).database.url (a database container on this machine is not supported yet)")
        }
        let target = try PostgresTarget(url: url)
        if let password = target.password { context.redactor.add(password) }
        guard let details = try engine.image(image) else {
            throw TMEOpsError("no image \(image) in the local engine (\(engine.location)); build it with `tmeops image build`")
        }
        let container = name(config, environment)
        try AppContainers.removeIfPresent(engine, container)
        let file = envFile(config, environment)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: file.deletingLastPathComponent().path)
        let app = environment.section(AppContainerConfig.self)
        var variables: [(key: String, value: String)] = [("DATABASE_URL", url)] + (app?.env ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        if app?.env["NODE_ENV"] == nil { variables.append(("NODE_ENV", "production")) }
        try AtomicFile.write(Data(DotEnv.shellExports(variables).utf8), to: file, overwrite: true, displayPath: file.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file.path)
        let loopback = ["127.0.0.1", "localhost", "::1"].contains(target.host)
        let published = port ?? health.port
        // Host networking publishes nothing; otherwise the app's port, on this machine's loopback only.
        let ports = loopback ? nil : AppContainers.ports([try PortMapping(parsing: "127.0.0.1:\(published):\(health.port)")])
        let command = (details.config?.entrypoint ?? []) + (details.config?.cmd ?? [])
        let spec = ContainerSpec(
            image: image, entrypoint: ["/bin/sh", "-c", AppContainers.wrapper, "tmeops-env"], cmd: command,
            labels: ["tmeops.app": config.app, "test": "true"], exposedPorts: ports?.exposed,
            hostConfig: .init(
                portBindings: ports?.bindings, networkMode: loopback ? "host" : nil, binds: ["\(file.path):\(AppContainers.envMount):ro"], initProcess: true))
        _ = try engine.createContainer(name: container, spec: spec)
        try engine.startContainer(container)
        var outcome = try HealthWait.wait(
            engine: engine, route: .direct, container: container, network: nil, health: health, fixedAddress: ("127.0.0.1", loopback ? health.port : published),
            log: { context.logger.info("\($0)") })
        if !outcome.healthy && (outcome.logTail ?? []).isEmpty {
            var lines: [String] = []
            try? engine.logs(container, tail: 50) { _, data in lines += String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init) }
            outcome.logTail = lines
        }
        return outcome
    }

    public static func down(_ environment: EnvironmentConfig, config: LoadedConfig, context: CommandContext) throws -> String {
        let engine = try DockerEngines.local(context)
        let container = name(config, environment)
        try? FileManager.default.removeItem(at: envFile(config, environment))
        guard try engine.container(container) != nil else { return "no test instance \(container)" }
        try engine.removeContainer(container, force: true)
        return "removed \(container)"
    }
}

import ArgumentParser
import BackupPlugin
import Foundation
import ImagePlugin
import SchemaPlugin
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import TMEOpsPostgres
import TransferPlugin
import ValidatePlugin

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

            Without --image, the build context is built first (build.command when set, else through the \
            Docker engine), tagged IMAGE:<git commit> (with -dirty for uncommitted changes; the time \
            outside git) and IMAGE:latest, and verified as `image verify` does; a failing image stops there.

            Examples:
              tmeops deploy -e production                     # build the working tree, verify, deploy
              tmeops deploy -e production --dry-run
              tmeops deploy -e production --image tme-portal-server:20261126-101500 --message "revision numbers"
              tmeops deploy -e production --lock-wait 15m     # in CI: queue behind a deploy that runs
            """)

    @OptionGroup public var globals: GlobalOptions

    @Option(help: "A local image to deploy (default: build the working tree, verify it, and deploy that).")
    public var image: String?

    @Option(help: "Why: kept in the lock, the ledger and the audit log.")
    public var message: String = ""

    @Flag(help: "Break the deploy lock if it has expired (older than deploy.lock_ttl).")
    public var force = false

    @Option(help: ArgumentHelp("Wait this long for a deploy lock someone else holds (e.g. 10m) instead of refusing at once.", valueName: "duration"))
    public var lockWait: ConfigDuration?

    @Flag(help: "Deploy although the running container wrote files into its own layer, which the new one will not have.")
    public var discardContainerChanges = false

    @Flag(help: "Deploy although the new container's environment variables differ from the running one's.")
    public var acceptEnvChanges = false

    public init() {}

    public func run(_ context: CommandContext) async throws {
        // The environment first: a mistyped -e is named before minutes of building.
        let (config, environment) = try context.loadEnvironment()
        var image = self.image
        if image == nil {
            image = try await Self.buildWorkingTree(config, context: context)
            if image == nil, try await runBlocking("deploy", { try DockerEngines.local(context).image("\(config.image):latest") == nil }) {
                // A dry run builds nothing, and there is no earlier build to plan with.
                context.progress.line("the rest of the plan needs an image: build one with `tmeops image build`, or pass --image")
                return
            }
        }
        let options = DeployPipeline.Options(
            image: image, message: message, dryRun: context.dryRun, forceLock: force, discardContainerChanges: discardContainerChanges,
            acceptEnvChanges: acceptEnvChanges, lockWait: lockWait?.seconds ?? 0)
        // The push starts before the deploy's own SSH connection: the local engine needs a while before
        // the first byte of its export. It loads nothing on the host until preflight has passed.
        // One push per host, each on its own SSH connection.
        let hosts = environment.section(SSHConfig.self)?.hosts ?? []
        // With --lock-wait the pipeline starts them once it holds the lock.
        let pushes =
            context.dryRun || hosts.isEmpty || (lockWait?.seconds ?? 0) > 0
            ? nil
            : PushGroup(environment: environment, config: config, context: context, image: image ?? "\(config.image):latest", hosts: hosts)
        pushes?.start()
        let release: RemoteState.Release?
        do {
            release = try await withTargets(context, "deploy", loaded: (config, environment)) { all, database in
                let pipeline = DeployPipeline(target: database, options: options, hosts: all)
                pipeline.pushes = pushes
                return try pipeline.run()
            }
        } catch {
            pushes?.cancel()
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

    /// Without --image: the working tree built (tagged with its git commit, `-dirty` when it has
    /// uncommitted changes, else the time) in the local engine, then verified as `image verify` does.
    /// Returns the tag to deploy; nil on a dry run, whose plan shows IMAGE:latest (when there is one) in
    /// its place.
    static func buildWorkingTree(_ config: LoadedConfig, context: CommandContext) async throws -> String? {
        let build = config.section(BuildConfig.self) ?? BuildConfig()
        let directory = try ImageBuilder.contextDirectory(config, context: context)
        let reference = "\(config.image):\(ImageBuilder.workingTreeTag(in: directory))"
        let how = build.command.map { "with build.command (\($0))" } ?? "through the Docker engine"
        if context.dryRun {
            context.progress.line(
                "would build \(reference) from \(directory.path) \(how), verify it, then deploy it; a plan with \(config.image):latest in its place follows if there is one"
            )
            return nil
        }
        context.logger.info("no --image: building \(reference) from \(directory.path) \(how)")
        return try await runBlocking("build") { () -> String in
            let engine = try DockerEngines.local(context)
            let result = try ImageBuilder.build(config, tags: [reference, "\(config.image):latest"], engine: engine, context: context)
            let (problems, notes) = try ImageBuilder.verify(config, image: reference, engine: engine)
            for note in notes { context.logger.notice("image verify: \(note)") }
            guard problems.isEmpty else {
                throw TMEOpsError(
                    "the image built from the working tree, \(reference) (\(result.imageID.prefix(19))), fails verification: \(problems.map(\.description).joined(separator: "; ")); nothing was deployed"
                )
            }
            context.logger.info("built and verified \(reference) (\(result.imageID.prefix(19))) in \(String(format: "%.1f", result.seconds)) s")
            return reference
        }
    }
}

import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import TMEOpsSSH

/// `tmeops image push TAG -e ENV`.
public struct ImagePushCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Send an image to an environment's engine: only the layers it lacks, streamed over SSH.",
        discussion: """
            Asks the remote engine which layer chains it has, writes a thin docker-archive without them, \
            and streams it into the remote POST /images/load. The remote image ID must then equal the \
            local one. If the remote engine refuses the thin archive, the full one is sent; --full sends \
            it from the start. An image the remote already has (same ID) is only tagged there: nothing is \
            exported or sent.

            Two or more missing layers go in pieces, in layer order (about 32 MiB of layers each); every \
            piece but the last is loaded as an untagged image of the first layers, labelled \
            tmeops.partial-push, which the remote keeps. A push cut off by a dropped connection therefore \
            resumes: the next push sends only the layers after the last piece loaded, and the partial \
            images are removed once the image is there. The layers wait in this machine's temporary \
            folder (TMPDIR) meanwhile; one missing layer, --full, or a TMPDIR without room for the image \
            streams with no temporary file.

            The archive travels compressed when that is faster (transfer.compression: auto measures the \
            link and the compressor; none, gzip or zstd choose; --compression overrides it for one push). \
            The summary gives the bytes sent and the archive's size before compression.

            Either engine may keep its images in containerd's image store (Docker Desktop, Docker 29): \
            an image is then the same by its config's digest and its layers' diff IDs, the server gets \
            an archive in its own store's form, and the summary says when it names the image \
            differently from this machine. A multi-platform image goes for build.platform (else the \
            server's platform). The export then waits in TMPDIR while it goes.

            Examples:
              tmeops image push tme-portal-server:20261126-101500 -e production
              tmeops image push tme-portal-server:latest -e production --full
              tmeops image push tme-portal-server:latest -e production --compression none
            """)

    @OptionGroup public var globals: GlobalOptions

    @Argument(help: "The local image tag (or ID).")
    public var image: String

    @Flag(help: "Send every layer, whatever the remote has.")
    public var full = false

    @Option(help: "On an environment of several hosts, only this one (default: every host, all at once).")
    public var host: String?

    @Option(help: ArgumentHelp("auto, none, gzip or zstd (default: transfer.compression, else auto).", valueName: "how"))
    public var compression: String?

    public init() {}

    public func validate() throws {
        if let compression, TransferConfig.Compression(rawValue: compression) == nil {
            throw ValidationError("--compression \(compression) is not one of auto, none, gzip, zstd")
        }
    }

    /// One host's push, as `--json` prints it for an environment of several hosts.
    struct HostPush: Encodable {
        let host: String
        let report: ImagePush.Report?
        let error: String?
    }

    public func run(_ context: CommandContext) async throws {
        let (config, environment) = try context.loadEnvironment()
        let reference = image
        let sendAll = full
        let setting = compression.flatMap(TransferConfig.Compression.init(rawValue:)) ?? config.section(TransferConfig.self)?.compression ?? .auto
        let platform = config.section(BuildConfig.self)?.platform
        if context.dryRun {
            context.output.line(
                "would push \(reference) from the local engine to \(environment.name)\(sendAll ? " (every layer)" : ", sending only the layers it lacks")")
            return
        }
        let hosts = try RemoteHost.hosts(host, in: environment)
        if hosts.count > 1 {
            return try await pushToEach(
                hosts, environment: environment, reference: reference, sendAll: sendAll, setting: setting, platform: platform, context: context)
        }
        let choice: RemoteHost.Choice = host.map { .named($0) } ?? .only
        let progress = ProgressReporter(
            label: "push \(reference)", sink: context.errorSink, logger: context.logger, quiet: context.options.quiet || context.json)
        let report = try await runBlocking("image push") { () -> ImagePush.Report in
            let local = try DockerEngines.local(context)
            let (remote, session) = try DockerEngines.remote(environment, choice, context: context)
            defer { session.close() }
            var push = ImagePush(local: local, remote: remote, logger: context.logger)
            push.progress = progress.update
            push.platform = platform
            push.compression = { WireCompression.choose(setting, session: session, engine: remote, logger: context.logger) }
            return try push.push(reference, full: sendAll)
        }
        progress.finish()
        if context.json {
            try context.output.writeJSON(report)
            return
        }
        let out = context.output
        let sent = ProgressReporter.bytes(report.bytesSent)
        let whole = ProgressReporter.bytes(report.imageBytes)
        if report.alreadyPresent {
            out.line(
                "\(out.green("✓")) \(environment.name) already had \(reference) (\(report.imageID.prefix(19))): tagged it there, sent nothing")
        } else {
            out.line(
                "\(out.green("✓")) pushed \(reference) to \(environment.name) in \(String(format: "%.1f", report.seconds)) s: sent \(sent) of \(whole)\(ImagePush.wireNote(report))"
            )
            out.line(
                "  layers: \(report.layers - report.layersSkipped) sent\(report.pieces > 1 ? " in \(report.pieces) pieces" : ""), \(report.layersSkipped) already there\(ImagePush.resumeNote(report))\(report.fellBack ? " (the thin archive was refused; sent in full)" : "")"
            )
        }
        out.line(
            report.remoteImageID == report.imageID || report.remoteImageID.isEmpty
                ? "  remote image ID matches: \(report.imageID)"
                : "  the remote has the same image as \(report.remoteImageID) (its image store names it differently from the local \(report.imageID))")
    }

    /// The push to several hosts at once, each on its own connection with its own export of the image
    /// (each host gets only the layers it lacks); a line per host; exit 1 if any failed.
    func pushToEach(
        _ hosts: [String], environment: EnvironmentConfig, reference: String, sendAll: Bool, setting: TransferConfig.Compression, platform: String?,
        context: CommandContext
    ) async throws {
        let results = try await runBlocking("image push") {
            OnEachHost.map(hosts) { host -> ImagePush.Report in
                let local = try DockerEngines.local(context)
                let (remote, session) = try DockerEngines.remote(environment, .named(host), context: context)
                defer { session.close() }
                var push = ImagePush(local: local, remote: remote, logger: context.logger)
                push.platform = platform
                push.compression = { WireCompression.choose(setting, session: session, engine: remote, logger: context.logger) }
                return try push.push(reference, full: sendAll)
            }
        }
        let out = context.output
        let pushes = zip(hosts, results).map { host, result in
            HostPush(host: host, report: try? result.get(), error: result.failureText.map { context.redactor.redact($0) })
        }
        if context.json {
            try out.writeJSON(pushes)
        } else {
            for push in pushes {
                guard let report = push.report else {
                    out.line("\(out.red("✗")) \(push.host): \(push.error ?? "failed")")
                    continue
                }
                out.line(
                    report.alreadyPresent
                        ? "\(out.green("✓")) \(push.host) already had \(reference): tagged it there, sent nothing"
                        : "\(out.green("✓")) \(push.host): sent \(ProgressReporter.bytes(report.bytesSent)) of \(ProgressReporter.bytes(report.imageBytes))\(ImagePush.wireNote(report)) in \(String(format: "%.1f", report.seconds)) s (\(report.layers - report.layersSkipped) of \(report.layers) layers); image ID matches"
                )
            }
        }
        let failed = pushes.filter { $0.report == nil }.count
        if failed > 0 { throw TMEOpsError("the push failed on \(failed) of \(hosts.count) hosts of \(environment.name)") }
    }
}

/// `tmeops image tag-backup -e ENV`.
public struct ImageTagBackupCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "tag-backup",
        abstract: "Tag the image of the running production container IMAGE:backup-YYYYMMDD-HHMMSS.",
        discussion: """
            The runbook's `docker tag ... backup-...` before a deploy, so a rollback has an image to go back to.

            Examples:
              tmeops image tag-backup -e production
            """)

    @OptionGroup public var globals: GlobalOptions

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let (config, environment) = try context.loadEnvironment()
        guard let container = environment.section(AppContainerConfig.self)?.container else {
            throw TMEOpsError.usage(
                "environment '\(environment.name)' has no app.container; add environments.\(environment.name).app.container to \(config.displayPath)")
        }
        let tag = "backup-\(ImageTag.timestamp())"
        if context.dryRun {
            context.output.line("would tag the image of \(container) on \(environment.name) as \(config.image):\(tag)")
            return
        }
        let imageID = try await runBlocking("image tag-backup") { () -> String in
            let (remote, session) = try DockerEngines.remote(environment, context: context)
            defer { session.close() }
            guard let details = try remote.container(container) else {
                throw TMEOpsError("no container \(container) on \(environment.name); is the app deployed, and is app.container right?")
            }
            try remote.tagImage(details.image, repository: config.image, tag: tag)
            return details.image
        }
        context.output.line("\(context.output.green("✓")) tagged \(imageID.prefix(19)) (running as \(container)) \(config.image):\(tag) on \(environment.name)")
    }
}

/// `tmeops image prune -e ENV`.
public struct ImagePruneCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Remove test images over 48 h and test containers over 24 h old; never a kept release or a young backup tag.",
        discussion: """
            Test images and containers are those labelled test=true. An image is kept when a container uses \
            it, when it is one of the newest deploy.keep_releases release images (IMAGE:YYYYMMDD-HHMMSS), or \
            when it carries a backup-* tag younger than 48 h. --dry-run lists what would go and why the rest stays.

            Examples:
              tmeops image prune -e production --dry-run
              tmeops image prune -e production
            """)

    @OptionGroup public var globals: GlobalOptions

    public init() {}

    @Option(help: "On an environment of several hosts, only this one (default: every host).")
    public var host: String?

    public struct Decision: Codable, Sendable, Equatable {
        /// The host, on an environment of several.
        public var host: String?
        public let kind: String
        public let name: String
        public let remove: Bool
        public let reason: String
    }

    public func run(_ context: CommandContext) async throws {
        let (config, environment) = try context.loadEnvironment()
        // How many releases a deploy keeps is the deploy plugin's to say (`deploy.keep_releases`).
        let keepReleases = try context.registry.service(ReleaseRetention.self)?.keepReleases(environment) ?? ReleaseRetentionDefault.keep
        let dryRun = context.dryRun
        let hosts = try RemoteHost.hosts(host, in: environment)
        let choices: [RemoteHost.Choice] = hosts.count > 1 || host != nil ? hosts.map { .named($0) } : [.only]
        var decisions: [Decision] = []
        for choice in choices {
            var found = try await runBlocking("image prune") {
                try Self.prune(environment, choice, image: config.image, keepReleases: keepReleases, dryRun: dryRun, context: context)
            }
            if case .named(let name) = choice, hosts.count > 1 { for index in found.indices { found[index].host = name } }
            decisions += found
        }
        if context.json {
            try context.output.writeJSON(decisions)
            return
        }
        let verb = dryRun ? "would remove" : "removed"
        if decisions.isEmpty { context.output.line("nothing labelled test=true on \(environment.name)") }
        for decision in decisions {
            context.output.line(
                "\(decision.host.map { "\($0): " } ?? "")\(decision.remove ? verb : "keep") \(decision.kind) \(decision.name): \(decision.reason)")
        }
    }

    /// What `prune` decides, and removes unless `dryRun`, on one host.
    static func prune(
        _ environment: EnvironmentConfig, _ choice: RemoteHost.Choice, image releaseImage: String, keepReleases: Int, dryRun: Bool, context: CommandContext
    ) throws -> [Decision] {
        let (remote, session) = try DockerEngines.remote(environment, choice, context: context)
        defer { session.close() }
        let now = Date().timeIntervalSince1970
        var decisions: [Decision] = []
        for container in try remote.containers(all: true, filters: ["label": ["test=true"]]) {
            let age = now - Double(container.created)
            let remove = age > 24 * 3600
            decisions.append(
                Decision(
                    host: nil, kind: "container", name: container.name, remove: remove,
                    reason: remove ? "test container, \(Int(age / 3600)) h old" : "test container younger than 24 h"))
            if remove, !dryRun { try remote.removeContainer(container.id, force: true) }
        }
        let used = Set(try remote.containers(all: true).map(\.imageID))
        let images = try remote.images()
        let releases = images.filter { $0.repoTags?.contains { ImagePruneCommand.isRelease($0, image: releaseImage) } == true }
            .sorted { $0.created > $1.created }.prefix(keepReleases).map(\.id)
        for image in images where image.labels?["test"] == "true" {
            let name = image.repoTags?.first ?? String(image.id.prefix(19))
            let age = now - Double(image.created)
            let reason: String
            if used.contains(image.id) {
                reason = "used by a container"
            } else if releases.contains(image.id) {
                reason = "one of the last \(keepReleases) releases"
            } else if image.repoTags?.contains(where: { $0.contains(":backup-") }) == true, age < 48 * 3600 {
                reason = "backup tag younger than 48 h"
            } else if age <= 48 * 3600 {
                reason = "test image younger than 48 h"
            } else {
                decisions.append(Decision(host: nil, kind: "image", name: name, remove: true, reason: "test image, \(Int(age / 3600)) h old"))
                if !dryRun { try remote.removeImage(image.id, force: false) }
                continue
            }
            decisions.append(Decision(host: nil, kind: "image", name: name, remove: false, reason: reason))
        }
        return decisions
    }

    /// `IMAGE:YYYYMMDD-HHMMSS`, the runbook's release tag.
    static func isRelease(_ tag: String, image: String) -> Bool {
        guard tag.hasPrefix(image + ":") else { return false }
        return tag.dropFirst(image.count + 1).range(of: #"^\d{8}-\d{6}$"#, options: .regularExpression) != nil
    }
}

import ArgumentParser
import Foundation
import TMEOpsArchive
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import TMEOpsSSH

/// `tmeops image`: build, save, inspect and verify images through the Docker Engine API.
public struct ImageCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Build, save, inspect, verify, push, back-up-tag and prune images.",
        subcommands: [
            ImageBuildCommand.self, ImageSaveCommand.self, ImageInspectCommand.self, ImageVerifyCommand.self,
            ImagePushCommand.self, ImageTagBackupCommand.self, ImagePruneCommand.self,
        ])

    public init() {}
}

/// Runs `produce` on a thread writing into a pipe, and hands back the pipe's read end as a byte
/// source: an archive is streamed to the engine as it is written, with no temporary file.
func pipedArchive(name: String, _ produce: @escaping @Sendable (Int32) throws -> Void) throws -> (DescriptorSource, () throws -> Void) {
    signal(SIGPIPE, SIG_IGN)  // a reader that gives up must mean EPIPE for the writer, not death
    var fds: [Int32] = [0, 0]
    guard pipe(&fds) == 0 else { throw TMEOpsError("cannot create a pipe: \(String(cString: strerror(errno)))") }
    let (readEnd, writeEnd) = (fds[0], fds[1])
    // pipe2 is not in Swift's Glibc module: close-on-exec follows at once, so a hook or build process
    // started meanwhile does not hold the write end open (the reader would never see the end).
    for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    // 1 MiB instead of 64 KiB: a tenth of the wake-ups between the two threads (Linux; best effort).
    let setPipeSize: Int32 = 1031  // F_SETPIPE_SZ, which Glibc's module does not export (it needs _GNU_SOURCE)
    _ = fcntl(writeEnd, setPipeSize, 1 << 20)
    let lock = NSLock()
    nonisolated(unsafe) var failure: Error?
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        do { try produce(writeEnd) } catch { lock.withLock { failure = error } }
        close(writeEnd)
        done.signal()
    }
    thread.name = "tmeops \(name)"
    thread.start()
    let source = DescriptorSource(fileDescriptor: readEnd, name: name)
    return (
        source,
        {
            source.close()  // unblocks a writer whose reader gave up
            done.wait()
            if let failure = lock.withLock({ failure }) { throw failure }
        }
    )
}

/// `tmeops image build`.
public struct ImageBuildCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build the app image from build.context through the Engine API, tagged as the runbook tags.",
        discussion: """
            The context is tarred as the docker CLI would (honouring .dockerignore) and streamed to the \
            engine while it is written. Tags: IMAGE:YYYYMMDD-HHMMSS and IMAGE:latest, or --tag. Build args \
            and platform come from the build section. Uses the local engine (DOCKER_HOST, else \
            /var/run/docker.sock), or an environment's with -e. With build.command the team's own tool \
            builds instead (run by /bin/sh in the context with TMEOPS_IMAGE, TMEOPS_TAG and \
            TMEOPS_IMAGE_REF set; it must leave $TMEOPS_IMAGE_REF in the engine), and tmeops adds the other tags.

            Examples:
              tmeops image build
              tmeops image build --tag tme-portal-server:rc1
              tmeops image build -e production --dry-run
            """)

    @OptionGroup public var globals: GlobalOptions

    @Option(name: .long, help: "A tag instead of IMAGE:YYYYMMDD-HHMMSS and IMAGE:latest (repeatable).")
    public var tag: [String] = []

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let config = try context.loadConfig()
        let build = config.section(BuildConfig.self) ?? BuildConfig()
        let directory = try ImageBuilder.contextDirectory(config, context: context)
        if build.command != nil, let name = context.environmentName {
            throw TMEOpsError.usage(
                "build.command builds with your own tool on this machine, not in \(name)'s engine; run `tmeops image build` without -e (and TMEOPS_ENV), then `tmeops image push -e \(name)`"
            )
        }
        let stamp = ImageTag.timestamp()
        let tags = tag.isEmpty ? ["\(config.image):\(stamp)", "\(config.image):latest"] : tag
        if context.dryRun {
            if let command = build.command {
                context.output.line("would run build.command in \(directory.path): \(command)")
                context.output.line("would tag \(tags.joined(separator: ", "))")
                return
            }
            let devNull = open("/dev/null", O_WRONLY)
            defer { close(devNull) }
            let writer = try TarWriter(fd: devNull, destination: "/dev/null")
            let summary = try BuildContext.write(directory: directory, dockerfile: build.dockerfile, to: writer)
            try writer.close()
            context.output.line(
                "would build \(directory.path) (\(summary.files) files, \(ProgressReporter.bytes(UInt64(summary.bytes))), \(summary.excluded) left out (.dockerignore, .tmeops/))"
            )
            context.output.line(
                "would tag \(tags.joined(separator: ", ")) with build args \(build.args.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))"
            )
            return
        }
        let report = try await runBlocking("image build") { () -> ImageBuilder.Result in
            let (engine, session) = try DockerEngines.forCommand(context)
            defer { session?.close() }
            return try ImageBuilder.build(config, tags: tags, engine: engine, context: context)
        }
        if context.json {
            try context.output.writeJSON(report)
        } else {
            context.output.line(
                "\(context.output.green("✓")) built \(report.imageID.prefix(19)) in \(String(format: "%.1f", report.seconds)) s, tagged \(report.tags.joined(separator: ", "))"
            )
            if let command = report.command {
                context.output.line("  with build.command: \(command)")
            } else {
                context.output.line(
                    "  context: \(report.contextFiles) files, \(ProgressReporter.bytes(UInt64(report.contextBytes))), \(report.excluded) left out (.dockerignore, .tmeops/)"
                )
            }
        }
    }
}

import Foundation
import TMEOpsArchive
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts

/// Builds the app image from `build.context`: through the Engine API (the context tarred as the docker
/// CLI would, honouring .dockerignore), or with the team's own `build.command`. Used by `image build`
/// and by `deploy` without `--image`.
public enum ImageBuilder {
    public struct Result: Encodable, Sendable {
        public let imageID: String
        public let tags: [String]
        public let contextFiles: Int
        public let contextBytes: Int64
        public let excluded: Int
        public let seconds: Double
        /// build.command, when the team's own tool built it.
        public let command: String?
    }

    /// The folder the build runs in, checked to hold the Dockerfile (not needed by build.command).
    public static func contextDirectory(_ config: LoadedConfig, context: CommandContext) throws -> URL {
        let build = config.section(BuildConfig.self) ?? BuildConfig()
        let directory = ConfigLoader.resolve(build.context, in: context.configURL.deletingLastPathComponent())
        if build.command == nil, !FileManager.default.fileExists(atPath: directory.appendingPathComponent(build.dockerfile).path) {
            throw TMEOpsError.usage(
                "\(build.dockerfile) not found in the build context \(directory.path) (build.context and build.dockerfile in \(config.displayPath))")
        }
        return directory
    }

    /// The tag of a build of the working tree in `directory`: its git commit (12 hex digits), with
    /// `-dirty` when tracked or new files are uncommitted; outside a git work tree, the time (UTC).
    ///
    /// Read with the git program the operator already has: tmeops links no git library, and these two
    /// read-only questions are what `git` answers best.
    public static func workingTreeTag(in directory: URL, now: Date = Date()) -> String {
        guard let commit = git(["rev-parse", "--short=12", "HEAD"], in: directory), !commit.isEmpty else { return ImageTag.timestamp(now) }
        let changes = git(["status", "--porcelain", "--untracked-files=normal"], in: directory) ?? ""
        return changes.isEmpty ? commit : "\(commit)-dirty"
    }

    static func git(_ arguments: [String], in directory: URL) -> String? {
        guard let result = try? LocalProcess.run(["git", "-C", directory.path] + arguments), result.status == 0 else { return nil }
        return String(decoding: result.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Builds and tags `tags` (the first is the one `build.command` must produce) in `engine` (the
    /// local one, or an environment's for `image build -e`). Blocking; the build's own output goes to
    /// standard error.
    public static func build(_ config: LoadedConfig, tags: [String], engine: DockerEngine, context: CommandContext) throws -> Result {
        let build = config.section(BuildConfig.self) ?? BuildConfig()
        let directory = try contextDirectory(config, context: context)
        let started = Date()
        if let command = build.command {
            try runCommand(command, tag: tags[0], image: config.image, directory: directory, context: context)
            guard let image = try engine.image(tags[0]) else {
                throw TMEOpsError(
                    "build.command finished but the local engine has no image \(tags[0]); the command must tag what it builds as $TMEOPS_IMAGE_REF (and load it into this engine, e.g. buildx's --load)"
                )
            }
            for other in tags.dropFirst() {
                let (repository, tag) = ImagePush.split(other)
                try engine.tagImage(image.id, repository: repository, tag: tag)
            }
            return Result(
                imageID: image.id, tags: tags, contextFiles: 0, contextBytes: 0, excluded: 0, seconds: Date().timeIntervalSince(started), command: command)
        }
        nonisolated(unsafe) var summary = BuildContext.Summary()
        let (source, finish) = try pipedArchive(name: "build context") { fd in
            let writer = try TarWriter(fd: fd, destination: "the build context")
            summary = try BuildContext.write(directory: directory, dockerfile: build.dockerfile, to: writer)
            try writer.close()
        }
        let id: String
        do {
            id = try engine.build(context: source, tags: tags, dockerfile: build.dockerfile, buildArgs: build.args, platform: build.platform) {
                context.errorSink.write($0)
            }
        } catch {
            try? finish()
            throw error
        }
        try finish()
        return Result(
            imageID: id, tags: tags, contextFiles: summary.files, contextBytes: summary.bytes, excluded: summary.excluded,
            seconds: Date().timeIntervalSince(started), command: nil)
    }

    /// `image verify` on `reference` in `engine`: the problems (empty when it passes) and notes.
    public static func verify(_ config: LoadedConfig, image reference: String, engine: DockerEngine) throws -> (
        problems: [ImageVerifier.Problem], notes: [ImageVerifier.Problem]
    ) {
        ImageVerifier(config.section(BuildConfig.self) ?? BuildConfig()).report(on: try ImageSource.archive(of: reference, in: engine, listLayers: true))
    }

    /// Runs build.command through /bin/sh in the build context, with TMEOPS_IMAGE (the repository),
    /// TMEOPS_TAG and TMEOPS_IMAGE_REF (repository:tag) set; its output goes to standard error.
    static func runCommand(_ command: String, tag reference: String, image: String, directory: URL, context: CommandContext) throws {
        var environment = context.environment
        environment["TMEOPS_IMAGE"] = image
        environment["TMEOPS_TAG"] = ImagePush.split(reference).1
        environment["TMEOPS_IMAGE_REF"] = reference
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.currentDirectoryURL = directory
        process.environment = environment
        process.standardOutput = FileHandle.standardError
        process.standardError = FileHandle.standardError
        context.logger.info("building \(reference) with build.command: \(command)")
        do {
            try process.run()
        } catch {
            throw TMEOpsError("build.command could not start in \(directory.path): \(error.localizedDescription)")
        }
        let status = LocalProcess.exitStatus(of: process).status
        guard status == 0 else { throw TMEOpsError("build.command exited with status \(status) (its output is above)") }
    }
}

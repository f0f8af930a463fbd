import ArgumentParser
import Foundation
import TMEOpsArchive
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import TMEOpsSSH

/// Where an image comes from: an engine (by tag or ID) or a docker-archive file.
enum ImageSource {
    case engine(String)
    case file(String)

    init(_ reference: String, context: CommandContext) {
        let path = ConfigLoader.resolve(reference, in: context.workingDirectory).path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
            self = .file(path)
        } else {
            self = .engine(reference)
        }
    }

    /// Reads the image as a docker-archive: the file, or the engine's export streamed through a pipe.
    func archive(listLayers: Bool, context: CommandContext) throws -> DockerArchive {
        switch self {
        case .file(let path):
            return try DockerArchive.read(TarReader(path: path), listLayers: listLayers)
        case .engine(let reference):
            let (engine, session) = try DockerEngines.forCommand(context)
            defer { session?.close() }
            return try Self.archive(of: reference, in: engine, listLayers: listLayers)
        }
    }

    /// `reference` as a docker-archive, read from `engine`'s export through a pipe as it streams.
    static func archive(of reference: String, in engine: DockerEngine, listLayers: Bool) throws -> DockerArchive {
        guard try engine.image(reference) != nil else {
            throw TMEOpsError("no image \(reference) in the Docker engine at \(engine.location), and no file of that name")
        }
        let (source, finish) = try pipedArchive(name: "export of \(reference)") { fd in
            try engine.exportImage(reference) { try writeAll($0, to: fd) }
        }
        let reader = try TarReader(source: "the export of \(reference)") { buffer in try source.read(into: buffer) }
        let archive: DockerArchive
        do {
            archive = try DockerArchive.read(reader, listLayers: listLayers)
        } catch {
            try? finish()
            throw error
        }
        try finish()
        return archive
    }
}

/// `tmeops image inspect TAG|FILE`.
public struct ImageInspectCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show an image's layers, sizes and config, from an engine or a docker-archive file.",
        discussion: """
            Examples:
              tmeops image inspect tme-portal-server:latest
              tmeops image inspect release.tar --json
              tmeops image inspect tme-portal-server:latest -e production
            """)

    @OptionGroup public var globals: GlobalOptions

    @Argument(help: "Image tag or ID, or a docker-archive file.")
    public var image: String

    public init() {}

    public struct Report: Codable, Sendable {
        public struct Layer: Codable, Sendable {
            public let diffID: String
            public let size: Int64?
        }

        public let reference: String
        public let tags: [String]
        public let created: String?
        public let layers: [Layer]
        public let env: [String]
        public let cmd: [String]
        public let user: String?
        public let exposedPorts: [String]
    }

    public func run(_ context: CommandContext) async throws {
        let reference = image
        let report = try await runBlocking("image inspect") { () -> Report in
            let archive = try ImageSource(reference, context: context).archive(listLayers: false, context: context)
            guard let first = archive.manifest.first, let configData = archive.configs[first.config],
                let config = try JSONSerialization.jsonObject(with: configData) as? [String: Any]
            else {
                throw TMEOpsError("\(reference) holds no readable image config")
            }
            let inner = config["config"] as? [String: Any] ?? [:]
            let diffIDs = (config["rootfs"] as? [String: Any])?["diff_ids"] as? [String] ?? []
            let layers = zip(diffIDs, first.layers).map { Report.Layer(diffID: $0.0, size: archive.layerSizes[$0.1]) }
            return Report(
                reference: reference, tags: first.repoTags ?? [], created: config["created"] as? String, layers: layers,
                env: inner["Env"] as? [String] ?? [], cmd: (inner["Cmd"] as? [String]) ?? [], user: inner["User"] as? String,
                exposedPorts: ((inner["ExposedPorts"] as? [String: Any]) ?? [:]).keys.sorted())
        }
        if context.json {
            try context.output.writeJSON(report)
            return
        }
        let out = context.output
        out.line(out.bold(report.reference) + (report.tags.isEmpty ? "" : "  (\(report.tags.joined(separator: ", ")))"))
        out.line("  created  \(report.created ?? "unknown")")
        out.line("  cmd      \(report.cmd.joined(separator: " "))")
        out.line("  user     \((report.user?.isEmpty ?? true) ? "root" : report.user!)")
        out.line("  ports    \(report.exposedPorts.joined(separator: ", "))")
        out.line("  env      \(report.env.joined(separator: " "))")
        out.line("  layers   \(report.layers.count), \(ProgressReporter.bytes(UInt64(report.layers.compactMap(\.size).reduce(0, +))))")
        for (index, layer) in report.layers.enumerated() {
            out.line("    \(index + 1). \(layer.diffID.prefix(19))  \(layer.size.map { ProgressReporter.bytes(UInt64($0)) } ?? "-")")
        }
    }
}

/// `tmeops image verify TAG|FILE`.
public struct ImageVerifyCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Fail (exit 3) when a build.forbid glob matches in the image, a build.require path is missing, or NODE_ENV is wrong.",
        discussion: """
            Paths are judged as a container of the image sees them: every layer is read and applied in \
            order, so a file a later layer deletes is gone (a note says its bytes still ship in the lower \
            layer), and symbolic links (absolute ones such as /bin/python3 -> /usr/bin/python3 included) \
            resolve inside the image. A build.require path reached through a link counts when the link \
            leads to an existing path; a build.forbid glob matches path names, not link targets. NODE_ENV \
            must equal build.args.NODE_ENV (production when unset).

            Examples:
              tmeops image verify tme-portal-server:latest
              tmeops image verify release.tar --json
            """)

    @OptionGroup public var globals: GlobalOptions

    @Argument(help: "Image tag or ID, or a docker-archive file.")
    public var image: String

    public init() {}

    struct Report: Encodable {
        let image: String
        let passed: Bool
        let problems: [ImageVerifier.Problem]
        let notes: [ImageVerifier.Problem]
    }

    public func run(_ context: CommandContext) async throws {
        let config = try? context.loadConfig()
        let build = config?.section(BuildConfig.self) ?? BuildConfig()
        let verifier = ImageVerifier(build)
        let reference = image
        let (problems, notes) = try await runBlocking("image verify") {
            verifier.report(on: try ImageSource(reference, context: context).archive(listLayers: true, context: context))
        }
        if context.json {
            try context.output.writeJSON(Report(image: reference, passed: problems.isEmpty, problems: problems, notes: notes))
        } else if problems.isEmpty {
            context.output.line("\(context.output.green("✓")) \(reference): no forbidden paths, required paths present, NODE_ENV as expected")
        } else {
            context.output.line("\(context.output.red("✗")) \(reference): \(problems.count) problem\(problems.count == 1 ? "" : "s")")
            for problem in problems { context.output.line("  \(problem)") }
        }
        if !context.json {
            for note in notes { context.output.line("  note: \(note)") }
        }
        if !problems.isEmpty { throw ExitCode(ExitStatus.checkFailed.rawValue) }
    }
}

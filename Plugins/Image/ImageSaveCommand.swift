import ArgumentParser
import Foundation
import TMEOpsArchive
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import TMEOpsSSH

/// `tmeops image save TAG -o FILE`.
public struct ImageSaveCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "save",
        abstract: "Write an image as a docker-archive file that `docker load` accepts.",
        discussion: """
            Streams GET /images/{name}/get into FILE.part (optionally compressed) and renames it to FILE \
            when complete, so FILE is never a partial archive.

            Examples:
              tmeops image save tme-portal-server:latest -o release.tar
              tmeops image save tme-portal-server:latest -o release.tar.gz --compress gzip
            """)

    @OptionGroup public var globals: GlobalOptions

    @Argument(help: "Image tag or ID.")
    public var image: String

    @Option(name: .shortAndLong, help: "The archive to write.", completion: .file())
    public var output: String

    @Option(help: "none, gzip or zstd.")
    public var compress: String = "none"

    public init() {}

    public func run(_ context: CommandContext) async throws {
        guard let compression = ArchiveCompression(rawValue: compress) else {
            throw TMEOpsError.usage("--compress \(compress) is not one of none, gzip, zstd")
        }
        let target = ConfigLoader.resolve(output, in: context.workingDirectory).path
        if context.dryRun {
            context.output.line("would save \(image) to \(output) (\(compression.rawValue))")
            return
        }
        let image = self.image
        let progress = ProgressReporter(label: "save \(image)", sink: context.errorSink, logger: context.logger, quiet: context.options.quiet || context.json)
        let written = try await runBlocking("image save") { () -> UInt64 in
            let (engine, session) = try DockerEngines.forCommand(context)
            defer { session?.close() }
            guard let details = try engine.image(image) else { throw TMEOpsError("no image \(image) in the Docker engine at \(engine.location)") }
            let part = target + ".part"
            let fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw TMEOpsError("cannot write \(part): \(String(cString: strerror(errno)))") }
            var bytes: UInt64 = 0
            do {
                let writer = try CompressedStreamWriter(fd: fd, destination: part, compression: compression)
                try engine.exportImage(image) { chunk in
                    try writer.write(chunk)
                    bytes += UInt64(chunk.count)
                    progress.update(bytes, max(bytes, UInt64(details.size)))
                }
                try writer.close()
                guard fsync(fd) == 0 else { throw TMEOpsError("cannot write \(part): \(String(cString: strerror(errno)))") }
                close(fd)
            } catch {
                close(fd)
                unlink(part)
                throw error
            }
            guard rename(part, target) == 0 else { throw TMEOpsError("cannot move \(part) to \(target): \(String(cString: strerror(errno)))") }
            return bytes
        }
        progress.finish()
        let size = (try? FileManager.default.attributesOfItem(atPath: target)[.size] as? NSNumber)?.uint64Value ?? 0
        context.output.line(
            "\(context.output.green("✓")) saved \(image) to \(output): \(ProgressReporter.bytes(size)) (\(ProgressReporter.bytes(written)) uncompressed)")
    }
}

import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsHosts
import TMEOpsSSH

/// `tmeops transfer`: verified uploads and downloads.
public struct TransferCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "transfer",
        abstract: "Upload or download files with SHA-256 verification and resume.",
        subcommands: [TransferPutCommand.self, TransferGetCommand.self])

    public init() {}
}

/// Options both directions share.
public struct TransferOptions: ParsableArguments, Sendable {
    @Flag(help: "Continue an interrupted transfer from its .part file once the part's SHA-256 checks out.")
    public var resume = false

    @Flag(help: "Make the file readable by its owner only (mode 0600), for secrets and backups.")
    public var sensitive = false

    @Option(help: "On an environment of several hosts, the one to transfer with (required there).")
    public var host: String?

    @Option(
        help: ArgumentHelp(
            "auto (compressed when it is measured to pay: gzip, or zstd for an upload to a server that has it), none or gzip (default: transfer.compression, else auto).",
            valueName: "how"))
    public var compression: String?

    public init() {}

    public func validate() throws {
        if let compression, TransferConfig.Compression(rawValue: compression) == nil || compression == "zstd" {
            throw ValidationError("--compression \(compression) is not one of auto, none, gzip")
        }
    }

    /// The host to reach: `--host`, else the environment's only one.
    var choice: RemoteHost.Choice { host.map { .named($0) } ?? .only }

    /// `--compression`, else the config's `transfer.compression`.
    func setting(_ config: LoadedConfig) -> TransferConfig.Compression {
        compression.flatMap(TransferConfig.Compression.init(rawValue:)) ?? config.section(TransferConfig.self)?.compression ?? .auto
    }
}

/// `tmeops transfer put LOCAL REMOTE -e ENV`.
public struct TransferPutCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "put",
        abstract: "Upload a file to the host; renamed into place only once its SHA-256 matches.",
        discussion: """
            The bytes go to REMOTE.part, which the server hashes as it writes; REMOTE is replaced only \
            when that hash and the size match the local file. After a failure, --resume continues the \
            .part (its existing bytes are hashed and compared first). A file of 4 MiB or more travels \
            compressed when a sample of it shrinks and the link is slower than the compressor \
            (transfer.compression, or --compression): gzip, or zstd where the server has a zstd \
            program and it is the faster; the hash checked is the file's own.

            Examples:
              tmeops transfer put release.tar /home/tme-user/releases/ -e production
              tmeops transfer put release.tar /home/tme-user/release.tar -e production --resume
              tmeops transfer put .env.production /home/tme-user/.env -e production --sensitive
            """)

    @OptionGroup public var globals: GlobalOptions
    @OptionGroup public var transfer: TransferOptions

    @Flag(help: "Create missing remote folders.")
    public var mkdir = false

    @Argument(help: "The local file.", completion: .file())
    public var local: String

    @Argument(help: "Remote path: a file, or an existing folder to put the file in.")
    public var remote: String

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let (config, environment) = try context.loadEnvironment()
        let setting = transfer.setting(config)
        let localPath = ConfigLoader.resolve(local, in: context.workingDirectory).path
        guard FileManager.default.isReadableFile(atPath: localPath) else {
            throw TMEOpsError.usage("\(local) does not exist or cannot be read")
        }
        if context.dryRun {
            context.output.line("would upload \(local) to \(environment.name):\(remote) (via \(remote).part, verified by SHA-256)")
            return
        }
        let remote = self.remote
        let options = (resume: transfer.resume, mode: transfer.sensitive ? 0o600 : 0o644, mkdir: mkdir)
        let progress = ProgressReporter(
            label: "upload \((local as NSString).lastPathComponent)", sink: context.errorSink, logger: context.logger,
            quiet: context.options.quiet || context.json)
        let choice = transfer.choice
        let report = try await runBlocking("transfer put") { () -> TransferReport in
            let session = try RemoteHost.connect(environment, choice, context: context)
            defer { session.close() }
            do {
                var transfer = FileTransfer(session: session, progress: progress.update)
                transfer.encoding = { _ in TransferCompression.forUpload(setting, file: localPath, session: session, logger: context.logger) }
                return try transfer.upload(localPath, to: remote, resume: options.resume, mode: options.mode, createDirectories: options.mkdir)
            } catch let error as SSHError {
                progress.finish()
                throw TMEOpsError(error.message)
            }
        }
        progress.finish()
        try TransferReportPrinter.print(report, verb: "uploaded", environment: environment.name, context: context)
    }
}

/// `tmeops transfer get REMOTE LOCAL -e ENV`.
public struct TransferGetCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Download a file from the host; renamed into place only once its SHA-256 matches.",
        discussion: """
            The server hashes the file while it streams; LOCAL.part becomes LOCAL only when the hashes \
            match. --resume continues LOCAL.part after checking it against the start of the remote file. \
            A file under the environment's backups.dir is written owner-only (0600), as with --sensitive. \
            As with put, a large file that shrinks travels gzip-compressed when that is faster.

            Examples:
              tmeops transfer get /home/tme-user/backups/latest.dump ./backups/ -e production
              tmeops transfer get /home/tme-user/backups/latest.dump latest.dump -e production --resume
            """)

    @OptionGroup public var globals: GlobalOptions
    @OptionGroup public var transfer: TransferOptions

    @Argument(help: "The remote file.")
    public var remote: String

    @Argument(help: "Local path: a file, or an existing folder.", completion: .file())
    public var local: String

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let (config, environment) = try context.loadEnvironment()
        let setting = transfer.setting(config)
        let localPath = ConfigLoader.resolve(local, in: context.workingDirectory).path
        if context.dryRun {
            context.output.line("would download \(environment.name):\(remote) to \(local) (via .part, verified by SHA-256)")
            return
        }
        let remote = self.remote
        let options = (resume: transfer.resume, mode: transfer.sensitive ? 0o600 : 0o644)
        let progress = ProgressReporter(
            label: "download \((remote as NSString).lastPathComponent)", sink: context.errorSink, logger: context.logger,
            quiet: context.options.quiet || context.json)
        let choice = transfer.choice
        let report = try await runBlocking("transfer get") { () -> TransferReport in
            let session = try RemoteHost.connect(environment, choice, context: context)
            defer { session.close() }
            // A file under the backups folder is a copy of production's data: owner-only, asked for or not.
            var mode = options.mode
            if mode != 0o600, let dir = environment.section(BackupsConfig.self)?.dir,
                case let paths = try session.capture(["realpath", "-m", "--", dir, remote]).stdoutText.split(separator: "\n").map(String.init),
                paths.count == 2, paths[1] == paths[0] || paths[1].hasPrefix(paths[0] + "/")
            {
                mode = 0o600
            }
            do {
                var transfer = FileTransfer(session: session, progress: progress.update)
                transfer.encoding = { size in
                    TransferCompression.forDownload(setting, remote: remote, size: size, session: session, logger: context.logger)
                }
                return try transfer.download(remote, to: localPath, resume: options.resume, mode: mode)
            } catch let error as SSHError {
                progress.finish()
                throw TMEOpsError(error.message)
            }
        }
        progress.finish()
        try TransferReportPrinter.print(report, verb: "downloaded", environment: environment.name, context: context)
    }
}

enum TransferReportPrinter {
    struct JSONReport: Encodable {
        let destination: String
        let bytes: UInt64
        let resumedFrom: UInt64
        let sha256: String
        let seconds: Double
        /// Bytes that crossed the link, and how they were encoded (null: as they are).
        let wireBytes: UInt64
        let compression: String?
    }

    static func print(_ report: TransferReport, verb: String, environment: String, context: CommandContext) throws {
        if context.json {
            try context.output.writeJSON(
                JSONReport(
                    destination: report.destination, bytes: report.bytes, resumedFrom: report.resumedFrom,
                    sha256: report.sha256, seconds: report.seconds, wireBytes: report.wireBytes, compression: report.encoding))
            return
        }
        let rate = report.seconds > 0 ? Double(report.bytes - report.resumedFrom) / report.seconds : 0
        let place = verb == "uploaded" ? "to \(report.destination) on \(environment)" : "from \(environment) to \(report.destination)"
        var line = "\(context.output.green("✓")) \(verb) \(ProgressReporter.bytes(report.bytes)) \(place)"
        line += " in \(String(format: "%.2f", report.seconds)) s (\(ProgressReporter.bytes(UInt64(rate)))/s)"
        if report.resumedFrom > 0 { line += ", resumed after \(ProgressReporter.bytes(report.resumedFrom))" }
        if let encoding = report.encoding, report.bytes > report.resumedFrom {
            let ratio = Double(report.wireBytes) / Double(report.bytes - report.resumedFrom)
            line += "; \(ProgressReporter.bytes(report.wireBytes)) on the wire (\(encoding), \(String(format: "%.0f%%", ratio * 100)))"
        }
        context.output.line(line)
        context.output.line("  sha256 \(report.sha256) (verified on both ends)")
    }
}

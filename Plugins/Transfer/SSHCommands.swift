import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import TMEOpsSSH

/// `tmeops ssh`: check the connection, or run a command on the host.
public struct SSHCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "ssh",
        abstract: "Check the SSH connection to an environment's host, or run a command there.",
        subcommands: [SSHCheckCommand.self, SSHExecCommand.self])

    public init() {}
}

/// `tmeops ssh check -e ENV`.
public struct SSHCheckCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Connect, verify the host key, and report user, host, OS, Docker and free disk.",
        discussion: """
            Uses libssh2, never the ssh program. Docker is asked through its socket on the host (the \
            environment's docker.socket), tunnelled over the same connection.

            Examples:
              tmeops ssh check -e production
              tmeops ssh check -e production --json
            """)

    @OptionGroup public var globals: GlobalOptions

    public init() {}

    /// What `ssh check` found.
    public struct Report: Codable, Sendable, Equatable {
        public var destination: String
        public var hostKey: String
        public var authentication: String
        public var user: String
        public var hostname: String
        public var os: String
        public var kernel: String
        public var docker: String
        public var dockerAPI: String
        public var backupDirectory: String?
        public var backupFreeBytes: UInt64?
        public var connectSeconds: Double
        /// The algorithms negotiated with the server, and the libssh2 that did it.
        public var cipher: String
        public var mac: String
        public var kex: String
        public var libssh2: String
    }

    public func run(_ context: CommandContext) async throws {
        let (_, environment) = try context.loadEnvironment()
        let report = try await runBlocking("ssh check") { try Self.check(environment, context: context) }
        if context.json {
            try context.output.writeJSON(report)
            return
        }
        let out = context.output
        out.line("\(out.green("✓")) connected to \(report.destination) in \(String(format: "%.2f", report.connectSeconds)) s")
        out.line("  host key     \(report.hostKey) (verified against known_hosts)")
        out.line("  login        \(report.authentication)")
        let aead = report.cipher.contains("gcm") || report.cipher.contains("poly1305")
        out.line("  encryption   \(report.cipher)\(aead ? "" : " with \(report.mac)"), key exchange \(report.kex) (libssh2 \(report.libssh2))")
        out.line("  user         \(report.user)")
        out.line("  hostname     \(report.hostname)")
        out.line("  os           \(report.os) (\(report.kernel))")
        out.line("  docker       \(report.docker)\(report.dockerAPI.isEmpty ? "" : " (API \(report.dockerAPI))")")
        if let directory = report.backupDirectory {
            out.line("  backups dir  \(directory): \(report.backupFreeBytes.map { ProgressReporter.bytes($0) + " free" } ?? "missing")")
        }
    }

    static func check(_ environment: EnvironmentConfig, context: CommandContext) throws -> Report {
        let started = Date()
        let session = try RemoteHost.connect(environment, context: context)
        defer { session.close() }
        let connected = Date().timeIntervalSince(started)
        func text(_ argv: [String]) throws -> String {
            let output = try session.capture(argv, timeout: 30)
            return output.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let osRelease = try text(["cat", "/etc/os-release"])
        let prettyName =
            osRelease.split(separator: "\n").first { $0.hasPrefix("PRETTY_NAME=") }
            .map { String($0.dropFirst("PRETTY_NAME=".count)).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) } ?? "unknown"
        var report = Report(
            destination: session.options.destination, hostKey: session.hostKeyDescription, authentication: session.authentication,
            user: try text(["id", "-un"]), hostname: try text(["hostname"]), os: prettyName, kernel: try text(["uname", "-sr"]),
            docker: "not checked (no docker section)", dockerAPI: "", backupDirectory: nil, backupFreeBytes: nil, connectSeconds: connected,
            cipher: session.negotiated.cipher, mac: session.negotiated.mac, kex: session.negotiated.kex, libssh2: LibSSH2.version)

        let socket = environment.section(DockerConfig.self)?.socket ?? DockerConfig.defaultSocket
        do {
            let version = try DockerEngine.remote(session: session, socket: socket).version()
            report.docker = version.version
            report.dockerAPI = version.apiVersion
        } catch {
            report.docker = "unreachable: \(error)"
        }
        if let directory = environment.section(BackupsConfig.self)?.dir {
            report.backupDirectory = directory
            let sftp = try SFTPClient(session)
            report.backupFreeBytes = try sftp.stat(directory) == nil ? nil : try sftp.availableBytes(directory)
        }
        return report
    }
}

/// `tmeops ssh exec -e ENV -- ARGV...`.
public struct SSHExecCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run one command on the host; its output streams back and its exit status is tmeops's.",
        discussion: """
            Every argument is quoted for the remote shell, so what you type is what runs: no word \
            splitting, globbing or variable expansion happens on the server. A command killed by a \
            signal exits 128 + the signal's number, as a shell reports it.

            Examples:
              tmeops ssh exec -e production -- df -h /
              tmeops ssh exec -e production -- docker ps --format '{{.Names}}'
              tmeops ssh exec -e production --stdin -- sh -c 'cat > /tmp/notes' < notes.txt
            """)

    @OptionGroup public var globals: GlobalOptions

    @Flag(help: "Send this process's standard input to the command.")
    public var stdin = false

    @Option(help: ArgumentHelp("Give up after this long (e.g. 30s, 5m).", valueName: "duration"))
    public var timeout: String?

    /// For bench/transfer: run the command this many times over the one session (API benchmark).
    @Option(help: .hidden)
    public var repeatCount: Int = 1

    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.")
    public var command: [String] = []

    public init() {}

    public func validate() throws {
        if command.isEmpty { throw ValidationError("name the command to run after --, e.g. tmeops ssh exec -e production -- uptime") }
    }

    public func run(_ context: CommandContext) async throws {
        let (_, environment) = try context.loadEnvironment()
        let limit = try timeout.map { try ConfigDuration(parsing: $0).seconds }
        if context.dryRun {
            context.output.line("would run on \(environment.name): \(ShellQuote.command(command))")
            return
        }
        let argv = command
        let useStdin = stdin
        let times = max(1, repeatCount)
        let exit = try await runBlocking("ssh exec") { () -> RemoteExit in
            let session = try RemoteHost.connect(environment, context: context)
            defer { session.close() }
            var last = RemoteExit(status: 0, signal: nil)
            for _ in 0..<times {
                let input: ByteSource? = useStdin ? try FileSource(path: "/dev/stdin") : nil
                last = try session.run(
                    argv, stdin: input, timeout: limit,
                    stdout: { context.output.sink.write(bytes: $0) },
                    stderr: { context.errorSink.write(bytes: $0) })
                if !last.succeeded { break }
            }
            return last
        }
        if let status = exit.status, status != 0 { throw ExitCode(status) }
        if let signal = exit.signal {
            context.logger.error("`\(argv.joined(separator: " "))` was killed by signal \(signal) on \(environment.name)")
            throw ExitCode(128 + Self.signalNumber(signal))
        }
    }

    static func signalNumber(_ name: String) -> Int32 {
        ["HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "ABRT": 6, "FPE": 8, "KILL": 9, "SEGV": 11, "PIPE": 13, "ALRM": 14, "TERM": 15][name] ?? 1
    }
}

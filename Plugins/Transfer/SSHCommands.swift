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

            An environment of several hosts (ssh.hosts) is checked on every host at once; each gets a \
            section, and the exit status is 1 when any host failed, each failure named.

            Examples:
              tmeops ssh check -e production
              tmeops ssh check -e production --json
              tmeops ssh check -e production --host 10.0.0.12
            """)

    @OptionGroup public var globals: GlobalOptions

    @Option(help: "Check only this host of ssh.hosts.")
    public var host: String?

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
        let ssh = try environment.require(SSHConfig.self, for: "ssh check")
        let names = try host.map { [try RemoteHost.host(.named($0), in: environment)] } ?? ssh.hosts
        if names.count == 1 {
            let choice = RemoteHost.Choice.named(names[0])
            let report = try await runBlocking("ssh check") { try Self.check(environment, choice, context: context) }
            if context.json { return try context.output.writeJSON(report) }
            Self.show(report, context.output)
            return
        }
        // Every host at once: one slow or unreachable host costs its own timeout, not the sum.
        let results = try await runBlocking("ssh check") { () -> [Result<Report, Error>] in
            let slots = ResultSlots<Report>(count: names.count)
            DispatchQueue.concurrentPerform(iterations: names.count) { index in
                slots.set(index, Result { try Self.check(environment, .named(names[index]), context: context) })
            }
            return slots.results
        }
        let failures = zip(names, results).compactMap { name, result -> String? in
            if case .failure(let error) = result { return "\(name): \(error)" }
            return nil
        }
        if context.json {
            try context.output.writeJSON(
                zip(names, results).map { name, result in
                    HostCheck(host: name, report: try? result.get(), error: result.failureText.map { context.redactor.redact($0) })
                })
        } else {
            for (name, result) in zip(names, results) {
                context.output.line(context.output.bold("== \(name)"))
                switch result {
                case .success(let report): Self.show(report, context.output)
                case .failure(let error): context.output.line("\(context.output.red("✗")) \(error)")
                }
            }
        }
        if !failures.isEmpty {
            throw TMEOpsError("\(failures.count) of \(names.count) hosts of \(environment.name) failed the check: \(failures.joined(separator: "; "))")
        }
    }

    /// One host's entry in `ssh check --json` on an environment of several hosts.
    struct HostCheck: Encodable {
        let host: String
        let report: Report?
        let error: String?
    }

    static func show(_ report: Report, _ out: Output) {
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

    static func check(_ environment: EnvironmentConfig, _ choice: RemoteHost.Choice = .only, context: CommandContext) throws -> Report {
        let started = Date()
        let session = try RemoteHost.connect(environment, choice, context: context)
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
              tmeops ssh exec -e production --all-hosts -- uptime
              tmeops ssh exec -e production --host 10.0.0.12 -- df -h /

            On an environment of several hosts name one with --host, or run on every host at once with \
            --all-hosts: each host's output is printed under its name once it is done, and the exit \
            status is 0 only when the command succeeded on every host.
            """)

    @OptionGroup public var globals: GlobalOptions

    @Option(help: "Run on this host of ssh.hosts.")
    public var host: String?

    @Flag(help: "Run on every host of the environment at once.")
    public var allHosts = false

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
        if host != nil && allHosts { throw ValidationError("pass --host H or --all-hosts, not both") }
        if allHosts && stdin { throw ValidationError("--stdin goes to one command; with --all-hosts there is one per host") }
    }

    public func run(_ context: CommandContext) async throws {
        let (_, environment) = try context.loadEnvironment()
        let limit = try timeout.map { try ConfigDuration(parsing: $0).seconds }
        if context.dryRun {
            let hosts =
                try allHosts ? environment.require(SSHConfig.self, for: "ssh exec").hosts : [RemoteHost.host(host.map { .named($0) } ?? .only, in: environment)]
            context.output.line("would run on \(environment.name) (\(hosts.joined(separator: ", "))): \(ShellQuote.command(command))")
            return
        }
        let argv = command
        let useStdin = stdin
        let times = max(1, repeatCount)
        if allHosts { return try await runEverywhere(environment, argv: argv, limit: limit, context: context) }
        let choice = try host.map { RemoteHost.Choice.named(try RemoteHost.host(.named($0), in: environment)) } ?? .only
        let exit = try await runBlocking("ssh exec") { () -> RemoteExit in
            let session = try RemoteHost.connect(environment, choice, context: context)
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

    /// `--all-hosts`: the command on every host at once, each host's output printed under its name.
    func runEverywhere(_ environment: EnvironmentConfig, argv: [String], limit: Double?, context: CommandContext) async throws {
        let names = try environment.require(SSHConfig.self, for: "ssh exec").hosts
        let results = try await runBlocking("ssh exec") { () -> [Result<RemoteOutput, Error>] in
            let slots = ResultSlots<RemoteOutput>(count: names.count)
            DispatchQueue.concurrentPerform(iterations: names.count) { index in
                slots.set(
                    index,
                    Result {
                        let session = try RemoteHost.connect(environment, .named(names[index]), context: context)
                        defer { session.close() }
                        return try session.capture(argv, timeout: limit)
                    })
            }
            return slots.results
        }
        var failed: [String] = []
        for (name, result) in zip(names, results) {
            context.output.line(context.output.bold("== \(name)"))
            switch result {
            case .success(let output):
                output.stdout.withUnsafeBytes { context.output.sink.write(bytes: $0) }
                output.stderr.withUnsafeBytes { context.errorSink.write(bytes: $0) }
                if !output.exit.succeeded { failed.append("\(name) (\(output.exit))") }
            case .failure(let error):
                context.output.line("\(context.output.red("✗")) \(error)")
                failed.append("\(name) (\(error))")
            }
        }
        if !failed.isEmpty {
            throw TMEOpsError("`\(ShellQuote.command(argv))` failed on \(failed.count) of \(names.count) hosts: \(failed.joined(separator: "; "))")
        }
    }

    static func signalNumber(_ name: String) -> Int32 {
        ["HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "ABRT": 6, "FPE": 8, "KILL": 9, "SEGV": 11, "PIPE": 13, "ALRM": 14, "TERM": 15][name] ?? 1
    }
}

import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import TMEOpsSSH

/// `tmeops exec -e ENV -- CMD...`: a command in the running app container, through the Engine API (the
/// same path as `docker exec`, with no docker CLI on the host or here).
public struct ExecCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command in the running app container; its output streams back and its exit status is tmeops's.",
        discussion: """
            The command runs as the container's own processes do (its user, working directory and \
            environment, the env file's variables included), as an argument vector: nothing is split or \
            expanded on the way. With -i this process's standard input is the command's: it is all sent, then \
            closed, before the output is read, which suits a script or dump fed in (a command that prints \
            more than about a megabyte before it has read all of its input would wait; send such output \
            to a file in the container). It is not a terminal. On an environment of \
            several hosts name one with --host; on a swarm, the first of the app's tasks on that host runs it.

            Examples:
              tmeops exec -e production -- node -e 'console.log(process.version)'
              tmeops exec -e production -- sh -c 'ls -l /app/uploads | head'
              tmeops exec -e production -i -- node scripts/import.js < customers.csv
              tmeops exec -e production --host 10.0.0.12 -- cat /proc/1/status
            """)

    @OptionGroup public var globals: GlobalOptions

    @Option(help: "On an environment of several hosts, the host whose app container runs it.")
    public var host: String?

    @Option(help: "The container (default: app.container).")
    public var container: String?

    @Option(help: "Run as this user (default: the container's).")
    public var user: String?

    @Flag(name: .shortAndLong, help: "Send this process's standard input to the command.")
    public var interactive = false

    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.")
    public var command: [String] = []

    public init() {}

    public func validate() throws {
        if command.isEmpty { throw ValidationError("name the command to run after --, e.g. tmeops exec -e production -- node --version") }
    }

    public func run(_ context: CommandContext) async throws {
        let (_, environment) = try context.loadEnvironment()
        let app = try environment.require(AppContainerConfig.self, for: "running a command in the app container")
        let remote = environment.section(SSHConfig.self) != nil
        let choice: RemoteHost.Choice = try host.map { .named(try RemoteHost.host(.named($0), in: environment)) } ?? .only
        if remote { _ = try RemoteHost.host(choice, in: environment) }
        let (argv, named, user, interactive) = (command, container, self.user, self.interactive)
        if context.dryRun {
            context.output.line("would run in \(named ?? app.container) on \(environment.name): \(ShellQuote.command(argv))")
            return
        }
        let status = try await runBlocking("exec") { () -> Int in
            let (engine, session) = remote ? try DockerEngines.remote(environment, choice, context: context) : (try DockerEngines.local(context), nil)
            defer { session?.close() }
            let target = try Self.container(named ?? app.container, explicit: named != nil, engine: engine, environment: environment.name)
            // A container tmeops made keeps the env file's variables out of its configuration: the
            // command gets them as the app did, through the same file.
            let entrypoint = (try engine.containerDocument(target)?["Config"]?["Entrypoint"]?.array ?? []).compactMap(\.string)
            let run = AppEnvFiles.runsUnderWrapper(entrypoint: entrypoint) ? AppEnvFiles.wrapped(argv) : argv
            context.logger.debug("exec in \(target): \(ShellQuote.command(argv))")
            return try engine.execStreaming(
                target, run, user: user, input: interactive ? try FileSource(path: "/dev/stdin") : nil,
                onStdout: { data in data.withUnsafeBytes { context.output.sink.write(bytes: $0) } },
                onStderr: { data in data.withUnsafeBytes { context.errorSink.write(bytes: $0) } })
        }
        // 126 and 127 are what the engine reports for a command it could not run or find, as a shell does.
        if status != 0 { throw ExitCode(Int32(truncatingIfNeeded: status)) }
    }

    /// The running container to run in: `name`, or on a swarm node (no container of that name, unless
    /// one was asked for by name) the first running task of the app's service.
    static func container(_ name: String, explicit: Bool, engine: DockerEngine, environment: String) throws -> String {
        if let found = try engine.container(name) {
            guard found.state.running else { throw TMEOpsError("\(name) is not running (\(found.state.status)); `tmeops validate` or `tmeops recover` first") }
            return found.id
        }
        if !explicit, let task = try engine.swarmTaskContainers(environment: environment).first { return task }
        throw TMEOpsError("there is no container \(name) at \(engine.location)")
    }
}

import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import TMEOpsSSH

/// `tmeops logs -e ENV`.
public struct LogsCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Show container logs through the Engine API, optionally only the configured error patterns.",
        discussion: """
            Examples:
              tmeops logs -e production --tail 100
              tmeops logs -e production --errors --since 1h
              tmeops logs -e production --follow
              tmeops logs -e production --host 10.0.0.12 --tail 50
            On an environment of several hosts, each line is prefixed by its host and lines are merged by time.
            """)

    @OptionGroup public var globals: GlobalOptions

    @Flag(help: "Only lines matching validate.log_errors.")
    public var errors = false

    @Option(help: "Since a Unix time, an RFC 3339 time or a duration back (15m).")
    public var since: String?

    @Option(help: "Only the last N lines.")
    public var tail: Int?

    @Flag(help: "Keep printing new lines until interrupted.")
    public var follow = false

    @Option(help: "The container (default: app.container).")
    public var container: String?

    @Option(help: "On an environment of several hosts, only this one (default: every host, lines prefixed by host and merged by time).")
    public var host: String?

    public init() {}

    public func validate() throws {
        if let since, LogTime.parse(since) == nil { throw ValidationError("--since \(since): expected a Unix time, an RFC 3339 time or a duration like 15m") }
    }

    public func run(_ context: CommandContext) async throws {
        let (_, environment) = try context.loadEnvironment()
        let app = try environment.require(AppContainerConfig.self, for: "reading the app's logs")
        let patterns = errors ? (environment.section(ValidateConfig.self)?.logErrors ?? []) : []
        if errors && patterns.isEmpty { throw TMEOpsError.usage("--errors needs patterns in environments.\(environment.name).validate.log_errors") }
        let (name, since, tail, follow) = (container ?? app.container, self.since.flatMap { LogTime.parse($0) }, self.tail, self.follow)
        let sink = context.output.sink
        let swarmEnvironment = container == nil ? environment.name : nil
        let hosts = try RemoteHost.hosts(host, in: environment)
        let keep: @Sendable (String) -> Bool = { line in patterns.isEmpty || patterns.contains(where: { $0.matches(line) }) }
        guard hosts.count > 1 else {
            let choice: RemoteHost.Choice = hosts.first.map { host == nil ? .only : .named($0) } ?? .only
            return try await runBlocking("logs") {
                let (engine, session) = try DockerEngines.remote(environment, choice, context: context)
                defer { session.close() }
                try Self.read(engine, name, since: since, tail: tail, follow: follow, timestamps: false, swarmEnvironment: swarmEnvironment) { line in
                    if keep(line) { sink.write(line + "\n") }
                }
            }
        }
        try await runBlocking("logs") {
            let lock = NSLock()
            let results = OnEachHost.map(hosts) { host -> [(at: String, line: String)] in
                let (engine, session) = try DockerEngines.remote(environment, .named(host), context: context)
                defer { session.close() }
                var lines: [(at: String, line: String)] = []
                try Self.read(engine, name, since: since, tail: tail, follow: follow, timestamps: true, swarmEnvironment: swarmEnvironment) { stamped in
                    let (at, line) = Self.splitTimestamp(stamped)
                    guard keep(line) else { return }
                    // Followed, each line is printed as it comes; else all are merged by time at the end.
                    if follow { lock.withLock { sink.write("\(host) | \(line)\n") } } else { lines.append((at, "\(host) | \(line)")) }
                }
                return lines
            }
            var merged: [(at: String, line: String)] = []
            var failures: [String] = []
            for (host, result) in zip(hosts, results) {
                switch result {
                case .success(let lines): merged += lines
                case .failure(let error): failures.append("\(host): \(error)")
                }
            }
            // A stable sort: lines of one host with the same time keep their order.
            for entry in merged.enumerated().sorted(by: { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }) { sink.write(entry.element.line + "\n") }
            if !failures.isEmpty {
                throw TMEOpsError("reading the logs failed on \(failures.count) of \(hosts.count) hosts: \(failures.joined(separator: "; "))")
            }
        }
    }

    /// Reads `container`'s log lines through the engine, one call of `line` per line.
    static func read(
        _ engine: DockerEngine, _ container: String, since: Int?, tail: Int?, follow: Bool, timestamps: Bool, swarmEnvironment: String? = nil,
        line: (String) -> Void
    ) throws {
        // A swarm environment's app runs as its service's tasks: this host's are read instead (their
        // lines so far; --follow follows a named container only).
        if let swarmEnvironment, try engine.container(container) == nil {
            let tasks = try engine.swarmTaskContainers(environment: swarmEnvironment)
            // Swarm places the replicas: a node may run none of them.
            if tasks.isEmpty, try engine.swarmState().inSwarm { return }
            if !tasks.isEmpty {
                for task in tasks { try read(engine, task, since: since, tail: tail, follow: false, timestamps: timestamps, line: line) }
                return
            }
        }
        var pending = ""
        try engine.logs(container, since: since, tail: tail, follow: follow, timestamps: timestamps) { _, data in
            pending += String(decoding: data, as: UTF8.self)
            while let newline = pending.firstIndex(of: "\n") {
                line(String(pending[..<newline]))
                pending = String(pending[pending.index(after: newline)...])
            }
        }
        if !pending.isEmpty { line(pending) }
    }

    /// The engine's RFC 3339 time at the start of a line (its fraction padded to nine digits, so that
    /// times sort as text) and the line after it.
    static func splitTimestamp(_ stamped: String) -> (String, String) {
        guard let space = stamped.firstIndex(of: " ") else { return ("", stamped) }
        var at = String(stamped[..<space])
        if at.hasSuffix("Z") {
            let parts = at.dropLast().split(separator: ".", maxSplits: 1)
            let fraction = parts.count == 2 ? String(parts[1]) : ""
            at = "\(parts[0]).\(fraction.padding(toLength: 9, withPad: "0", startingAt: 0))Z"
        }
        return (at, String(stamped[stamped.index(after: space)...]))
    }
}

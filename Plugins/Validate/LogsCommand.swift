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
        try await runBlocking("logs") {
            let (engine, session) = try DockerEngines.remote(environment, context: context)
            defer { session.close() }
            var pending = ""
            try engine.logs(name, since: since, tail: tail, follow: follow) { _, data in
                pending += String(decoding: data, as: UTF8.self)
                while let newline = pending.firstIndex(of: "\n") {
                    let line = String(pending[..<newline])
                    pending = String(pending[pending.index(after: newline)...])
                    if patterns.isEmpty || patterns.contains(where: { $0.matches(line) }) { sink.write(line + "\n") }
                }
            }
            if !pending.isEmpty, patterns.isEmpty || patterns.contains(where: { $0.matches(pending) }) { sink.write(pending + "\n") }
        }
    }
}

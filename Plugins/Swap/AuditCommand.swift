import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsHosts

/// `tmeops audit -e ENV`: the audit log kept on the host (`~/.tmeops/APP/ENV/audit.jsonl` of the SSH user on
/// the first host): who deployed, rolled back, recovered, took the lock or applied migrations, when,
/// with what outcome and why.
public struct AuditCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Show the audit log kept on the host: who did what, when, with what outcome.",
        discussion: """
            --since takes a duration back from now (24h, 7d, 90m) or a date or time (2026-12-01, \
            2026-12-01T09:30:00Z). Secrets were masked before the log was written.

            Examples:
              tmeops audit -e production
              tmeops audit -e production --since 7d
              tmeops audit -e production --since 2026-12-01 --json
            """)

    @OptionGroup public var globals: GlobalOptions

    @Option(help: ArgumentHelp("Only entries from this time on: a duration back from now (24h, 7d) or a date (2026-12-01).", valueName: "when"))
    public var since: String?

    public init() {}

    /// Outcomes of an action that did not do what it was asked to (a deploy put back is one).
    static let failed: Set<String> = ["failed", "refused", "rolled back", "not restored", "partly migrated", "unhealthy"]

    public func validate() throws { _ = try Self.start(since, now: Date()) }

    /// The earliest time `since` admits: now minus a duration, or a date (midnight UTC) or full timestamp.
    static func start(_ since: String?, now: Date) throws -> Date? {
        guard let since, !since.isEmpty else { return nil }
        if let duration = try? ConfigDuration(parsing: since) { return now.addingTimeInterval(-duration.seconds) }
        if let time = ISO8601DateFormatter().date(from: since) { return time }
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        if let date = day.date(from: since) { return date }
        throw ValidationError("--since '\(since)' is neither a duration (24h, 7d) nor a date (2026-12-01 or 2026-12-01T09:30:00Z)")
    }

    public func run(_ context: CommandContext) async throws {
        let start = try Self.start(since, now: Date())
        let (lines, host) = try await withTarget(context, "audit", host: .first) { target in (try target.state.auditLines(), target.state.host) }
        let parser = ISO8601DateFormatter()
        let shown = lines.filter { line in start.map { start in parser.date(from: line.at).map { $0 >= start } ?? true } ?? true }
        if context.json { return try context.output.writeJSON(shown) }
        let out = context.output
        guard !shown.isEmpty else {
            return out.line(lines.isEmpty ? "the audit log on \(host) is empty" : "no audit entries since \(since ?? "")  (\(lines.count) older)")
        }
        for line in shown {
            let mark = Self.failed.contains(line.outcome) ? out.red("✗") : out.green("✓")
            out.line(
                "\(line.at)  \(mark) \(line.action)  \(line.outcome)\(line.release.map { "  \($0)" } ?? "")  by \(line.operatorName)"
                    + (line.detail.isEmpty ? "" : "  \"\(line.detail)\""))
        }
    }
}

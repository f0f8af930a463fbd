import Foundation
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import TMEOpsPostgres
import TMEOpsSSH

/// One line of the post-deploy checklist: what was checked, whether it passed, and the evidence.
public struct CheckResult: Codable, Sendable, Equatable {
    public let name: String
    public let ok: Bool
    public let evidence: String
    public var details: [String]

    public init(_ name: String, ok: Bool, _ evidence: String, details: [String] = []) {
        self.name = name
        self.ok = ok
        self.evidence = evidence
        self.details = details
    }
}

public enum Checks {
    /// The smoke checks of `validate.smoke` against a container's address.
    public static func smoke(_ checks: [ValidateConfig.SmokeCheck], session: SSHSession, address: String, port: Int) -> [CheckResult] {
        checks.map { check in
            do {
                let response = try HTTPProbe.request(
                    session: session, host: address, port: port, method: check.method, path: check.path, headers: check.headers)
                var problems: [String] = []
                if response.status != check.status { problems.append("status \(response.status), expected \(check.status)") }
                if let needle = check.contains, !response.text.contains(needle) { problems.append("body lacks \"\(needle)\"") }
                for (path, expected) in check.json.sorted(by: { $0.key < $1.key }) {
                    let actual = JSONPath(path)?.value(in: response.body)
                    if actual != expected { problems.append("\(path) is \(actual ?? "absent"), expected \(expected)") }
                }
                return CheckResult(
                    "smoke: \(check.name)", ok: problems.isEmpty,
                    "\(check.method) \(check.path) → \(response.status)" + (problems.isEmpty ? "" : ": " + problems.joined(separator: "; ")))
            } catch {
                return CheckResult("smoke: \(check.name)", ok: false, "\(check.method) \(check.path): \(error)")
            }
        }
    }

    /// Log lines of `container` since `since` (Unix time; default: the container's start) matching the patterns.
    public static func logScan(_ patterns: [LogPattern], engine: DockerEngine, container: String, since: Int?) throws -> CheckResult {
        var lines: [String] = []
        var pending = ""
        try engine.logs(container, since: since) { _, data in
            pending += String(decoding: data, as: UTF8.self)
            while let newline = pending.firstIndex(of: "\n") {
                lines.append(String(pending[..<newline]))
                pending = String(pending[pending.index(after: newline)...])
            }
        }
        if !pending.isEmpty { lines.append(pending) }
        var counts: [(LogPattern, [String])] = []
        for pattern in patterns { counts.append((pattern, lines.filter { pattern.matches($0) })) }
        let hits = counts.filter { !$0.1.isEmpty }
        let summary = counts.map { "\($0.0) \($0.1.count)" }.joined(separator: ", ")
        return CheckResult(
            "logs: no error patterns", ok: hits.isEmpty,
            "\(lines.count) lines\(since.map { " since \(LogTime.text($0))" } ?? "")" + (patterns.isEmpty ? "" : "; \(summary)"),
            details: hits.flatMap { pattern, matched in matched.prefix(3).map { "[\(pattern)] \($0)" } })
    }

    /// Connections by state for the app database, the connection limit, SQL checks and schema drift
    /// (`drift`: the differences from the expected schema, when one is expected).
    public static func database(_ config: ValidateConfig, connection: PostgresConnection, drift: [String]?, expectedName: String?) throws
        -> [CheckResult]
    {
        var results: [CheckResult] = []
        let rows = try connection.query(
            "SELECT coalesce(state, 'unknown'), count(*) FROM pg_catalog.pg_stat_activity WHERE datname = $1 GROUP BY 1 ORDER BY 1",
            [connection.target.database]
        ).rows
        let total = rows.compactMap { Int($0[1] ?? "") }.reduce(0, +)
        let states = rows.map { "\($0[0] ?? "?") \($0[1] ?? "0")" }.joined(separator: ", ")
        let limitOK = config.maxConnections.map { total <= $0 } ?? true
        results.append(
            CheckResult(
                "database: connections", ok: limitOK,
                "\(total) to \(connection.target.database) (\(states))" + (config.maxConnections.map { limitOK ? " ≤ \($0)" : " > the maximum \($0)" } ?? "")))
        for check in config.sql {
            do {
                let result = try connection.query(check.query)
                let ok: Bool
                switch check.expect {
                case "none": ok = result.rows.isEmpty
                case "value": ok = result.scalar == check.value
                default: ok = !result.rows.isEmpty
                }
                let got =
                    check.expect == "value"
                    ? "value \(result.scalar ?? "NULL") (expected \(check.value ?? ""))" : "\(result.rows.count) rows (expected \(check.expect))"
                results.append(CheckResult("sql: \(check.name)", ok: ok, got))
            } catch {
                results.append(CheckResult("sql: \(check.name)", ok: false, "\(error)"))
            }
        }
        if let drift {
            let expected = expectedName ?? "the expected schema"
            results.append(
                CheckResult(
                    "schema: no drift", ok: drift.isEmpty, drift.isEmpty ? "matches \(expected)" : "\(drift.count) differences from \(expected)",
                    details: drift))
        }
        return results
    }
}

/// Unix times as operators read them.
enum LogTime {
    static func text(_ unix: Int) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(unix)))
    }

    /// `--since`: a Unix time, an RFC 3339 time, or a duration back from now (`90s`, `15m`, `1h`).
    static func parse(_ text: String, now: Date = Date()) -> Int? {
        if let unix = Int(text) { return unix }
        if let date = ISO8601DateFormatter().date(from: text) { return Int(date.timeIntervalSince1970) }
        if let duration = try? ConfigDuration(parsing: text) { return Int(now.timeIntervalSince1970 - duration.seconds) }
        return nil
    }
}

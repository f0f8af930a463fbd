import Foundation
import TMEOpsCore
import TMEOpsSSH
import TransferPlugin

/// What a deploy keeps on the host, under `~/.tmeops/<app>/`: the lock (a directory, made atomically by
/// mkdir), the journal of the deploy in progress, the release ledger and the audit log (JSON lines).
/// Every command is an argv; paths and values reach the scripts as positional parameters.
public struct RemoteState {
    public let session: SSHSession
    public let base: String
    public let host: String

    public init(session: SSHSession, app: String) {
        self.session = session
        base = ".tmeops/\(app)"
        host = session.options.host
    }

    public var lockDir: String { "\(base)/lock" }
    public var journalPath: String { "\(base)/journal.jsonl" }
    public var releasesPath: String { "\(base)/releases.jsonl" }
    public var auditPath: String { "\(base)/audit.jsonl" }

    @discardableResult
    func sh(_ script: String, _ arguments: [String] = [], stdin: Data? = nil, what: String) throws -> RemoteOutput {
        try session.script(script, arguments, stdin: stdin, what: what)
    }

    static func json<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }

    /// Appends one JSON line to `path` (O_APPEND writes of one line are atomic enough for one writer).
    func append<T: Encodable>(_ value: T, to path: String) throws {
        try sh(
            #"mkdir -p -m 700 -- "$(dirname -- "$1")" && umask 077 && cat >> "$1""#, [path], stdin: try Self.json(value) + Data("\n".utf8),
            what: "appending to \(path)")
    }

    func readLines<T: Decodable>(_ path: String, as type: T.Type) throws -> [T] {
        let output = try sh(#"[ -f "$1" ] && cat -- "$1" || true"#, [path], what: "reading \(path)")
        return output.stdoutText.split(separator: "\n").compactMap { try? JSONDecoder().decode(T.self, from: Data($0.utf8)) }
    }

    // MARK: lock

    public struct LockOwner: Codable, Sendable, Equatable {
        public var owner: String
        public var host: String
        public var pid: Int32
        public var at: String
        public var message: String
        public var token: String

        public var acquired: Date? { ISO8601DateFormatter().date(from: at) }
    }

    public func lockOwner() throws -> LockOwner? {
        let output = try sh(
            #"[ -f "$1/owner.json" ] && cat -- "$1/owner.json"; [ -d "$1" ] && echo '#held' || true"#, [lockDir], what: "reading the deploy lock")
        let text = output.stdoutText
        guard text.contains("#held") else { return nil }
        let json = text.components(separatedBy: "#held").first ?? ""
        return (try? JSONDecoder().decode(LockOwner.self, from: Data(json.utf8)))
            ?? LockOwner(owner: "unknown", host: "unknown", pid: 0, at: "unknown", message: "the lock has no readable owner.json", token: "")
    }

    /// Takes the lock: mkdir is atomic, so of two deploys exactly one gets it. An expired lock (older than
    /// `ttl`) is broken only with `force`.
    public func acquire(message: String, ttl: TimeInterval, force: Bool, context: CommandContext) throws -> LockOwner {
        let me = LockOwner(
            owner: context.environment["USER"] ?? NSUserName(), host: ProcessInfo.processInfo.hostName, pid: getpid(),
            at: ISO8601DateFormatter().string(from: Date()), message: message, token: UUID().uuidString)
        for _ in 0..<2 {
            let output = try session.capture(
                [
                    "sh", "-c", #"mkdir -p -m 700 -- "$(dirname -- "$1")" && mkdir -m 700 -- "$1" 2>/dev/null && umask 077 && cat > "$1/owner.json""#, "tmeops",
                    lockDir,
                ],
                stdin: try Self.json(me))
            if output.exit.succeeded { return me }
            guard let holder = try lockOwner() else { continue }
            let age = holder.acquired.map { Date().timeIntervalSince($0) }
            if force, let age, age > ttl {
                context.logger.warning("breaking an expired deploy lock of \(holder.owner)@\(holder.host) (pid \(holder.pid), \(Int(age)) s old)")
                try sh(#"rm -rf -- "$1""#, [lockDir], what: "breaking the expired lock")
                continue
            }
            let expiry =
                age.map { $0 > ttl ? "; it expired \(Int($0 - ttl)) s ago, so --force may break it" : "; it expires in \(Int(ttl - $0)) s" } ?? ""
            throw TMEOpsError(
                "the deploy lock on \(host) is held by \(holder.owner)@\(holder.host) (pid \(holder.pid)) since \(holder.at): \"\(holder.message)\"\(expiry)")
        }
        throw TMEOpsError("could not take the deploy lock on \(host)")
    }

    /// Releases the lock if `token` holds it (or whoever holds it, with nil).
    public func release(token: String?) throws {
        if let token, let holder = try lockOwner(), holder.token != token {
            throw TMEOpsError("the deploy lock on \(host) is now held by \(holder.owner)@\(holder.host), not by this deploy; left in place")
        }
        try sh(#"rm -rf -- "$1""#, [lockDir], what: "releasing the deploy lock")
    }

    // MARK: journal

    public struct JournalEntry: Codable, Sendable, Equatable {
        public var release: String
        public var step: String
        /// start, done, failed, note.
        public var phase: String
        public var at: String
        public var data: [String: String]

        public init(release: String, step: String, phase: String, data: [String: String] = [:]) {
            self.release = release
            self.step = step
            self.phase = phase
            self.at = ISO8601DateFormatter().string(from: Date())
            self.data = data
        }
    }

    public func journal() throws -> [JournalEntry] { try readLines(journalPath, as: JournalEntry.self) }

    public func record(_ entry: JournalEntry) throws { try append(entry, to: journalPath) }

    /// Moves the finished journal to `journals/<release>.jsonl`.
    public func closeJournal(release: String) throws {
        try sh(
            #"[ -f "$1" ] || exit 0; mkdir -p -m 700 -- "$2" && mv -f -- "$1" "$2/$3.jsonl""#, [journalPath, "\(base)/journals", release],
            what: "closing the journal")
    }

    // MARK: ledger and audit

    public struct Release: Codable, Sendable, Equatable {
        public var id: String
        public var image: String
        public var imageID: String
        public var previous: String?
        public var previousImageID: String?
        public var backup: String?
        public var migrations: [String]
        public var steps: [String: Double]
        public var unavailableSeconds: Double?
        public var operatorName: String
        public var message: String
        /// deployed, rolled back, failed, recovered, rollback.
        public var outcome: String
        public var at: String
        public var detail: String?

        enum CodingKeys: String, CodingKey {
            case id, image, previous, backup, migrations, steps, message, outcome, at, detail
            case imageID = "image_id"
            case previousImageID = "previous_image_id"
            case unavailableSeconds = "unavailable_seconds"
            case operatorName = "operator"
        }
    }

    /// The ledger: the last line of each release id wins (a recover or rollback appends a correction).
    public func releases() throws -> [Release] {
        var latest: [String: Release] = [:]
        var order: [String] = []
        for release in try readLines(releasesPath, as: Release.self) {
            if latest[release.id] == nil { order.append(release.id) }
            latest[release.id] = release
        }
        return order.compactMap { latest[$0] }
    }

    public func recordRelease(_ release: Release) throws { try append(release, to: releasesPath) }

    public struct AuditLine: Codable, Sendable {
        public var at: String
        public var action: String
        public var environment: String
        public var release: String?
        public var outcome: String
        public var operatorName: String
        public var detail: String

        enum CodingKeys: String, CodingKey {
            case at, action, environment, release, outcome, detail
            case operatorName = "operator"
        }
    }

    public func audit(action: String, environment: String, release: String?, outcome: String, detail: String, context: CommandContext) {
        let line = AuditLine(
            at: ISO8601DateFormatter().string(from: Date()), action: action, environment: environment, release: release, outcome: outcome,
            operatorName: context.environment["USER"] ?? NSUserName(), detail: context.redactor.redact(detail))
        do { try append(line, to: auditPath) } catch { context.logger.warning("could not write the audit log on \(host): \(error)") }
    }
}

import Foundation
import TMEOpsCore
import TMEOpsSSH

/// What a deploy keeps on the host, under `~/.tmeops/<app>/<environment>/`: the lock (a directory, made
/// atomically by mkdir), the journal of the deploy in progress, the release ledger and the audit log
/// (JSON lines). Each environment has its own, so staging beside production on one server (one SSH
/// user) never takes production's lock or reads its history. Every command is an argv; paths and
/// values reach the scripts as positional parameters.
public struct RemoteState {
    public let session: SSHSession
    /// This environment's folder, `.tmeops/<app>/<environment>` (relative to the SSH user's home).
    public let base: String
    /// The app's folder, `.tmeops/<app>`: where the state of every environment was kept before each had
    /// its own (see `moveSharedState`), and where scheduled backup scripts live.
    public let appBase: String
    public let environment: String
    public let host: String

    /// Masks secrets in every text this writes to the host (journal, lock owner, ledger), as in logs.
    public let redactor: Redactor

    public init(session: SSHSession, app: String, environment: String, redactor: Redactor = Redactor()) {
        self.session = session
        self.redactor = redactor
        self.environment = environment
        appBase = ".tmeops/\(app)"
        base = "\(appBase)/\(environment)"
        host = session.options.host
    }

    /// How long a lock may go unrenewed before `--force` may break it, unless `deploy.lock_ttl` says.
    public static let defaultLockTTL: TimeInterval = 1800

    public var lockDir: String { "\(base)/lock" }
    /// Where each release's journal is kept while it is open (`open/<release>.jsonl`); closed, it moves
    /// to `journals/<release>.jsonl`. One file per release: a deploy that lost its lock can never write
    /// into the journal of the one that holds it now.
    public var openJournals: String { "\(base)/open" }
    public func journalPath(release: String) -> String { "\(openJournals)/\(release).jsonl" }
    /// The one journal an older tmeops kept open for every release (read and closed as a journal of its
    /// release, never written).
    var sharedJournalPath: String { "\(base)/journal.jsonl" }
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
        try appendLine(try Self.json(value), to: path, holding: nil)
    }

    /// Appends the line on standard input to `$1` (creating its folder) and syncs it. With a lock token
    /// `$3`, the lock folder `$2` must be that token's (exit 5 before anything is written when it is not),
    /// and its heartbeat is renewed. A line under cat's 128 KiB block is one O_APPEND write.
    static let appendScript = #"""
        if [ -n "$3" ]; then grep -qF -- "\"token\":\"$3\"" "$2/owner.json" 2>/dev/null || exit 5; fi
        mkdir -p -m 700 -- "$(dirname -- "$1")" && umask 077 && cat >> "$1" || exit 1
        sync -- "$1" 2>/dev/null
        if [ -n "$3" ]; then touch -- "$2/heartbeat" 2>/dev/null; fi
        exit 0
        """#

    /// Appends `line` (one JSON document, no newline) to `path`; with `token`, only while that token
    /// holds the lock (renewing its heartbeat). It goes through the session's kept command runner, so a
    /// deploy's journal, ledger and audit lines cost no channel opens of their own; the line travels as
    /// standard input, never as an argument, and is never sent twice. Not written is an error naming
    /// the file, never silence.
    func appendLine(_ line: Data, to path: String, holding token: String?) throws {
        var input = line
        input.append(0x0A)
        let output = try session.capture(["sh", "-c", Self.appendScript, "tmeops", path, lockDir, token ?? ""], stdin: input)
        switch output.exit.status {
        case 0: return
        case 5: throw lockLost()
        default:
            throw TMEOpsError(
                "appending to \(path) on \(host) failed: \(output.stderrText.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? "exit \(output.exit.status)" : output.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))"
            )
        }
    }

    /// The error of a holder whose lock is no longer its own (broken as expired and taken by another).
    func lockLost() -> TMEOpsError {
        let holder = (try? lockOwner()) ?? nil
        return TMEOpsError(
            "the deploy lock on \(host) is no longer this command's: "
                + (holder.map { "\($0.owner)@\($0.host) (pid \($0.pid)) took it at \($0.at)" } ?? "it was released or broken")
                + "; stopping here, before the next step")
    }

    /// Renews the heartbeat of the lock `token` holds; an error when the lock is no longer that token's.
    public func renew(token: String) throws {
        let output = try session.capture(
            ["sh", "-c", #"grep -qF -- "\"token\":\"$2\"" "$1/owner.json" 2>/dev/null || exit 5; touch -- "$1/heartbeat""#, "tmeops", lockDir, token])
        if output.exit.status == 5 { throw lockLost() }
        guard output.exit.succeeded else { throw TMEOpsError("renewing the deploy lock on \(host) failed: \(output.stderrText)") }
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
        /// When the holder last showed it was alive (seconds since 1970; a deploy renews it at every step).
        public var renewed: Double?
        /// The machine the holder runs on and its boot (`LockOwner.thisMachine`); nil in older locks,
        /// which are judged by `host`, the hostname.
        public var machine: String?
        /// Taken by `tmeops lock acquire`: nothing renews it, and it never expires (only `lock release`
        /// frees it).
        public var byHand: Bool?

        public init(
            owner: String, host: String, pid: Int32, at: String, message: String, token: String, renewed: Double? = nil, machine: String? = nil,
            byHand: Bool? = nil
        ) {
            (self.owner, self.host, self.pid, self.at, self.message, self.token) = (owner, host, pid, at, message, token)
            (self.renewed, self.machine, self.byHand) = (renewed, machine, byHand)
        }

        /// This machine and its current boot: `/etc/machine-id` and the kernel's boot id. Hostnames
        /// repeat (CI runners, containers, laptops named after their owner), and a process id means
        /// nothing after a reboot; both of these are unique. Where neither file exists, the hostname.
        public static let thisMachine: String = {
            func read(_ path: String) -> String? {
                (try? String(contentsOfFile: path, encoding: .utf8)).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap {
                    $0.isEmpty ? nil : $0
                }
            }
            guard let id = read("/etc/machine-id") ?? read("/var/lib/dbus/machine-id") else { return ProcessInfo.processInfo.hostName }
            return "\(id)/\(read("/proc/sys/kernel/random/boot_id") ?? "")"
        }()

        /// Whether the holder runs on this machine, in its current boot.
        public var isThisMachine: Bool { machine.map { $0 == Self.thisMachine } ?? (host == ProcessInfo.processInfo.hostName) }

        public var acquired: Date? { ISO8601DateFormatter().date(from: at) }

        /// Seconds since the holder took the lock or last renewed it.
        public var idleSeconds: TimeInterval? {
            let last = [acquired?.timeIntervalSince1970, renewed].compactMap { $0 }.max()
            return last.map { Date().timeIntervalSince1970 - $0 }
        }

        /// Whether the holder is a process of this machine that still runs (a killed deploy's is not).
        public var isLiveProcessHere: Bool {
            isThisMachine && pid > 0 && (kill(pid, 0) == 0 || errno == EPERM)
        }

        /// Not renewed for longer than `ttl` (a lock taken by hand never expires).
        public func isExpired(ttl: TimeInterval) -> Bool { byHand != true && (idleSeconds ?? 0) > ttl }

        /// Whether a deploy's lock (one with a journal beside it) was left by a deploy that no longer
        /// runs: its process on this machine is gone, or it has not been renewed for longer than `ttl`.
        public func isAbandoned(ttl: TimeInterval) -> Bool {
            guard !isLiveProcessHere else { return false }
            return isThisMachine || (idleSeconds ?? 0) > ttl
        }

        /// The lock as the host reports it: the heartbeat's modification time (or `-`) on the first line,
        /// then owner.json. An owner file that cannot be read still means the lock is held, by "unknown".
        public static func parse(_ text: String) -> LockOwner {
            let newline = text.firstIndex(of: "\n") ?? text.endIndex
            let heartbeat = Double(text[..<newline])
            let json = newline < text.endIndex ? String(text[text.index(after: newline)...]) : ""
            var owner =
                (try? JSONDecoder().decode(LockOwner.self, from: Data(json.utf8)))
                ?? LockOwner(owner: "unknown", host: "unknown", pid: 0, at: "unknown", message: "the lock has no readable owner.json", token: "")
            owner.renewed = heartbeat
            return owner
        }
    }

    /// Who holds the lock, or nil. The owner file is read on its own, so no text in a lock message can
    /// make the owner unreadable; the heartbeat file's time says when the holder last renewed it.
    public func lockOwner() throws -> LockOwner? {
        let output = try session.capture([
            "sh", "-c", #"[ -d "$1" ] || exit 3; stat -c %Y -- "$1/heartbeat" 2>/dev/null || echo -; cat -- "$1/owner.json" 2>/dev/null; exit 0"#, "tmeops",
            lockDir,
        ])
        if output.exit.status == 3 { return nil }
        return LockOwner.parse(output.stdoutText)
    }

    /// Takes the lock: mkdir is atomic, so of two deploys exactly one gets it. A lock whose holder has
    /// been idle longer than `ttl` (no step renewed it) is broken only with `force`, atomically: it is
    /// renamed aside first, so of two operators breaking it at once exactly one succeeds.
    ///
    /// With `wait`, a lock another holder has is waited for (checked every two seconds) up to that many
    /// seconds before the refusal: for CI pipelines whose deploys queue.
    public func acquire(
        message: String, ttl: TimeInterval, force: Bool, wait: TimeInterval = 0, byHand: Bool = false, context: CommandContext
    ) throws -> LockOwner {
        var me = LockOwner(
            owner: context.environment["USER"] ?? NSUserName(), host: ProcessInfo.processInfo.hostName, pid: getpid(),
            at: ISO8601DateFormatter().string(from: Date()), message: redactor.redact(message), token: UUID().uuidString,
            machine: LockOwner.thisMachine, byHand: byHand ? true : nil)
        let deadline = Date().addingTimeInterval(wait)
        var waitingFor: String?
        var attempts = 0
        while attempts < 3 {
            attempts += 1
            // Stamped when it is taken (not when waiting began), its heartbeat made in the same step.
            me.at = ISO8601DateFormatter().string(from: Date())
            let output = try session.capture(
                [
                    "sh", "-c",
                    #"mkdir -p -m 700 -- "$(dirname -- "$1")" && mkdir -m 700 -- "$1" 2>/dev/null && umask 077 && cat > "$1/owner.json" && touch -- "$1/heartbeat""#,
                    "tmeops", lockDir,
                ],
                stdin: try Self.json(me))
            if output.exit.succeeded { return me }
            guard let holder = try lockOwner() else { continue }
            let idle = holder.idleSeconds
            if force, holder.isExpired(ttl: ttl), let idle, !holder.isLiveProcessHere {
                context.logger.warning("breaking an expired deploy lock of \(holder.owner)@\(holder.host) (pid \(holder.pid), idle \(Int(idle)) s)")
                try breakLock(holder)
                continue
            }
            // Waiting is for a lock someone may still release: an expired one (not renewed for longer
            // than the TTL) is refused at once.
            if Date() < deadline, !holder.isExpired(ttl: ttl) {
                // Someone else's lock while there is time left: wait for it, saying so once per holder.
                if waitingFor != holder.token {
                    waitingFor = holder.token
                    context.logger.info(
                        "waiting up to \(Int(deadline.timeIntervalSinceNow.rounded(.up))) s for the deploy lock on \(host), held by \(holder.owner)@\(holder.host) since \(holder.at): \"\(holder.message)\""
                    )
                }
                Thread.sleep(forTimeInterval: min(2, max(0.1, deadline.timeIntervalSinceNow)))
                attempts = 0
                continue
            }
            let expiry =
                holder.isLiveProcessHere
                ? "; that process is still running on this machine"
                : holder.byHand == true
                    ? "; it was taken by hand and never expires: `tmeops lock release --force` frees it"
                    : idle.map {
                        $0 > ttl ? "; it expired \(Int($0 - ttl)) s ago, so --force may break it" : "; it expires in \(Int(ttl - $0)) s unless renewed"
                    }
                        ?? ""
            let waited = wait > 0 ? " (waited \(ConfigDuration(seconds: wait.rounded())) for it; --lock-wait waits longer)" : ""
            throw TMEOpsError(
                "the deploy lock on \(host) is held by \(holder.owner)@\(holder.host) (pid \(holder.pid)) since \(holder.at): \"\(holder.message)\"\(expiry)\(waited)"
            )
        }
        throw TMEOpsError("could not take the deploy lock on \(host)")
    }

    /// Moves the lock `holder` holds aside (one atomic rename) and removes it; when what was moved turns
    /// out to be another holder's (someone broke and retook it first), it is put back untouched.
    public func breakLock(_ holder: LockOwner) throws {
        let aside = "\(lockDir).broken-\(UUID().uuidString)"
        try sh(
            #"""
            mv -T -- "$1" "$2" 2>/dev/null || exit 0
            if grep -q -- "$3" "$2/owner.json" 2>/dev/null; then rm -rf -- "$2"; else mv -T -- "$2" "$1" 2>/dev/null || rm -rf -- "$2"; fi
            """#, [lockDir, aside, holder.token.isEmpty ? "\"token\"" : holder.token], what: "breaking the expired lock")
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

        /// A journal's lines as read from `place` (named in the error). A line that cannot be read is an
        /// error naming it: a journal with a hole in it cannot say what to repair.
        public static func parse(_ text: String, place: String) throws -> [JournalEntry] {
            try text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { index, line in
                if line.isEmpty { return nil }
                do {
                    return try JSONDecoder().decode(JournalEntry.self, from: Data(line.utf8))
                } catch {
                    throw TMEOpsError(
                        "line \(index + 1) of the deploy journal \(place) cannot be read (\(line.prefix(60))…); repair or remove that line, then run `tmeops recover` again"
                    )
                }
            }
        }
    }

    /// The last line of the journal of a deploy that was killed: set when the lock is held by a process
    /// that is gone (`LockOwner.isAbandoned`) and a journal is there; nil otherwise, or when either
    /// cannot be read. A deploy that still runs elsewhere renews its lock, and is only waited for.
    public func abandonedDeployJournal(ttl: TimeInterval) -> JournalEntry? {
        guard (try? lockOwner())??.isAbandoned(ttl: ttl) ?? false else { return nil }
        return (try? journal())?.last
    }

    /// The journal of the deploy in progress: the newest open one (release ids sort by time; the shared
    /// journal an older tmeops kept counts as older than any). See `JournalEntry.parse`.
    public func journal() throws -> [JournalEntry] {
        let output = try sh(
            #"""
            f=; [ -f "$1" ] && f=$1
            for g in "$2"/*.jsonl; do [ -f "$g" ] && f=$g; done
            [ -n "$f" ] || exit 0
            printf '%s\n' "$f"; cat -- "$f"
            """#, [sharedJournalPath, openJournals], what: "reading the open journal in \(base)")
        let text = output.stdoutText
        guard let newline = text.firstIndex(of: "\n") else { return [] }
        return try JournalEntry.parse(String(text[text.index(after: newline)...]), place: "\(host):~/\(text[..<newline])")
    }

    /// Appends to the journal of `entry`'s release (synced to disk). With the lock's `token`, only while
    /// that token holds the lock, renewing its heartbeat in the same round trip: every step of a deploy
    /// shows it is alive, and a deploy whose lock was broken and taken stops before its next step.
    /// A line that cannot be written (full disk, unwritable file) is an error, never lost in silence.
    public func record(_ entry: JournalEntry, holding token: String?) throws {
        var entry = entry
        entry.data = entry.data.mapValues(redactor.redact)
        try appendLine(try Self.json(entry), to: journalPath(release: entry.release), holding: token)
    }

    /// Moves `release`'s finished journal to `journals/<archived name>.jsonl` (the release id unless
    /// named), and the shared journal of an older tmeops with it when it is that release's.
    public func closeJournal(release: String, archivedAs name: String? = nil) throws {
        try sh(
            #"""
            mkdir -p -m 700 -- "$3" || exit 1
            if [ -f "$1" ]; then mv -f -- "$1" "$3/$5.jsonl" || exit 1; fi
            if [ -f "$2" ] && grep -qF -- "\"release\":\"$4\"" "$2"; then mv -f -- "$2" "$3/$5.jsonl" || exit 1; fi
            exit 0
            """#, [journalPath(release: release), sharedJournalPath, "\(base)/journals", release, name ?? release],
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
        /// The settings production's app container had once this release ran (nil in older ledgers).
        public var container: ContainerRecord?
        /// The failing container's last log lines when the release failed (stderr first, redacted).
        public var evidence: [String]?

        enum CodingKeys: String, CodingKey {
            case id, image, previous, backup, migrations, steps, message, outcome, at, detail, container, evidence
            case imageID = "image_id"
            case previousImageID = "previous_image_id"
            case unavailableSeconds = "unavailable_seconds"
            case operatorName = "operator"
        }

        public init(
            id: String, image: String, imageID: String, previous: String?, previousImageID: String?, backup: String?, migrations: [String],
            steps: [String: Double], unavailableSeconds: Double?, operatorName: String, message: String, outcome: String, at: String,
            detail: String?, container: ContainerRecord? = nil, evidence: [String]? = nil
        ) {
            self.id = id
            self.image = image
            self.imageID = imageID
            self.previous = previous
            self.previousImageID = previousImageID
            self.backup = backup
            self.migrations = migrations
            self.steps = steps
            self.unavailableSeconds = unavailableSeconds
            self.operatorName = operatorName
            self.message = message
            self.outcome = outcome
            self.at = at
            self.detail = detail
            self.container = container
            self.evidence = evidence
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

    public func recordRelease(_ release: Release) throws {
        var release = release
        release.message = redactor.redact(release.message)
        try append(release, to: releasesPath)
    }

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

    /// Every line of the audit log, oldest first (lines that are not an audit entry are skipped).
    public func auditLines() throws -> [AuditLine] { try readLines(auditPath, as: AuditLine.self) }

    public func audit(action: String, environment: String, release: String?, outcome: String, detail: String, context: CommandContext) {
        let line = AuditLine(
            at: ISO8601DateFormatter().string(from: Date()), action: action, environment: environment, release: release, outcome: outcome,
            operatorName: context.environment["USER"] ?? NSUserName(), detail: context.redactor.redact(detail))
        do { try append(line, to: auditPath) } catch { context.logger.warning("could not write the audit log on \(host): \(error)") }
    }
}

/// Renews the heartbeat of a lock a command holds while it works without writing a journal (`migrate
/// apply` on a protected environment): every `interval` seconds, on a session nothing else uses until
/// `stop()` returns. A lock that is no longer the holder's is reported once (`lost`), never retaken.
public final class LockHeartbeat: @unchecked Sendable {
    private let stopping = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var lostError: Error?
    private var stopped = false

    /// The error of the renewal that found the lock taken or could not reach the host, if one did.
    public var lost: Error? { lock.withLock { lostError } }

    public init(state: RemoteState, token: String, every interval: TimeInterval, onLost: @escaping @Sendable (Error) -> Void) {
        // The session is this thread's alone until `stop()` returns (the caller's promise).
        nonisolated(unsafe) let renewing = state
        let thread = Thread { [stopping, finished] in
            while stopping.wait(timeout: .now() + interval) == .timedOut {
                do {
                    try renewing.renew(token: token)
                } catch {
                    self.lock.withLock { self.lostError = error }
                    onLost(error)
                    break
                }
            }
            finished.signal()
        }
        thread.name = "tmeops lock heartbeat"
        thread.start()
    }

    /// Stops renewing and waits for a renewal under way to end (the session is then free again).
    public func stop() {
        let first = lock.withLock {
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        stopping.signal()
        finished.wait()
    }
}

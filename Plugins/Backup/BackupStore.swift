import Foundation
import TMEOpsCore
import TMEOpsHosts
import TMEOpsSSH

/// The backups folder on an environment's host: `<id>.<ext>` files with `<id>.json` metadata beside
/// them, and `pins/<id>` files naming the release that keeps a backup. Every remote command is an argv
/// (quoted by ShellQuote), its operands passed as positional parameters, never spliced into a script.
public struct BackupStore {
    /// The host's SSH session; nil for a local environment's folder on this machine.
    public let session: SSHSession?
    public let dir: String
    public let host: String

    public init(session: SSHSession, dir: String, host: String) {
        self.session = session
        self.dir = dir
        self.host = host
    }

    /// A folder on this machine (a local environment's backups).
    public init(localDirectory dir: String) {
        session = nil
        self.dir = dir
        host = "this machine"
    }

    public var isLocal: Bool { session == nil }

    /// Runs `/bin/sh -c script` here, as the remote store runs it over SSH.
    static func runLocally(_ argv: [String], stdin: Data?) throws -> RemoteOutput {
        let result = try LocalProcess.run(argv, stdin: stdin)
        return RemoteOutput(
            exit: RemoteExit(status: result.signaled ? nil : result.status, signal: result.signaled ? "\(result.status)" : nil), stdout: result.stdout,
            stderr: result.stderr)
    }

    public func path(_ name: String) -> String { (dir as NSString).appendingPathComponent(name) }

    /// Runs `script` with `arguments` as $1, $2, ...; throws with its stderr when it fails.
    @discardableResult
    public func sh(_ script: String, _ arguments: [String] = [], stdin: Data? = nil, what: String) throws -> RemoteOutput {
        if let session { return try session.script(script, arguments, stdin: stdin, what: what) }
        return try Self.runLocally(["sh", "-c", script, "tmeops"] + arguments, stdin: stdin).checked(what, on: host)
    }

    public func ensureDirectory() throws {
        try sh(#"mkdir -p -m 700 -- "$1" "$1/pins""#, [dir], what: "creating \(dir)")
    }

    /// Every backup with readable metadata, newest first; unreadable metadata files are reported, not hidden.
    public func list() throws -> (backups: [BackupMetadata], damaged: [String]) {
        let output = try sh(
            #"cd -- "$1" 2>/dev/null || exit 0; for f in *.json; do [ -f "$f" ] || continue; printf '%s\n' "$f"; cat -- "$f"; printf '\036'; done"#, [dir],
            what: "listing \(dir)")
        var backups: [BackupMetadata] = []
        var damaged: [String] = []
        for record in output.stdout.split(separator: 0x1e) where !record.isEmpty {
            guard let newline = record.firstIndex(of: 0x0a) else { continue }
            let name = String(decoding: record[record.startIndex..<newline], as: UTF8.self)
            if let metadata = try? JSONDecoder().decode(BackupMetadata.self, from: Data(record[(newline + 1)...])) {
                backups.append(metadata)
            } else {
                damaged.append(name)
            }
        }
        return (backups.sorted { ($0.created ?? .distantPast) > ($1.created ?? .distantPast) }, damaged)
    }

    /// The backup `id`, or with `latest` the newest one; an unknown id lists what exists.
    public func find(_ id: String) throws -> BackupMetadata {
        let all = try list().backups
        if id == "latest", let newest = all.first { return newest }
        if let match = all.first(where: { $0.id == id }) { return match }
        let known = all.prefix(5).map(\.id).joined(separator: ", ")
        throw TMEOpsError.usage(
            "no backup \(id) in \(dir) on \(host)" + (all.isEmpty ? " (there are no backups yet)" : "; newest: \(known)") + "; see `tmeops backup list`")
    }

    /// Writes `metadata` as `<id>.json` through a `.part` file and a rename.
    public func writeMetadata(_ metadata: BackupMetadata) throws {
        try sh(
            #"umask 077 && cat > "$1.part" && mv -f -- "$1.part" "$1""#, [path("\(metadata.id).json")], stdin: try metadata.encoded(),
            what: "writing \(metadata.id).json")
    }

    /// Release pins: backup id -> release id.
    public func pins() throws -> [String: String] {
        let output = try sh(
            #"cd -- "$1/pins" 2>/dev/null || exit 0; for f in *; do [ -f "$f" ] && printf '%s %s\n' "$f" "$(cat -- "$f")"; done; exit 0"#, [dir],
            what: "reading pins")
        var pins: [String: String] = [:]
        for line in output.stdoutText.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            if parts.count == 2 { pins[String(parts[0])] = String(parts[1]) }
        }
        return pins
    }

    public func pin(_ id: String, release: String) throws {
        try sh(#"mkdir -p -m 700 -- "$1/pins" && printf '%s' "$3" > "$1/pins/$2""#, [dir, id, release], what: "pinning \(id)")
    }

    public func unpin(_ id: String) throws { try unpin([id]) }

    /// Unpins several backups with one command.
    public func unpin(_ ids: [String]) throws {
        guard !ids.isEmpty else { return }
        try sh(
            #"d=$1; shift; for id in "$@"; do rm -f -- "$d/pins/$id" || exit 1; done"#, [dir] + ids,
            what: "unpinning \(ids.joined(separator: ", "))")
    }

    /// Removes a backup's file and metadata (metadata first, so a half-removed backup is not listed).
    public func remove(_ metadata: BackupMetadata) throws {
        try sh(#"rm -f -- "$1" && rm -f -- "$2""#, [path("\(metadata.id).json"), path(metadata.file)], what: "removing \(metadata.id)")
    }

    /// Free bytes in the backups folder's file system.
    public func availableBytes() throws -> UInt64 {
        let output = try sh(#"df -Pk -- "$1" | awk 'NR == 2 { print $4 }'"#, [dir], what: "measuring free space in \(dir)")
        return (UInt64(output.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) * 1024
    }
}

/// Where a backup's bytes go while it is taken: `NAME.part` in the store, through an SSH exec channel
/// (`cat`) on a host, or a file here for a local store.
final class BackupWriter {
    let store: BackupStore
    let part: String
    private var channel: SSHChannelStream?
    /// The write through the session's kept command runner (no channel of its own), where it can keep one.
    private var upload: RunnerUpload?
    private var fd: Int32 = -1

    init(store: BackupStore, part: String) throws {
        self.store = store
        self.part = part
        if let session = store.session {
            let argv = ["sh", "-c", #"umask 077 && exec cat > "$1""#, "tmeops-backup", part]
            if let upload = try session.openUploadThroughRunner(argv) {
                self.upload = upload
            } else {
                channel = try session.openExecStream(argv)
            }
        } else {
            fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw TMEOpsError("cannot write \(part): \(String(cString: strerror(errno)))") }
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        if let upload {
            do {
                try upload.write(bytes)
            } catch {
                throw TMEOpsError("writing \(part) on \(store.host) failed: \(error)")
            }
        } else if let channel {
            do {
                try channel.write(Data(bytes))
            } catch {
                // The writer died (disk full, lost connection): its own words say which.
                _ = try? channel.finish(deadline: Date().addingTimeInterval(5))
                let said = String(decoding: channel.errorOutput, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                throw TMEOpsError("writing \(part) on \(store.host) failed: \(said.isEmpty ? "\(error)" : said)")
            }
        } else if let code = Descriptor.writeAll(bytes, to: fd) {
            throw TMEOpsError("writing \(part) failed: \(String(cString: strerror(code)))")
        }
    }

    func finish() throws {
        if let upload {
            let output = try upload.finish()
            guard output.exit.succeeded else {
                throw TMEOpsError(
                    "writing \(part) on \(store.host) failed (\(output.exit)): \(output.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
        } else if let channel {
            let status = try channel.finish()
            guard status == 0 else {
                let said = String(decoding: channel.errorOutput, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                throw TMEOpsError("writing \(part) on \(store.host) failed (exit \(status.map(String.init) ?? "signal")): \(said)")
            }
        } else {
            guard fsync(fd) == 0, close(fd) == 0 else { throw TMEOpsError("writing \(part) failed: \(String(cString: strerror(errno)))") }
            fd = -1
        }
    }

    func abort() {
        upload?.abort()
        channel?.close()
        if fd >= 0 {
            close(fd)
            fd = -1
        }
    }
}

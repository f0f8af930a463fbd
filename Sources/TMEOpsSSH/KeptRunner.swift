import Foundation

/// Small captures (`capture`, `script`) through one command the session keeps open, instead of a
/// channel each: on a real link every channel costs round trips to open, start and close, and a
/// deploy runs a few dozen such commands (reading an env file, `test -r`, lock and state scripts).
///
/// The runner is a POSIX `sh` loop. A request is a line `<script bytes> <stdin bytes>`, then the
/// script and the input; the runner writes the input to a file in a private folder (on `/dev/shm`
/// where there is one: memory, not disk), runs the script with the user's shell exactly as sshd
/// would (`$SHELL -c script`), and answers a line `<status> <stdout bytes> <stderr bytes>` followed by
/// both outputs. The files of one command are removed before the next is read, and the folder when
/// the runner ends. A script larger than `maximumScript` takes a channel of its own, as before; so do
/// streams (`run` with a `ByteSource`, `openExecStream`).
///
/// Never retried: a command whose answer was lost may have run, so the error is the caller's.
extension SSHSession {
    static let runnerKey = "tmeops runner"
    /// Scripts go to the shell as one argument: under Linux's 128 KiB limit for one (sshd itself
    /// refuses an exec request of about 64 KiB, so larger scripts only work here).
    static let maximumScript = 120 << 10

    static let runnerScript = #"""
        d=$(mktemp -d -p /dev/shm tmeops-run.XXXXXX 2>/dev/null || mktemp -d) || exit 1
        trap 'rm -rf "$d"' EXIT
        trap 'exit 1' HUP INT TERM PIPE
        while IFS=' ' read -r scriptBytes inputBytes; do
            head -c "$scriptBytes" > "$d/script" || exit 1
            if [ "$inputBytes" = - ]; then
                # Streamed input: chunks `<bytes>` line, then the bytes, until `0`. Each chunk is read in
                # full before it goes to the script, so a script that stops reading cannot leave bytes
                # of the request unread.
                : > "$d/err"
                if mkfifo -m 600 "$d/in" 2>> "$d/err"; then
                    "${SHELL:-/bin/sh}" -c "$(cat "$d/script")" < "$d/in" > "$d/out" 2> "$d/err" &
                    pid=$!
                    exec 3> "$d/in"
                    while IFS= read -r n && [ "$n" -gt 0 ]; do
                        head -c "$n" > "$d/chunk" || exit 1
                        cat "$d/chunk" >&3 2>/dev/null
                    done
                    exec 3>&-
                    wait "$pid"
                    status=$?
                else
                    while IFS= read -r n && [ "$n" -gt 0 ]; do head -c "$n" > /dev/null || exit 1; done
                    : > "$d/out"
                    status=126
                fi
            else
                head -c "$inputBytes" > "$d/in" || exit 1
                "${SHELL:-/bin/sh}" -c "$(cat "$d/script")" < "$d/in" > "$d/out" 2> "$d/err"
                status=$?
            fi
            printf '%s %s %s\n' "$status" "$(wc -c < "$d/out")" "$(wc -c < "$d/err")"
            cat "$d/out" "$d/err"
            rm -f "$d/script" "$d/in" "$d/out" "$d/err" "$d/chunk"
        done
        """#

    /// The output of `script` run through the kept runner; nil when it must take a channel of its own
    /// (too large, or this host cannot keep a runner).
    func captureThroughRunner(_ script: String, display: String, stdin: Data?, timeout: TimeInterval?) throws -> RemoteOutput? {
        guard script.utf8.count <= Self.maximumScript, !runnerUnavailable else { return nil }
        let deadline = timeout.map { Date().addingTimeInterval($0) }
        let kept = takeKept(Self.runnerKey)
        let stream = try kept ?? openExecStream(["sh", "-c", Self.runnerScript], deadline: deadline)
        var request = Data("\(script.utf8.count) \(stdin?.count ?? 0)\n".utf8)
        request.append(Data(script.utf8))
        if let stdin { request.append(stdin) }
        stream.destination = "`\(display)` on \(options.host)"
        do {
            try stream.write(request)
        } catch {
            stream.close()
            throw error
        }
        return try answer(of: stream, kept: kept != nil, display: display, timeout: timeout, deadline: deadline)
    }

    /// Reads the runner's answer to the request just sent on `stream` and keeps the runner for the next
    /// one; nil when a runner that was just started ended before answering (then this host gets a
    /// channel per command from now on).
    private func answer(of stream: SSHChannelStream, kept: Bool, display: String, timeout: TimeInterval?, deadline: Date?) throws -> RemoteOutput? {
        var received = Data()
        let header: [Int]
        do {
            var newline: Data.Index?
            while newline == nil {
                let chunk = try stream.read(deadline: deadline)
                if chunk.isEmpty {
                    // A runner that ended before answering its first request never ran it (no mktemp,
                    // say): this host gets a channel per command from now on.
                    if !kept {
                        runnerUnavailable = true
                        stream.close()
                        return nil
                    }
                    throw SSHError(.channel, "the command runner on \(options.host) ended without answering")
                }
                received.append(chunk)
                newline = received.firstIndex(of: 0x0A)
            }
            let line = received[..<newline!]
            header = String(decoding: line, as: UTF8.self).split(separator: " ").compactMap { Int($0) }
            guard header.count == 3 else {
                throw SSHError(.channel, "the command runner on \(options.host) answered `\(String(decoding: line.prefix(80), as: UTF8.self))`")
            }
            received.removeSubrange(...newline!)
            while received.count < header[1] + header[2] {
                let chunk = try stream.read(maximum: min(1 << 20, max(64 << 10, header[1] + header[2] - received.count)), deadline: deadline)
                if chunk.isEmpty { throw SSHError(.channel, "the command runner on \(options.host) ended in the middle of an answer") }
                received.append(chunk)
            }
        } catch let error as SSHError where error.kind == .timeout {
            stream.abandon()
            throw SSHError(.timeout, "`\(display)` did not finish within \(Int(timeout ?? 0)) s on \(options.host); tmeops stopped waiting")
        } catch {
            stream.close()
            throw error
        }
        keep(stream, as: Self.runnerKey)
        let output = Data(received.prefix(header[1]))
        let errors = Data(received.dropFirst(header[1]).prefix(header[2]))
        return RemoteOutput(exit: Self.exit(shellStatus: header[0]), stdout: output, stderr: errors)
    }

    /// `argv` with its standard input streamed through the kept runner (a backup of any size written
    /// on the host), so it costs no channel of its own; nil when this host cannot keep a runner (the
    /// caller then opens a channel for it). The runner is the upload's until `finish` or `abort`.
    public func openUploadThroughRunner(_ argv: [String]) throws -> RunnerUpload? {
        let script = ShellQuote.command(argv)
        guard script.utf8.count <= Self.maximumScript, !runnerUnavailable else { return nil }
        // Only a runner that has answered once takes a stream: a new one that cannot start (no mktemp)
        // must not swallow the upload's first bytes.
        var stream = takeKept(Self.runnerKey)
        if stream == nil {
            guard try captureThroughRunner("true", display: "true", stdin: nil, timeout: 60) != nil else { return nil }
            stream = takeKept(Self.runnerKey)
        }
        guard let stream else { return nil }
        var request = Data("\(script.utf8.count) -\n".utf8)
        request.append(Data(script.utf8))
        stream.destination = "`\(argv.joined(separator: " "))` on \(options.host)"
        do {
            try stream.write(request)
        } catch {
            stream.close()
            throw error
        }
        return RunnerUpload(session: self, stream: stream, display: argv.joined(separator: " "))
    }

    /// The end of a streamed request: the runner's answer, and the runner kept again.
    fileprivate func finishUpload(_ stream: SSHChannelStream, display: String) throws -> RemoteOutput {
        guard let output = try answer(of: stream, kept: true, display: display, timeout: nil, deadline: nil) else {
            throw SSHError(.channel, "the command runner on \(options.host) ended without answering")
        }
        return output
    }

    /// A shell reports a command killed by signal N as status 128 + N; the runner can only pass that on,
    /// so such a status reads as the signal, as sshd would have reported it for a channel of its own.
    static func exit(shellStatus status: Int) -> RemoteExit {
        let names = [
            1: "HUP", 2: "INT", 3: "QUIT", 4: "ILL", 5: "TRAP", 6: "ABRT", 7: "BUS", 8: "FPE", 9: "KILL", 10: "USR1", 11: "SEGV", 12: "USR2",
            13: "PIPE", 14: "ALRM", 15: "TERM",
        ]
        if status > 128, let name = names[status - 128] { return RemoteExit(status: nil, signal: name) }
        return RemoteExit(status: Int32(clamping: status), signal: nil)
    }
}

/// A command on the host whose standard input is being streamed through the session's kept runner
/// (``SSHSession/openUploadThroughRunner(_:)``). Bytes are sent in chunks of up to 1 MiB; `finish`
/// ends the input and returns what the command said; `abort` gives the runner up (a new one starts
/// for the next command).
public final class RunnerUpload {
    private let session: SSHSession
    private let stream: SSHChannelStream
    private let display: String
    private var pending = Data()
    private var done = false
    static let chunk = 1 << 20

    fileprivate init(session: SSHSession, stream: SSHChannelStream, display: String) {
        self.session = session
        self.stream = stream
        self.display = display
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        pending.append(contentsOf: bytes)
        if pending.count >= Self.chunk { try flush() }
    }

    private func flush() throws {
        guard !pending.isEmpty else { return }
        var framed = Data("\(pending.count)\n".utf8)
        framed.append(pending)
        pending.removeAll(keepingCapacity: true)
        do {
            try stream.write(framed)
        } catch {
            abort()
            throw error
        }
    }

    /// Ends the input and waits for the command; its exit status and output, as a capture's.
    public func finish() throws -> RemoteOutput {
        try flush()
        do {
            try stream.write(Data("0\n".utf8))
        } catch {
            abort()
            throw error
        }
        done = true
        return try session.finishUpload(stream, display: display)
    }

    public func abort() {
        guard !done else { return }
        done = true
        stream.close()
    }
}

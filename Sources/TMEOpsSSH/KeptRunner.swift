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
            head -c "$scriptBytes" > "$d/script" && head -c "$inputBytes" > "$d/in" || exit 1
            "${SHELL:-/bin/sh}" -c "$(cat "$d/script")" < "$d/in" > "$d/out" 2> "$d/err"
            status=$?
            printf '%s %s %s\n' "$status" "$(wc -c < "$d/out")" "$(wc -c < "$d/err")"
            cat "$d/out" "$d/err"
            rm -f "$d/script" "$d/in" "$d/out" "$d/err"
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
        var received = Data()
        let header: [Int]
        do {
            try stream.write(request)
            var newline: Data.Index?
            while newline == nil {
                let chunk = try stream.read(deadline: deadline)
                if chunk.isEmpty {
                    // A runner that ended before answering its first request never ran it (no mktemp,
                    // say): this host gets a channel per command from now on.
                    if kept == nil {
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

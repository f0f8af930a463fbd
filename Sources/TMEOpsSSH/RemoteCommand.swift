import CLibSSH2
import Foundation

/// How a remote command ended.
public struct RemoteExit: Sendable, Equatable, CustomStringConvertible {
    /// The exit status, when the command exited normally.
    public let status: Int32?
    /// The signal that ended it (e.g. `TERM`), if one did.
    public let signal: String?

    public init(status: Int32?, signal: String?) {
        self.status = status
        self.signal = signal
    }

    public var succeeded: Bool { status == 0 && signal == nil }

    public var description: String {
        if let signal { return "killed by signal \(signal)" }
        return "exit status \(status.map(String.init) ?? "unknown")"
    }
}

/// The captured result of ``SSHSession/capture(_:stdin:timeout:)``.
public struct RemoteOutput: Sendable {
    public let exit: RemoteExit
    public let stdout: Data
    public let stderr: Data

    public init(exit: RemoteExit, stdout: Data, stderr: Data) {
        self.exit = exit
        self.stdout = stdout
        self.stderr = stderr
    }

    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

extension SSHSession {
    /// Receive window for exec and forwarding channels: larger than libssh2's 2 MiB default so bulk
    /// transfers are not stalled waiting for window adjustments.
    static let channelWindow: UInt32 = 8 << 20
    static let channelPacket: UInt32 = 32768

    /// Runs `argv` on the host (each argument quoted by ``ShellQuote``) and streams its output.
    ///
    /// Standard output and standard error are read together, so neither can fill up and stall the
    /// other; `stdin` is written as the channel takes it, then closed, and `onInput` hears how many of
    /// its bytes the channel took each time (for progress).
    public func run(
        _ argv: [String], stdin: ByteSource? = nil, timeout: TimeInterval? = nil,
        stdout: (UnsafeRawBufferPointer) throws -> Void, stderr: (UnsafeRawBufferPointer) throws -> Void, onInput: (Int) -> Void = { _ in }
    ) throws -> RemoteExit {
        try runScript(
            ShellQuote.command(argv), display: argv.joined(separator: " "), stdin: stdin, timeout: timeout, stdout: stdout, stderr: stderr, onInput: onInput)
    }

    /// Runs `argv` and collects its output in memory (for small outputs).
    public func capture(_ argv: [String], stdin: Data? = nil, timeout: TimeInterval? = nil) throws -> RemoteOutput {
        try captureScript(ShellQuote.command(argv), display: argv.joined(separator: " "), stdin: stdin, timeout: timeout)
    }

    /// A shell script made by tmeops itself, in which every operand was passed through ``ShellQuote``.
    func captureScript(_ script: String, display: String, stdin: Data? = nil, timeout: TimeInterval? = nil) throws -> RemoteOutput {
        if let output = try captureThroughRunner(script, display: display, stdin: stdin, timeout: timeout) { return output }
        var out = Data()
        var err = Data()
        let exit = try runScript(
            script, display: display, stdin: stdin.map(DataSource.init), timeout: timeout,
            stdout: { out.append(contentsOf: $0) }, stderr: { err.append(contentsOf: $0) })
        return RemoteOutput(exit: exit, stdout: out, stderr: err)
    }

    func runScript(
        _ script: String, display: String, stdin: ByteSource?, timeout: TimeInterval?,
        stdout: (UnsafeRawBufferPointer) throws -> Void, stderr: (UnsafeRawBufferPointer) throws -> Void, onInput: (Int) -> Void = { _ in }
    ) throws -> RemoteExit {
        let deadline = timeout.map { Date().addingTimeInterval($0) }
        let channel = try openSessionChannel(deadline: deadline, for: display)
        defer { libssh2_channel_free(channel) }
        try call("start `\(display)` on \(options.host)", deadline: deadline, kind: .exec) {
            libssh2_channel_process_startup(channel, "exec", 4, script, UInt32(script.utf8.count))
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 16)
        defer { buffer.deallocate() }
        let input = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { input.deallocate() }
        var pending = 0..<0
        var inputOpen = true
        if stdin == nil {
            try call("close the input of `\(display)`", deadline: deadline, kind: .exec) { libssh2_channel_send_eof(channel) }
            inputOpen = false
        }

        // While input streams out, the output is read every 16th round or when the input stalls:
        // libssh2's write already takes in window adjustments, and a read that finds nothing is still
        // a system call per stream (measured: a fifth of a 1 GiB upload's time on a two-core machine).
        var round = 0
        var inputStalled = false
        while true {
            var moved = false
            round &+= 1
            let readOutput = !inputOpen || inputStalled || round % 16 == 0
            for stream in [Int32(0), Int32(SSH_EXTENDED_DATA_STDERR)] where readOutput {
                while true {
                    let count = libssh2_channel_read_ex(channel, stream, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), buffer.count)
                    if count > 0 {
                        let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
                        try stream == 0 ? stdout(chunk) : stderr(chunk)
                        moved = true
                        continue
                    }
                    if count == 0 || count == Int(LIBSSH2_ERROR_EAGAIN) { break }
                    throw connectionError("reading the output of `\(display)`", code: Int32(count))
                }
            }
            if inputOpen, let stdin {
                if pending.isEmpty {
                    let count = try stdin.read(into: input)
                    if count == 0 {
                        try call("close the input of `\(display)`", deadline: deadline, kind: .exec) { libssh2_channel_send_eof(channel) }
                        inputOpen = false
                    } else {
                        pending = 0..<count
                    }
                }
                if !pending.isEmpty {
                    let written = libssh2_channel_write_ex(
                        channel, 0, input.baseAddress!.assumingMemoryBound(to: CChar.self) + pending.lowerBound, pending.count)
                    inputStalled = written <= 0
                    if written > 0 {
                        pending = (pending.lowerBound + written)..<pending.upperBound
                        onInput(written)
                        moved = true
                    } else if written != Int(LIBSSH2_ERROR_EAGAIN) {
                        if libssh2_channel_eof(channel) == 1 {
                            inputOpen = false  // The command stopped reading and exited; its status says why.
                        } else {
                            throw connectionError("sending input to `\(display)`", code: Int32(written))
                        }
                    }
                }
            }
            if libssh2_channel_eof(channel) == 1, !moved { break }
            if !moved {
                do {
                    try waitForSocket(deadline: deadline, what: "`\(display)`")
                } catch let error as SSHError where error.kind == .timeout {
                    throw SSHError(.timeout, "`\(display)` did not finish within \(Int(timeout ?? 0)) s on \(options.host); tmeops stopped waiting")
                }
            }
        }
        // The command's output has ended. Input it stopped reading (it exited early) is closed on our
        // side too, and the close is bounded: a server that never answers it (seen under load after a
        // command that quit reading its input) must not keep an upload waiting forever.
        if inputOpen { _ = libssh2_channel_send_eof(channel) }
        let closing = deadline ?? Date().addingTimeInterval(Self.closeGrace)
        do {
            try call("close the channel of `\(display)`", deadline: closing, kind: .exec) { libssh2_channel_close(channel) }
            try call("wait for `\(display)` to end", deadline: closing, kind: .exec) { libssh2_channel_wait_closed(channel) }
        } catch let error as SSHError where error.kind == .timeout && deadline == nil {
            throw SSHError(
                .channel,
                "`\(display)` on \(options.host) sent the end of its output, but the server did not close its channel within \(Int(Self.closeGrace)) s")
        }
        return exitOf(channel)
    }

    /// How long a finished command's channel may take to close.
    static let closeGrace: TimeInterval = 15

    /// A channel for running `display` (named in the trace log and in the error).
    func openSessionChannel(deadline: Date?, for display: String) throws -> OpaquePointer {
        try pointer("open a channel to \(options.host) for `\(display)`", deadline: deadline, kind: .channel) {
            libssh2_channel_open_ex(raw, "session", 7, Self.channelWindow, Self.channelPacket, nil, 0)
        }
    }

    private func exitOf(_ channel: OpaquePointer) -> RemoteExit {
        var name: UnsafeMutablePointer<CChar>?
        var nameLength = 0
        _ = libssh2_channel_get_exit_signal(channel, &name, &nameLength, nil, nil, nil, nil)
        var signal: String?
        if let name, nameLength > 0 {
            signal = String(cString: name)
            libssh2_free(raw, name)
        }
        return RemoteExit(status: signal == nil ? libssh2_channel_get_exit_status(channel) : nil, signal: signal)
    }

    /// An error for a failed read or write: a lost connection is said plainly.
    func connectionError(_ what: String, code: Int32) -> SSHError {
        let message = lastError().message
        if code == LIBSSH2_ERROR_SOCKET_RECV || code == LIBSSH2_ERROR_SOCKET_SEND || code == LIBSSH2_ERROR_SOCKET_DISCONNECT
            || code == LIBSSH2_ERROR_CHANNEL_CLOSED
        {
            return SSHError(.closed, "the connection to \(options.host) was lost while \(what) (\(message))")
        }
        return SSHError(.channel, "\(what) on \(options.host): \(message) (libssh2 error \(code))")
    }
}

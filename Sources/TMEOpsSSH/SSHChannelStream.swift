import CLibSSH2
import Foundation

/// A bidirectional byte stream over an SSH channel: a TCP connection made from the server
/// (`direct-tcpip`) or a Unix socket on the server (`direct-streamlocal@openssh.com`).
public final class SSHChannelStream {
    let session: SSHSession
    let channel: OpaquePointer
    /// What the stream reaches, for error messages (a kept command runner names its current command).
    public internal(set) var destination: String
    private var closed = false

    init(session: SSHSession, channel: OpaquePointer, destination: String) {
        self.session = session
        self.channel = channel
        self.destination = destination
    }

    deinit { close() }

    /// Writes all of `data`.
    public func write(_ data: Data) throws {
        try data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = libssh2_channel_write_ex(channel, 0, raw.baseAddress!.assumingMemoryBound(to: CChar.self) + offset, raw.count - offset)
                if written == Int(LIBSSH2_ERROR_EAGAIN) {
                    try session.waitForSocket(deadline: nil, what: "writing to \(destination)")
                    continue
                }
                if written < 0 { throw session.connectionError("writing to \(destination)", code: Int32(written)) }
                offset += written
            }
        }
    }

    /// What the remote program wrote to standard error (exec streams), kept for error messages.
    public private(set) var errorOutput = Data()

    /// Up to `maximum` bytes, waiting until some arrive; empty at the end of the stream.
    public func read(maximum: Int = 64 << 10, deadline: Date? = nil) throws -> Data {
        var buffer = [CChar](repeating: 0, count: maximum)
        while true {
            let count = libssh2_channel_read_ex(channel, 0, &buffer, maximum)
            if count > 0 { return Data(buffer[0..<count].map { UInt8(bitPattern: $0) }) }
            // Unread standard error keeps libssh2 from reporting the end of the channel: drain it.
            var drained = false
            while true {
                let errorCount = libssh2_channel_read_ex(channel, Int32(SSH_EXTENDED_DATA_STDERR), &buffer, maximum)
                guard errorCount > 0 else { break }
                if errorOutput.count < 64 << 10 { errorOutput.append(contentsOf: buffer[0..<errorCount].map { UInt8(bitPattern: $0) }) }
                drained = true
            }
            if drained { continue }
            if count == 0, libssh2_channel_eof(channel) == 1 { return Data() }
            if count < 0, count != Int(LIBSSH2_ERROR_EAGAIN) { throw session.connectionError("reading from \(destination)", code: Int32(count)) }
            try session.waitForSocket(deadline: deadline, what: "reading from \(destination)")
        }
    }

    /// Everything until the other side closes.
    public func readToEnd(deadline: Date? = nil) throws -> Data {
        var all = Data()
        while true {
            let chunk = try read(deadline: deadline)
            if chunk.isEmpty { return all }
            all.append(chunk)
        }
    }

    /// Tells the other side nothing more will be written.
    public func closeWrite() throws {
        try session.call("close the write side of \(destination)", kind: .channel) { libssh2_channel_send_eof(channel) }
    }

    /// For an exec stream: closes the write side, reads what is left, waits for the program to end and
    /// returns its exit status (nil when it died of a signal).
    public func finish(deadline: Date? = nil) throws -> Int32? {
        try closeWrite()
        _ = try readToEnd(deadline: deadline)
        while libssh2_channel_close(channel) == LIBSSH2_ERROR_EAGAIN { try session.waitForSocket(deadline: deadline, what: "closing \(destination)") }
        while libssh2_channel_wait_closed(channel) == LIBSSH2_ERROR_EAGAIN { try session.waitForSocket(deadline: deadline, what: "closing \(destination)") }
        var signal: UnsafeMutablePointer<CChar>?
        var length = 0
        libssh2_channel_get_exit_signal(channel, &signal, &length, nil, nil, nil, nil)
        let status = signal == nil ? libssh2_channel_get_exit_status(channel) : nil
        if let signal { libssh2_free(session.raw, signal) }
        return status
    }

    /// Frees the channel without waiting for the other side's close (which waits for the remote
    /// program to end): for a program tmeops stopped waiting for.
    public func abandon() {
        guard !closed else { return }
        closed = true
        guard !session.isClosed else { return }
        libssh2_channel_free(channel)
    }

    public func close() {
        guard !closed else { return }
        closed = true
        // A closed session has freed its channels already (a kept Docker connection can outlive it).
        guard !session.isClosed else { return }
        while libssh2_channel_close(channel) == LIBSSH2_ERROR_EAGAIN {
            if (try? session.waitForSocket(deadline: Date().addingTimeInterval(2), what: "close")) == nil { break }
        }
        libssh2_channel_free(channel)
    }
}

extension SSHSession {
    /// A remote program's standard input and output as a byte stream (its argv quoted by ``ShellQuote``).
    public func openExecStream(_ argv: [String], deadline: Date? = nil) throws -> SSHChannelStream {
        let channel = try openSessionChannel(deadline: deadline, for: argv.joined(separator: " "))
        let command = ShellQuote.command(argv)
        do {
            try call("start `\(argv.joined(separator: " "))` on \(options.host)", deadline: deadline, kind: .exec) {
                libssh2_channel_process_startup(channel, "exec", 4, command, UInt32(command.utf8.count))
            }
        } catch {
            libssh2_channel_free(channel)
            throw error
        }
        return SSHChannelStream(session: self, channel: channel, destination: "`\(argv.joined(separator: " "))` on \(options.host)")
    }

    /// A TCP connection made by the server to `host:port` (the app's loopback port, a container address).
    public func openTCP(host: String, port: Int, deadline: Date? = nil) throws -> SSHChannelStream {
        let what = "open a tunnel to \(host):\(port) through \(options.host)"
        let channel: OpaquePointer
        do {
            channel = try pointer(what, deadline: deadline, kind: .channel, channel: .tcp) {
                libssh2_channel_direct_tcpip_ex(raw, host, Int32(port), "127.0.0.1", 0)
            }
        } catch let error as SSHError where error.message.contains("(connect failed)") {
            // The server tried and was refused: an app not listening yet, not a forwarding setting.
            throw SSHError(.channel, "\(what): nothing accepts connections there (\(options.host) could not connect)")
        } catch let error as SSHError where error.message.contains("administratively prohibited") {
            throw SSHError(.channel, "\(what): the server refuses TCP forwarding (AllowTcpForwarding in its sshd_config)")
        }
        return SSHChannelStream(session: self, channel: channel, destination: "\(host):\(port) via \(options.host)")
    }

    /// A connection to a Unix socket on the server, such as the Docker engine's.
    ///
    /// libssh2 1.10 has no helper for OpenSSH's `direct-streamlocal@openssh.com` (1.11 added one), so
    /// the channel is opened by name with its message: `string path, string reserved, uint32 0`.
    public func openUnixSocket(_ path: String, deadline: Date? = nil) throws -> SSHChannelStream {
        var message = Data()
        func appendString(_ text: String) {
            var length = UInt32(text.utf8.count).bigEndian
            withUnsafeBytes(of: &length) { message.append(contentsOf: $0) }
            message.append(contentsOf: Array(text.utf8))
        }
        appendString(path)
        appendString("")
        message.append(contentsOf: [0, 0, 0, 0])
        let type = "direct-streamlocal@openssh.com"
        let channel = try message.withUnsafeBytes { bytes in
            try pointer(
                "open \(path) on \(options.host) (is AllowStreamLocalForwarding on, and may \(options.user) use the socket?)", deadline: deadline,
                kind: .channel, channel: .socket
            ) {
                libssh2_channel_open_ex(
                    self.raw, type, UInt32(type.utf8.count), Self.channelWindow, Self.channelPacket,
                    bytes.baseAddress!.assumingMemoryBound(to: CChar.self), UInt32(bytes.count))
            }
        }
        return SSHChannelStream(session: self, channel: channel, destination: "\(path) on \(options.host)")
    }
}

import CLibSSH2
import Foundation

/// Listens on `127.0.0.1:<port>` and carries each connection to `remoteHost:remotePort` as seen from
/// the server, so that a local client (libpq, an HTTP probe) can reach a remote database or app.
///
/// The forward pumps on a thread of its own, and that thread owns the session while it runs: libssh2
/// allows one thread per session at a time, so nothing else may use the session until ``stop()``.
public final class LocalPortForward: @unchecked Sendable {
    public let localPort: Int
    public let remoteHost: String
    public let remotePort: Int
    private let session: SSHSession
    private let listener: Int32
    private let lock = NSLock()
    private var stopping = false
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)
    /// The first error the pump met, if any (reported by ``stop()``).
    private var failure: Error?

    public init(session: SSHSession, remoteHost: String, remotePort: Int) throws {
        self.session = session
        self.remoteHost = remoteHost
        self.remotePort = remotePort
        // Close-on-exec from the start: a child process started meanwhile must not inherit the listener.
        let fd = socket(AF_INET, socketType(SOCK_STREAM), 0)
        guard fd >= 0 else { throw SSHError(.channel, "cannot open a local socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            Foundation.close(fd)
            throw SSHError(.channel, "cannot listen on 127.0.0.1: \(String(cString: strerror(errno)))")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        localPort = Int(UInt16(bigEndian: address.sin_port))
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        listener = fd
        let thread = Thread { [self] in
            do { try pump() } catch { lock.withLock { failure = error } }
            finished.signal()
        }
        thread.name = "tmeops forward 127.0.0.1:\(localPort) -> \(remoteHost):\(remotePort)"
        self.thread = thread
        thread.start()
    }

    /// Stops forwarding, closes every connection, and hands the session back; rethrows a pump failure.
    public func stop() throws {
        let alreadyStopping = lock.withLock { () -> Bool in
            defer { stopping = true }
            return stopping
        }
        if !alreadyStopping {
            finished.wait()
            // Only once: a second close could hit a descriptor the process has reused since.
            Foundation.close(listener)
        }
        if let failure = lock.withLock({ failure }) { throw failure }
    }

    deinit { try? stop() }

    private var isStopping: Bool { lock.withLock { stopping } }

    private func pump() throws {
        var connections: [ChannelPipe] = []
        defer {
            for connection in connections { connection.finish(session) }
        }
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while !isStopping {
            var moved = false
            // New local clients get a channel each.
            let client = accept(listener, nil, nil)
            if client >= 0 {
                // Swift's Glibc module does not expose accept4, so the flag follows at once.
                _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
                do {
                    let channel = try session.pointer(
                        "open a tunnel to \(remoteHost):\(remotePort)", deadline: Date().addingTimeInterval(10), kind: .channel, channel: .tunnel
                    ) {
                        libssh2_channel_direct_tcpip_ex(session.raw, remoteHost, Int32(remotePort), "127.0.0.1", Int32(localPort))
                    }
                    connections.append(ChannelPipe(fd: client, channel: channel))
                } catch {
                    session.logger.warning("\(error)")
                    Foundation.close(client)
                }
                moved = true
            }
            for connection in connections {
                if connection.step(&buffer) { moved = true }
            }
            let done = connections.filter(\.isDone)
            for connection in done { connection.finish(session) }
            connections.removeAll { connection in done.contains { $0 === connection } }
            if !moved {
                var descriptors = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0), pollfd(fd: session.socket, events: Int16(POLLIN), revents: 0)]
                for connection in connections where !connection.localClosed {
                    descriptors.append(pollfd(fd: connection.fd, events: Int16(POLLIN), revents: 0))
                }
                _ = poll(&descriptors, nfds_t(descriptors.count), 50)
            }
        }
    }
}

/// One local socket joined to one SSH channel: bytes read from either side are written to the other,
/// at most 1 MiB held in each direction. Used by the pump of a local port forward and of a jump host.
final class ChannelPipe {
    let fd: Int32
    let channel: OpaquePointer
    var toRemote = Data()
    var toLocal = Data()
    var localClosed = false
    var remoteClosed = false

    init(fd: Int32, channel: OpaquePointer) {
        self.fd = fd
        self.channel = channel
    }

    /// Both directions are finished.
    var isDone: Bool { (remoteClosed && toLocal.isEmpty) || (localClosed && toRemote.isEmpty && remoteClosed) }

    /// Moves what can move without waiting, both ways; whether anything moved.
    func step(_ buffer: inout [UInt8]) -> Bool {
        var moved = false
        // Local -> remote.
        if !localClosed, toRemote.count < (1 << 20) {
            let count = Foundation.read(fd, &buffer, buffer.count)
            if count > 0 {
                toRemote.append(contentsOf: buffer[0..<count])
                moved = true
            } else if count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                localClosed = true
            }
        }
        if !toRemote.isEmpty {
            let written = toRemote.withUnsafeBytes { raw in
                libssh2_channel_write_ex(channel, 0, raw.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count)
            }
            if written > 0 {
                toRemote.removeFirst(written)
                moved = true
            } else if written != Int(LIBSSH2_ERROR_EAGAIN) {
                remoteClosed = true
            }
        } else if localClosed, !remoteClosed {
            _ = libssh2_channel_send_eof(channel)
        }
        // Remote -> local.
        if !remoteClosed, toLocal.count < (1 << 20) {
            let count = buffer.withUnsafeMutableBytes { raw in
                libssh2_channel_read_ex(channel, 0, raw.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count)
            }
            if count > 0 {
                toLocal.append(contentsOf: buffer[0..<count])
                moved = true
            } else if count == 0, libssh2_channel_eof(channel) == 1 {
                remoteClosed = true
            } else if count < 0, count != Int(LIBSSH2_ERROR_EAGAIN) {
                remoteClosed = true
            }
        }
        if !toLocal.isEmpty {
            let written = toLocal.withUnsafeBytes { raw in Foundation.write(fd, raw.baseAddress, raw.count) }
            if written > 0 {
                toLocal.removeFirst(written)
                moved = true
            } else if written < 0, errno != EAGAIN, errno != EWOULDBLOCK {
                localClosed = true
                toLocal.removeAll()
            }
        }
        return moved
    }

    /// Closes the local socket and the channel (on `session`, whose thread this is).
    func finish(_ session: SSHSession) {
        Foundation.close(fd)
        var attempts = 0
        while libssh2_channel_close(channel) == LIBSSH2_ERROR_EAGAIN, attempts < 100 {
            attempts += 1
            try? session.waitForSocket(deadline: Date().addingTimeInterval(0.1), what: "closing a tunnel")
        }
        libssh2_channel_free(channel)
    }
}

/// A socket type with close-on-exec set atomically where the platform allows it.
func socketType(_ type: __socket_type) -> Int32 {
    Int32(type.rawValue | SOCK_CLOEXEC.rawValue)
}

import CLibSSH2
import Foundation
import Logging

/// The way to a server reached only through a bastion (`ssh.proxy_jump`): an SSH session to the bastion,
/// a `direct-tcpip` channel from it to the server's SSH port, and a local socket pair pumped to and from
/// that channel on a thread of its own. The session to the server then runs over the pair's other end,
/// as over any socket: its own handshake, host key check and authentication, end to end (the bastion
/// sees only encrypted bytes). libssh2 has no way to run a session over a channel directly, hence the
/// pair; OpenSSH's ProxyJump does the same with a child process, which tmeops never starts.
final class JumpTunnel: @unchecked Sendable {
    /// The end the server's session reads and writes.
    let socket: Int32
    private let pumpEnd: Int32
    private let pipe: ChannelPipe
    private let bastion: SSHSession
    private let lock = NSLock()
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)

    /// Connects to the bastion (its host key checked like any host's) and opens the channel to
    /// `host:port` from there; an error names the bastion and what failed.
    init(bastion options: SSHConnectionOptions, to host: String, port: Int, logger: Logger) throws {
        do {
            bastion = try SSHSession(options, logger: logger)
        } catch let error as SSHError {
            throw SSHError(error.kind, "the jump host \(options.destination) (ssh.proxy_jump), on the way to \(host): \(error.message)")
        }
        let channel: OpaquePointer
        do {
            channel = try bastion.pointer(
                "open a tunnel from the jump host \(options.host) to \(host):\(port)", deadline: Date().addingTimeInterval(options.connectTimeout),
                kind: .channel, channel: .tunnel
            ) { [bastion] in
                libssh2_channel_direct_tcpip_ex(bastion.raw, host, Int32(port), "127.0.0.1", 0)
            }
        } catch {
            bastion.close()
            throw SSHError(
                .connect, "the jump host \(options.destination) could not reach \(host):\(port) (\(error)); check ssh.proxy_jump and that \(host) is up")
        }
        var ends: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, socketType(SOCK_STREAM), 0, &ends) == 0 else {
            libssh2_channel_free(channel)
            bastion.close()
            throw SSHError(.library, "cannot make a socket pair: \(String(cString: strerror(errno)))")
        }
        socket = ends[0]
        pumpEnd = ends[1]
        _ = fcntl(pumpEnd, F_SETFL, fcntl(pumpEnd, F_GETFL) | O_NONBLOCK)
        pipe = ChannelPipe(fd: pumpEnd, channel: channel)
        let thread = Thread { [self] in
            pump()
            finished.signal()
        }
        thread.name = "tmeops jump \(options.host) -> \(host):\(port)"
        thread.start()
    }

    private var isStopping: Bool { lock.withLock { stopping } }

    /// Until the server's session closes its end (or the bastion's link fails), bytes go both ways.
    private func pump() {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while !isStopping, !pipe.isDone {
            if !pipe.step(&buffer) {
                // Nothing moved: wait for what can move next. With bytes held for the session, that is its
                // end becoming writable (waiting on the bastion's socket, readable all along, would spin).
                var descriptors: [pollfd] = []
                if pipe.toLocal.count < (1 << 20) { descriptors.append(pollfd(fd: bastion.socket, events: Int16(POLLIN), revents: 0)) }
                var local: Int16 = pipe.localClosed ? 0 : Int16(POLLIN)
                if !pipe.toLocal.isEmpty { local |= Int16(POLLOUT) }
                if local != 0 { descriptors.append(pollfd(fd: pumpEnd, events: local, revents: 0)) }
                _ = poll(&descriptors, nfds_t(descriptors.count), 50)
            }
        }
        pipe.finish(bastion)
        bastion.close()
    }

    /// Stops the pump (the server's session closed its end first) and disconnects from the bastion.
    func stop() {
        let already = lock.withLock { () -> Bool in
            defer { stopping = true }
            return stopping
        }
        if !already { finished.wait() }
    }
}

import Foundation
import TMEOpsSSH

/// A connection the Docker client speaks HTTP over: the local Unix socket, or the remote one through SSH.
public protocol ByteStream: AnyObject {
    func write(_ data: Data) throws
    /// Some bytes, waiting until they arrive; empty at the end of the stream.
    func read() throws -> Data
    /// Tells the other side the request body is complete.
    func closeWrite() throws
    func close()
}

/// A Unix domain socket on this machine.
public final class UnixSocketStream: ByteStream {
    private let fd: Int32
    public let path: String
    private var closed = false

    public init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw DockerError.transport("cannot create a socket: \(String(cString: strerror(errno)))") }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else {
            Foundation.close(fd)
            throw DockerError.transport("the socket path \(path) is longer than \(capacity - 1) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8) + [0])
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            let reason = String(cString: strerror(errno))
            Foundation.close(fd)
            throw DockerError.unreachable("cannot reach the Docker engine at \(path): \(reason); is dockerd running, and may this user use its socket?")
        }
    }

    deinit { close() }

    public func write(_ data: Data) throws {
        try data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if written < 0 {
                    if errno == EINTR { continue }
                    throw DockerError.transport("writing to \(path): \(String(cString: strerror(errno)))")
                }
                offset += written
            }
        }
    }

    /// Reused across reads: a fresh zeroed 256 KiB array per read showed in profiles of image exports.
    private var buffer = [UInt8](repeating: 0, count: 256 << 10)

    public func read() throws -> Data {
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count >= 0 { return Data(buffer[0..<count]) }
            if errno == EINTR { continue }
            throw DockerError.transport("reading from \(path): \(String(cString: strerror(errno)))")
        }
    }

    public func closeWrite() throws {
        shutdown(fd, Int32(SHUT_WR))
    }

    public func close() {
        guard !closed else { return }
        closed = true
        Foundation.close(fd)
    }
}

/// The remote engine's socket through the SSH connection: `direct-streamlocal@openssh.com`, or, where the
/// server refuses Unix-socket forwarding, an exec channel running `docker system dial-stdio`.
public final class SSHSocketStream: ByteStream {
    private let stream: SSHChannelStream

    init(stream: SSHChannelStream) { self.stream = stream }

    /// Forwards the socket (throws the SSH error, so the caller can fall back to dial-stdio).
    public static func forwarded(session: SSHSession, path: String) throws -> SSHSocketStream {
        SSHSocketStream(stream: try session.openUnixSocket(path, deadline: Date().addingTimeInterval(15)))
    }

    /// The docker CLI on the server relays its standard input and output to the socket.
    public static func dialStdio(session: SSHSession, path: String) throws -> SSHSocketStream {
        SSHSocketStream(stream: try session.openExecStream(["docker", "-H", "unix://\(path)", "system", "dial-stdio"]))
    }

    public func write(_ data: Data) throws { try stream.write(data) }

    public func read() throws -> Data {
        let data = try stream.read(maximum: 256 << 10)
        if data.isEmpty, !stream.errorOutput.isEmpty {
            // dial-stdio ended without an answer: its own message says why.
            throw DockerError.unreachable(String(decoding: stream.errorOutput, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return data
    }
    public func closeWrite() throws { try stream.closeWrite() }
    public func close() { stream.close() }
}

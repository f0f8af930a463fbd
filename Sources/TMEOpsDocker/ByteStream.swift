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

    public func read() throws -> Data {
        var buffer = [UInt8](repeating: 0, count: 256 << 10)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
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

/// The remote engine's socket through the SSH connection (`direct-streamlocal@openssh.com`).
public final class SSHSocketStream: ByteStream {
    private let stream: SSHChannelStream

    public init(session: SSHSession, path: String) throws {
        do {
            stream = try session.openUnixSocket(path, deadline: Date().addingTimeInterval(15))
        } catch let error as SSHError {
            throw DockerError.unreachable("cannot reach the Docker engine at \(path) on \(session.options.host): \(error.message)")
        }
    }

    public func write(_ data: Data) throws { try stream.write(data) }
    public func read() throws -> Data { try stream.read(maximum: 256 << 10) }
    public func closeWrite() throws { try stream.closeWrite() }
    public func close() { stream.close() }
}

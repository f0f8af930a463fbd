import Foundation

/// A TCP connection made with a timeout (libssh2 is handed an already connected socket).
enum TCPConnection {
    static func connect(host: String, port: Int, timeout: TimeInterval) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw SSHError(.resolve, "cannot resolve host '\(host)': \(String(cString: gai_strerror(status))); check ssh.host in tmeops.yml")
        }
        defer { freeaddrinfo(list) }
        var lastError = ""
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        let deadline = Date().addingTimeInterval(timeout)
        while let info = cursor {
            cursor = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.pointee.ai_protocol)
            guard fd >= 0 else { continue }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            if Foundation.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return fd }
            guard errno == EINPROGRESS else {
                lastError = String(cString: strerror(errno))
                close(fd)
                continue
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let remaining = max(0, Int32(deadline.timeIntervalSinceNow * 1000))
            let ready = poll(&pfd, 1, remaining)
            if ready == 0 {
                close(fd)
                throw SSHError(.timeout, "no answer from \(host):\(port) within \(Int(timeout)) s; check that the host is up and the port is right")
            }
            var soError: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length)
            if ready > 0, soError == 0 { return fd }
            lastError = String(cString: strerror(soError != 0 ? soError : errno))
            close(fd)
            if soError == ECONNREFUSED {
                throw SSHError(.connect, "port \(port) on \(host) is closed (connection refused); is sshd running there, and is ssh.port right?")
            }
        }
        throw SSHError(.connect, "cannot connect to \(host):\(port): \(lastError)")
    }
}

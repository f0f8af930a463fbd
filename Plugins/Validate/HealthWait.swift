import Foundation
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import TMEOpsSSH

#if canImport(Glibc)
    import Glibc
#endif

/// One HTTP exchange with an app inside the host, through the SSH connection (a `direct-tcpip` channel to
/// the container's address; no curl on the server). The response is read by the Docker module's tested
/// HTTP/1.1 parser.
public enum HTTPProbe {
    public struct Response: Sendable, Equatable {
        public let status: Int
        public let body: Data
        /// Header names in lower case.
        public var headers: [String: String] = [:]
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// How a probe reaches the app: through the host's SSH connection, or directly from this machine (a
    /// local environment's container).
    public enum Route: @unchecked Sendable {
        case ssh(SSHSession)
        case direct
    }

    public static func request(
        session: SSHSession, host: String, port: Int, method: String = "GET", path: String, headers: [String: String] = [:], timeout: TimeInterval = 5
    ) throws -> Response {
        try request(route: .ssh(session), host: host, port: port, method: method, path: path, headers: headers, timeout: timeout)
    }

    /// One exchange. Over SSH the connection is kept alive on the session afterwards, so a health wait's
    /// probes (and the next ones to the same address) share one channel instead of opening one each;
    /// a kept connection the app has closed meanwhile is replaced by a fresh one at once.
    public static func request(
        route: Route, host: String, port: Int, method: String = "GET", path: String, headers: [String: String] = [:], timeout: TimeInterval = 5
    ) throws -> Response {
        let deadline = Date().addingTimeInterval(timeout)
        switch route {
        case .direct:
            let stream = try DirectTCPStream(host: host, port: port, deadline: deadline)
            defer { stream.close() }
            return try exchange(on: stream, host: host, port: port, method: method, path: path, headers: headers, keepAlive: false, deadline: deadline)
                .response
        case .ssh(let session):
            let key = keptKey(host: host, port: port)
            // One exchange on `stream`, which is kept for the next probe when the answer allows it.
            func exchanging(on stream: SSHChannelStream) throws -> Response {
                let (response, reusable) = try exchange(
                    on: stream, host: host, port: port, method: method, path: path, headers: headers, keepAlive: true, deadline: deadline)
                if reusable { session.keep(stream, as: key) } else { stream.close() }
                return response
            }
            if let kept = session.takeKept(key) {
                if let response = try? exchanging(on: kept) { return response }
                kept.close()
            }
            return try exchanging(on: try session.openTCP(host: host, port: port, deadline: deadline))
        }
    }

    static func keptKey(host: String, port: Int) -> String { "http \(host):\(port)" }

    /// Closes the connection kept for probes of `host`:`port` on `session`, if any (before the app's own
    /// connections are counted, say).
    public static func forget(session: SSHSession, host: String, port: Int) {
        session.takeKept(keptKey(host: host, port: port))?.close()
    }

    /// Sends one request on `stream` and reads its response; `reusable` when the response had its own
    /// end (a length or chunks) and neither side asked to close.
    static func exchange(
        on stream: any ProbeStream, host: String, port: Int, method: String, path: String, headers: [String: String], keepAlive: Bool, deadline: Date
    ) throws -> (response: Response, reusable: Bool) {
        var head =
            "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUser-Agent: tmeops\r\nConnection: \(keepAlive ? "keep-alive" : "close")\r\nAccept: */*\r\n"
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { head += "\(name): \(value)\r\n" }
        try stream.write(Data((head + "Content-Length: 0\r\n\r\n").utf8))
        var parser = HTTPResponseParser(headRequest: method == "HEAD")
        var status: Int?
        var headers: [String: String] = [:]
        var body = Data()
        var endedByClose = false
        func handle(_ events: [HTTPResponseParser.Event]) {
            for event in events {
                switch event {
                case .head(let received):
                    status = received.status
                    headers = Dictionary(received.headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { first, _ in first })
                case .body(let chunk): if body.count < 1 << 20 { body.append(chunk) }
                case .end: break
                }
            }
        }
        while !parser.isDone {
            let chunk = try stream.read(deadline: deadline)
            if chunk.isEmpty {
                endedByClose = true
                handle(try parser.finish())
                break
            }
            handle(try parser.feed(chunk))
        }
        guard let status else { throw TMEOpsError("\(method) \(path) on \(host):\(port): no HTTP response") }
        let reusable = keepAlive && !endedByClose && headers["connection"]?.lowercased().contains("close") != true && body.count < 1 << 20
        return (Response(status: status, body: body, headers: headers), reusable)
    }
}

/// The two ways a probe's bytes travel.
protocol ProbeStream: AnyObject {
    func write(_ data: Data) throws
    func read(maximum: Int, deadline: Date?) throws -> Data
    func close()
}

extension ProbeStream {
    func read(deadline: Date?) throws -> Data { try read(maximum: 64 << 10, deadline: deadline) }
}

extension SSHChannelStream: ProbeStream {}

/// A TCP connection from this machine (IPv4), for local environments' containers. Written here because
/// Foundation on Linux has no simple blocking client socket; it is connect, write, and read with poll.
final class DirectTCPStream: ProbeStream {
    private var fd: Int32
    let destination: String

    init(host: String, port: Int, deadline: Date) throws {
        destination = "\(host):\(port)"
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TMEOpsError("cannot open a socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            close()
            throw TMEOpsError("\(host) is not an IPv4 address")
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let message = String(cString: strerror(errno))
            close()
            throw TMEOpsError("cannot connect to \(destination): \(message)")
        }
    }

    func write(_ data: Data) throws {
        if let code = data.withUnsafeBytes({ Descriptor.writeAll($0, to: fd) }) {
            throw TMEOpsError("writing to \(destination): \(String(cString: strerror(code)))")
        }
    }

    func read(maximum: Int, deadline: Date?) throws -> Data {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let wait = deadline.map { max(0, Int32($0.timeIntervalSinceNow * 1000)) } ?? -1
        guard poll(&poller, 1, wait) > 0 else { throw TMEOpsError("reading from \(destination) timed out") }
        var buffer = [UInt8](repeating: 0, count: maximum)
        let count = Glibc.read(fd, &buffer, maximum)
        guard count >= 0 else { throw TMEOpsError("reading from \(destination): \(String(cString: strerror(errno)))") }
        return Data(buffer[0..<count])
    }

    func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    deinit { close() }
}

/// Where a container's app can be reached from the host: its address on `network` (or any network).
public func containerAddress(_ details: ContainerDetails, network: String?) -> String? {
    let networks = details.networkSettings.networks ?? [:]
    if let network, let address = networks[network]?.ipAddress, !address.isEmpty { return address }
    return networks.values.compactMap(\.ipAddress).first { !$0.isEmpty }
}

/// The health gate: `health.path` on `health.port` of a container, `attempts` × `interval`, success on
/// `expect_status` and the JSON body condition (and a Docker HEALTHCHECK's "healthy" when the image has
/// one). A container that exits stops the wait at once, with its exit code and last 50 log lines.
public enum HealthWait {
    public struct Outcome: Codable, Sendable, Equatable {
        public var healthy: Bool
        public var attempts: Int
        public var seconds: Double
        public var lastStatus: Int?
        public var lastBody: String?
        public var detail: String
        public var exitCode: Int?
        public var logTail: [String]?

        public init(
            healthy: Bool, attempts: Int, seconds: Double, lastStatus: Int? = nil, lastBody: String? = nil, detail: String, exitCode: Int? = nil,
            logTail: [String]? = nil
        ) {
            self.healthy = healthy
            self.attempts = attempts
            self.seconds = seconds
            self.lastStatus = lastStatus
            self.lastBody = lastBody
            self.detail = detail
            self.exitCode = exitCode
            self.logTail = logTail
        }
    }

    /// One probe: nil when healthy, else what was wrong.
    public static func probe(session: SSHSession, address: String, health: HealthConfig) -> (status: Int?, body: String?, problem: String?) {
        probe(route: .ssh(session), address: address, port: health.port, health: health)
    }

    public static func probe(route: HTTPProbe.Route, address: String, port: Int, health: HealthConfig) -> (status: Int?, body: String?, problem: String?) {
        do {
            let response = try HTTPProbe.request(
                route: route, host: address, port: port, path: health.path, timeout: max(5, health.interval.seconds))
            let body = String(response.text.prefix(300))
            guard response.status == health.expectStatus else {
                return (response.status, body, "GET \(health.path) answered \(response.status), expected \(health.expectStatus)")
            }
            for (path, expected) in health.json.sorted(by: { $0.key < $1.key }) {
                guard let parsed = JSONPath(path) else { continue }
                guard let actual = parsed.value(in: response.body) else {
                    return (response.status, body, "the body has no \(path) (is it JSON?)")
                }
                if actual != expected { return (response.status, body, "\(path) is \(actual), expected \(expected)") }
            }
            return (response.status, body, nil)
        } catch {
            return (nil, nil, "\(error)")
        }
    }

    public static func wait(
        engine: DockerEngine, session: SSHSession, container: String, network: String?, health: HealthConfig, attempts: Int? = nil,
        poll: TimeInterval? = nil, log: (String) -> Void = { _ in }
    ) throws -> Outcome {
        try wait(engine: engine, route: .ssh(session), container: container, network: network, health: health, attempts: attempts, poll: poll, log: log)
    }

    /// `direct` with a fixed `address` and `port` (a local container on the host network or a published port).
    public static func wait(
        engine: DockerEngine, route: HTTPProbe.Route, container: String, network: String?, health: HealthConfig, attempts: Int? = nil,
        poll: TimeInterval? = nil, fixedAddress: (host: String, port: Int)? = nil, log: (String) -> Void = { _ in }
    ) throws -> Outcome {
        let started = Date()
        // A finer poll (the swap's, while production is down) keeps the same total budget.
        let interval = min(poll ?? health.interval.seconds, health.interval.seconds)
        let total = max(1, Int((Double(attempts ?? health.attempts) * health.interval.seconds / max(interval, 0.01)).rounded()))
        var last: (status: Int?, body: String?, problem: String?) = (nil, nil, "not probed")
        for attempt in 1...total {
            let attemptStarted = Date()
            guard let details = try engine.container(container) else {
                return Outcome(
                    healthy: false, attempts: attempt, seconds: Date().timeIntervalSince(started), detail: "container \(container) does not exist")
            }
            if !details.state.running {
                var lines: [String] = []
                try? engine.logs(container, tail: 50) { _, data in
                    lines += String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                }
                return Outcome(
                    healthy: false, attempts: attempt, seconds: Date().timeIntervalSince(started), lastStatus: last.status, lastBody: last.body,
                    detail: "container \(container) is \(details.state.status) (exit code \(details.state.exitCode))", exitCode: details.state.exitCode,
                    logTail: Array(lines.filter { !$0.isEmpty }.suffix(50)))
            }
            if let fixedAddress {
                last = probe(route: route, address: fixedAddress.host, port: fixedAddress.port, health: health)
            } else if let address = containerAddress(details, network: network) {
                last = probe(route: route, address: address, port: health.port, health: health)
                if last.problem == nil, let dockerHealth = details.state.health, dockerHealth.status != "healthy" {
                    last.problem = "its Docker HEALTHCHECK says \(dockerHealth.status)"
                }
            } else {
                last = (nil, nil, "container \(container) has no network address")
            }
            if last.problem == nil {
                return Outcome(
                    healthy: true, attempts: attempt, seconds: Date().timeIntervalSince(started), lastStatus: last.status, lastBody: last.body,
                    detail: "GET \(health.path) → \(last.status ?? 0)")
            }
            // The first failure and every fifth after it, so a long wait is visible but not noisy.
            let every = max(1, Int(health.interval.seconds / interval)) * 5
            if attempt == 1 || attempt % every == 0 {
                log("\(container): attempt \(attempt)/\(total): \(last.problem!)")
            }
            if attempt < total {
                let pause = interval - Date().timeIntervalSince(attemptStarted)
                if pause > 0 { Thread.sleep(forTimeInterval: pause) }
            }
        }
        return Outcome(
            healthy: false, attempts: total, seconds: Date().timeIntervalSince(started), lastStatus: last.status, lastBody: last.body,
            detail: "not healthy after \(total) attempts: \(last.problem ?? "")")
    }
}

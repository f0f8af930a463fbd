import Foundation
import Logging
import TMEOpsSSH

/// A request body: none, bytes, or a stream sent with chunked transfer coding.
public enum RequestBody {
    case none
    case json(Data)
    case data(Data, contentType: String)
    /// Pulled until it returns 0 bytes; `contentType` e.g. `application/x-tar`.
    case stream(ByteSource, contentType: String)
}

/// A Docker Engine API client (API 1.41, as Docker 20.10 serves) over any ``ByteStream``.
///
/// Unchecked Sendable: an engine is used by one thread at a time, like the SSH session under it.
/// A connection (a socket, or a channel on the one SSH session) serves one request at a time, so a
/// streamed request or response never holds up another call. Connections whose response ended cleanly
/// are kept for the next request (HTTP/1.1 keep-alive): over SSH each new one costs a channel opened
/// on the server (a round trip), or with `docker system dial-stdio` a process started there.
public final class DockerEngine: @unchecked Sendable {
    /// Where the engine is, for messages: `unix:///var/run/docker.sock`, `ssh://host/var/run/docker.sock`.
    public let location: String
    private let connect: () throws -> ByteStream
    /// The API version requests use: 1.41, or the engine's own when it is older.
    public private(set) var apiVersion = "1.41"
    private var negotiated = false
    /// Connections kept after a complete response, for the next requests.
    private var idle: [ByteStream] = []
    private let idleLock = NSLock()
    /// How many connections were opened (not reused): for tests and -vv.
    public private(set) var connectionsOpened = 0
    /// Hears the request each new connection is opened for (a remote engine logs it at trace level).
    public var onNewConnection: ((String) -> Void)?
    /// The image store, once asked (`imageStore()`).
    var knownImageStore: ImageStore?

    public init(location: String, connect: @escaping () throws -> ByteStream) {
        self.location = location
        self.connect = connect
    }

    deinit { closeIdle() }

    /// Closes the kept connections; call it before closing the SSH session under a remote engine.
    public func closeIdle() {
        for stream in idleLock.withLock({ () -> [ByteStream] in
            defer { idle.removeAll() }
            return idle
        }) {
            stream.close()
        }
    }

    private func freshConnection(for description: String) throws -> ByteStream {
        let stream = try connect()
        onNewConnection?(description)
        idleLock.withLock { connectionsOpened += 1 }
        return stream
    }

    /// The local engine, found as the docker CLI finds it: `DOCKER_HOST` (unix://), else /var/run/docker.sock.
    public static func local(environment: [String: String]) throws -> DockerEngine {
        var path = "/var/run/docker.sock"
        if let host = environment["DOCKER_HOST"], !host.isEmpty {
            guard host.hasPrefix("unix://") else {
                throw DockerError.unreachable("DOCKER_HOST=\(host) is not a unix:// socket; tmeops reaches remote engines through -e ENV (SSH), not TCP")
            }
            path = String(host.dropFirst("unix://".count))
        }
        return DockerEngine(location: "unix://\(path)") { try UnixSocketStream(path: path) }
    }

    /// The engine on an SSH host, through its socket forwarded over SSH; where the server refuses that
    /// (`AllowStreamLocalForwarding no`), through `docker system dial-stdio` on an exec channel, which is
    /// then used for every later request.
    public static func remote(session: SSHSession, socket: String) -> DockerEngine {
        final class Route: @unchecked Sendable { var dialStdio = false }
        let route = Route()
        let engine = DockerEngine(location: "ssh://\(session.options.host)\(socket)") {
            if !route.dialStdio {
                do {
                    return try SSHSocketStream.forwarded(session: session, path: socket)
                } catch let error as SSHError where error.kind == .channel {
                    session.logger.notice("\(session.options.host) refused to forward \(socket) (\(error.message)); using docker system dial-stdio instead")
                    route.dialStdio = true
                } catch let error as SSHError {
                    throw DockerError.unreachable("cannot reach the Docker engine at \(socket) on \(session.options.host): \(error.message)")
                }
            }
            do {
                return try SSHSocketStream.dialStdio(session: session, path: socket)
            } catch let error as SSHError {
                throw DockerError.unreachable(
                    "cannot reach the Docker engine at \(socket) on \(session.options.host): forwarding is refused and `docker system dial-stdio` failed: \(error.message)"
                )
            }
        }
        let (logger, location) = (session.logger, engine.location)
        engine.onNewConnection = { logger.trace("\(location): a new connection for \($0)") }
        return engine
    }

    // MARK: - HTTP

    /// What to send once the engine has turned a connection into a raw stream (see `perform`).
    public struct Upgrade {
        public let send: (ByteStream) throws -> Void
        public init(send: @escaping (ByteStream) throws -> Void) { self.send = send }
    }

    /// Sends one request and streams the response body to `onBody`; throws the daemon's error for a status of 400 or more.
    ///
    /// With `upgrade`, the request asks the engine to turn the connection into a raw stream (an attached
    /// exec's standard input): once the engine answers 101, `upgrade` writes to it (and closes its
    /// writing side) before the rest of the answer is read.
    @discardableResult
    public func perform(
        _ method: String, _ path: String, query: [(String, String)] = [], body: RequestBody = .none,
        upgrade: Upgrade? = nil, onBody: (Data) throws -> Void = { _ in }
    ) throws -> HTTPResponseParser.Head {
        if !negotiated, path != "/_ping" { try negotiate() }
        let versioned = path == "/_ping" ? path : "/v\(apiVersion)\(path)"
        let target = versioned + Self.queryString(query)
        let description = "\(method) \(path)"

        var head = "\(method) \(target) HTTP/1.1\r\nHost: docker\r\nUser-Agent: tmeops\r\n"
        switch body {
        case .none: head += "Content-Length: 0\r\n"
        case .json(let data): head += "Content-Type: application/json\r\nContent-Length: \(data.count)\r\n"
        case .data(let data, let type): head += "Content-Type: \(type)\r\nContent-Length: \(data.count)\r\n"
        case .stream(_, let type): head += "Content-Type: \(type)\r\nTransfer-Encoding: chunked\r\n"
        }
        if upgrade != nil { head += "Connection: Upgrade\r\nUpgrade: tcp\r\n" }
        head += "\r\n"

        // A kept connection the engine has closed meanwhile answers nothing at all; the request is then
        // sent once more on a new one. A streamed body cannot be sent twice, so before it goes on a kept
        // connection that connection must show it is still open. An upgraded connection is never kept.
        var replayable = upgrade == nil
        if case .stream = body { replayable = false }
        while true {
            var kept = upgrade == nil ? idleLock.withLock { idle.popLast() } : nil
            if !replayable, let candidate = kept, !answersPing(candidate) {
                // A round trip, as a new connection would cost, without opening a channel.
                candidate.close()
                kept = nil
            }
            let stream = try kept ?? freshConnection(for: description)
            var reusable = false
            defer {
                if reusable { idleLock.withLock { idle.append(stream) } } else { stream.close() }
            }
            do {
                let answer = try exchange(
                    stream, head: head, headRequest: method == "HEAD", body: body, description: description, upgrade: upgrade, onBody: onBody)
                reusable = answer.reusable
                // An error answer read to its end leaves the connection as good as a success does.
                if let daemonError = answer.daemonError { throw daemonError }
                return answer.head
            } catch Stale.noAnswer(let cause) {
                if kept != nil, replayable { continue }
                if let cause = cause as? DockerError { throw cause }
                throw DockerError.transport(
                    "\(description) to \(location) failed: " + (cause.map { "\($0)" } ?? "the engine closed the connection without an answer"))
            }
        }
    }

    /// Whether a kept connection still answers (`GET /_ping`) and stays open for a request.
    private func answersPing(_ stream: ByteStream) -> Bool {
        let head = "GET /_ping HTTP/1.1\r\nHost: docker\r\nUser-Agent: tmeops\r\nContent-Length: 0\r\n\r\n"
        guard let answer = try? exchange(stream, head: head, headRequest: false, body: .none, description: "GET /_ping", onBody: { _ in }) else {
            return false
        }
        return answer.reusable && answer.daemonError == nil
    }

    /// Not a byte of answer: on a kept connection, the engine had closed it.
    private enum Stale: Error { case noAnswer(Error?) }

    /// One request and its response on `stream`: the response head, whether the connection may serve
    /// another request, and the daemon's error for a status of 400 or more.
    private func exchange(
        _ stream: ByteStream, head: String, headRequest: Bool, body: RequestBody, description: String, upgrade: Upgrade? = nil,
        onBody: (Data) throws -> Void
    ) throws -> (head: HTTPResponseParser.Head, reusable: Bool, daemonError: DockerError?) {
        var writeFailure: Error?
        do {
            try stream.write(Data(head.utf8))
            switch body {
            case .none: break
            case .json(let data), .data(let data, _): try stream.write(data)
            case .stream(let source, _): try Self.writeChunked(source, to: stream)
            }
        } catch {
            // The engine may have refused the body early; its answer (if any) says why.
            writeFailure = error
        }

        var parser = HTTPResponseParser(headRequest: headRequest)
        var responseHead: HTTPResponseParser.Head?
        var errorBody = Data()
        var received = false
        var endedByClose = false
        func handle(_ events: [HTTPResponseParser.Event]) throws {
            for event in events {
                switch event {
                case .head(let received):
                    responseHead = received
                    if received.status == 101, let upgrade { try upgrade.send(stream) }
                case .body(let chunk):
                    if let status = responseHead?.status, status >= 400 {
                        if errorBody.count < 1 << 20 { errorBody.append(chunk) }
                    } else {
                        try onBody(chunk)
                    }
                case .end: break
                }
            }
        }
        do {
            while !parser.isDone {
                let data = try stream.read()
                if data.isEmpty {
                    if !received { throw Stale.noAnswer(writeFailure) }
                    endedByClose = true
                    try handle(try parser.finish())
                    break
                }
                received = true
                try handle(try parser.feed(data))
            }
        } catch let stale as Stale {
            throw stale
        } catch let failure as HTTPResponseParser.Failure {
            if let writeFailure { throw DockerError.transport("\(description) to \(location) failed: \(writeFailure)") }
            throw DockerError.protocolError("\(description) to \(location): \(failure)")
        } catch let error as DockerError {
            throw error
        } catch {
            if !received { throw Stale.noAnswer(writeFailure ?? error) }
            if let writeFailure { throw DockerError.transport("\(description) to \(location) failed: \(writeFailure)") }
            throw DockerError.transport("\(description) to \(location) failed: \(error)")
        }
        guard let responseHead else { throw DockerError.protocolError("\(description) to \(location): no response") }
        // Kept only when the response had its own end (length or chunks), the request went out whole
        // and nobody asked to close.
        let reusable =
            !endedByClose && writeFailure == nil && responseHead.status != 101
            && responseHead.headers["connection"]?.lowercased().contains("close") != true
        if responseHead.status >= 400 {
            let error = DockerError.daemon(status: responseHead.status, message: Self.errorMessage(errorBody), request: description)
            return (responseHead, reusable && errorBody.count < 1 << 20, error)
        }
        if let writeFailure { throw DockerError.transport("\(description) to \(location) failed while sending: \(writeFailure)") }
        return (responseHead, reusable, nil)
    }

    /// A request whose whole (JSON) body is returned.
    public func data(_ method: String, _ path: String, query: [(String, String)] = [], body: RequestBody = .none) throws -> Data {
        var all = Data()
        try perform(method, path, query: query, body: body) { all.append($0) }
        return all
    }

    /// A request whose JSON answer is decoded as `T`.
    public func decode<T: Decodable>(_ type: T.Type, _ method: String, _ path: String, query: [(String, String)] = [], body: RequestBody = .none) throws -> T {
        let data = try data(method, path, query: query, body: body)
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw DockerError.protocolError(
                "\(method) \(path) to \(location): unexpected answer (\(error)): \(String(decoding: data.prefix(200), as: UTF8.self))")
        }
    }

    /// A request answered with a JSON progress stream (build, load); an error inside it is thrown.
    public func progressStream(
        _ method: String, _ path: String, query: [(String, String)] = [], body: RequestBody = .none,
        onMessage: (DockerStreamMessage) throws -> Void
    ) throws {
        var decoder = JSONStreamDecoder()
        var failure: String?
        try perform(method, path, query: query, body: body) { chunk in
            for object in decoder.feed(chunk) {
                guard let message = try? JSONDecoder().decode(DockerStreamMessage.self, from: object) else { continue }
                if let error = message.errorMessage, failure == nil { failure = error }
                try onMessage(message)
            }
        }
        if let failure { throw DockerError.stream(message: failure.trimmingCharacters(in: .whitespacesAndNewlines), request: "\(method) \(path)") }
        if !decoder.remainder.isEmpty {
            throw DockerError.protocolError("\(method) \(path) to \(location): the progress stream ended mid-message: \(decoder.remainder.prefix(200))")
        }
    }

    static func writeChunked(_ source: ByteSource, to stream: ByteStream) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = try source.read(into: buffer)
            if count == 0 { break }
            var chunk = Data(String(count, radix: 16).utf8)
            chunk.append(contentsOf: [13, 10])
            chunk.append(UnsafeRawBufferPointer(rebasing: buffer[0..<count]).bindMemory(to: UInt8.self))
            chunk.append(contentsOf: [13, 10])
            try stream.write(chunk)
        }
        try stream.write(Data("0\r\n\r\n".utf8))
    }

    static func queryString(_ query: [(String, String)]) -> String {
        guard !query.isEmpty else { return "" }
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return "?"
            + query.map { key, value in
                "\(key)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value)"
            }.joined(separator: "&")
    }

    static func errorMessage(_ body: Data) -> String {
        if let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any], let message = object["message"] as? String {
            return message
        }
        let text = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "(no message)" : String(text.prefix(500))
    }

    /// `GET /_ping`: the engine's API version, used for requests when it is older than 1.41.
    @discardableResult
    public func negotiate() throws -> String {
        negotiated = true
        let head = try perform("GET", "/_ping")
        if let version = head.headers["api-version"], let theirs = Double(version), theirs < 1.41 {
            apiVersion = version
        }
        return head.headers["api-version"] ?? apiVersion
    }
}

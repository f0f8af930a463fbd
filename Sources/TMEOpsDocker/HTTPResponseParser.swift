import Foundation

/// An incremental HTTP/1.1 response parser for the Docker Engine API: status line, headers, and a body
/// delimited by Content-Length, chunked transfer coding, or the end of the connection.
///
/// Written here rather than taken from swift-nio's NIOHTTP1: that parser lives inside a channel
/// pipeline and event loop, while tmeops drives its transports (a Unix socket, a libssh2 channel)
/// synchronously on one thread; pulling swift-nio in (minutes of build on two cores, in every CI run)
/// for one response parser did not pay. It is tested as a parser: split at every byte, malformed and
/// oversized input.
public struct HTTPResponseParser {
    public struct Head: Sendable, Equatable {
        public let status: Int
        public let reason: String
        /// Header names lower-cased; repeated headers joined with ", ".
        public let headers: [String: String]
    }

    public enum Event: Equatable {
        case head(Head)
        case body(Data)
        case end
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case malformedStatusLine(String)
        case malformedHeader(String)
        case malformedChunkSize(String)
        case headersTooLarge(Int)
        case truncated(String)

        public var description: String {
            switch self {
            case .malformedStatusLine(let line): return "the Docker engine sent a malformed HTTP status line: \(line.prefix(80))"
            case .malformedHeader(let line): return "the Docker engine sent a malformed HTTP header: \(line.prefix(80))"
            case .malformedChunkSize(let line): return "the Docker engine sent a malformed chunk size: \(line.prefix(80))"
            case .headersTooLarge(let limit): return "the Docker engine's HTTP headers exceed \(limit) bytes"
            case .truncated(let what): return "the connection to the Docker engine ended in the middle of \(what)"
            }
        }
    }

    private enum State {
        case statusLine, headers
        case fixed(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd, trailers, untilClose, done
    }

    /// Limits against a misbehaving peer.
    public static let maximumHeaderBytes = 64 << 10

    /// Whether the request was HEAD (its response has no body whatever the headers say).
    private let headRequest: Bool
    private var state = State.statusLine
    /// Unparsed input from `position` on. Consumed bytes are dropped once per `feed`, not per line or
    /// chunk: an image export is tens of thousands of chunks, and moving the rest of the buffer down
    /// after each one cost more than the transfer.
    private var buffer: [UInt8] = []
    private var position = 0
    private var available: Int { buffer.count - position }
    private var headerBytes = 0
    private var status = 0
    private var reason = ""
    private var headers: [String: String] = [:]

    public init(headRequest: Bool = false) {
        self.headRequest = headRequest
    }

    public var isDone: Bool {
        if case .done = state { return true }
        return false
    }

    /// Feeds bytes; returns the events they complete.
    public mutating func feed(_ data: Data) throws(Failure) -> [Event] {
        if position > 0 {
            buffer.removeFirst(position)
            position = 0
        }
        buffer.append(contentsOf: data)
        var events: [Event] = []
        while true {
            switch state {
            case .statusLine:
                guard let line = try takeLine() else { return events }
                if line.isEmpty { continue }  // Tolerate a stray CRLF before the response.
                let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
                guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3, let code = Int(parts[1]), (100...999).contains(code) else {
                    throw .malformedStatusLine(line)
                }
                status = code
                reason = parts.count == 3 ? String(parts[2]) : ""
                headers = [:]
                state = .headers
            case .headers:
                guard let line = try takeLine() else { return events }
                if !line.isEmpty {
                    guard let colon = line.firstIndex(of: ":"), colon != line.startIndex,
                        !line[..<colon].contains(where: { $0 == " " || $0 == "\t" })
                    else { throw .malformedHeader(line) }
                    let name = line[..<colon].lowercased()
                    let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                    headers[name] = headers[name].map { "\($0), \(value)" } ?? value
                    continue
                }
                let head = Head(status: status, reason: reason, headers: headers)
                headerBytes = 0
                if (100..<200).contains(status), status != 101 {
                    state = .statusLine  // 100 Continue and friends: the real response follows.
                    continue
                }
                events.append(.head(head))
                if status == 101 {
                    state = .untilClose  // Upgraded (an attached exec): the rest is the raw stream.
                } else if headRequest || status == 204 || status == 304 {
                    state = .done
                    events.append(.end)
                    return events
                } else if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
                    state = .chunkSize
                } else if let lengthText = headers["content-length"] {
                    guard let length = Int(lengthText), length >= 0 else { throw .malformedHeader("content-length: \(lengthText)") }
                    if length == 0 {
                        state = .done
                        events.append(.end)
                        return events
                    }
                    state = .fixed(remaining: length)
                } else {
                    state = .untilClose
                }
            case .fixed(let remaining):
                guard available > 0 else { return events }
                let count = min(remaining, available)
                events.append(.body(Data(buffer[position..<(position + count)])))
                position += count
                if count == remaining {
                    state = .done
                    events.append(.end)
                    return events
                }
                state = .fixed(remaining: remaining - count)
            case .chunkSize:
                guard let line = try takeLine() else { return events }
                let sizeText = line.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
                guard !sizeText.isEmpty, sizeText.count <= 16, sizeText.allSatisfy(\.isHexDigit), let size = Int(sizeText, radix: 16) else {
                    throw .malformedChunkSize(line)
                }
                state = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkData(let remaining):
                guard available > 0 else { return events }
                let count = min(remaining, available)
                events.append(.body(Data(buffer[position..<(position + count)])))
                position += count
                state = count == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - count)
            case .chunkDataEnd:
                guard let line = try takeLine() else { return events }
                guard line.isEmpty else { throw .malformedChunkSize(line) }
                state = .chunkSize
            case .trailers:
                guard let line = try takeLine() else { return events }
                if line.isEmpty {
                    state = .done
                    events.append(.end)
                    return events
                }
            case .untilClose:
                if available > 0 {
                    events.append(.body(Data(buffer[position...])))
                    position = buffer.count
                }
                return events
            case .done:
                return events
            }
        }
    }

    /// The peer closed the connection; returns the final events or reports a truncated response.
    public mutating func finish() throws(Failure) -> [Event] {
        switch state {
        case .untilClose:
            state = .done
            return [.end]
        case .done:
            return []
        case .statusLine where available == 0:
            throw .truncated("waiting for a response")
        case .statusLine, .headers:
            throw .truncated("the response headers")
        default:
            throw .truncated("the response body")
        }
    }

    /// One CRLF- (or LF-) terminated line from the buffer, counting toward the header limit.
    private mutating func takeLine() throws(Failure) -> String? {
        var counted = true
        switch state {
        case .chunkSize, .chunkDataEnd: counted = false  // Chunk framing is not header data.
        default: break
        }
        guard let newline = buffer[position...].firstIndex(of: UInt8(ascii: "\n")) else {
            if available > Self.maximumHeaderBytes { throw .headersTooLarge(Self.maximumHeaderBytes) }
            return nil
        }
        var lineData = buffer[position..<newline]
        if lineData.last == UInt8(ascii: "\r") { lineData = lineData.dropLast() }
        if counted {
            headerBytes += lineData.count + 2
            if headerBytes > Self.maximumHeaderBytes { throw .headersTooLarge(Self.maximumHeaderBytes) }
        }
        let line = String(decoding: lineData, as: UTF8.self)
        position = newline + 1
        return line
    }
}

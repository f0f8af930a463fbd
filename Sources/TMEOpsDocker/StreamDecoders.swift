import Foundation

/// Splits Docker's multiplexed log and exec output: frames of `[stream, 0, 0, 0, size (big-endian u32)]`
/// followed by `size` bytes; stream 1 is stdout, 2 stderr (0 stdin).
public struct MultiplexedStreamDecoder {
    public enum Stream: UInt8, Sendable {
        case stdin = 0
        case stdout = 1
        case stderr = 2
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case badHeader([UInt8])
        case truncated(Int)

        public var description: String {
            switch self {
            case .badHeader(let bytes): return "the Docker engine sent a malformed stream frame header \(bytes)"
            case .truncated(let missing): return "the Docker engine's output stream ended \(missing) bytes into a frame"
            }
        }
    }

    private var buffer = Data()

    public init() {}

    public mutating func feed(_ data: Data) throws(Failure) -> [(Stream, Data)] {
        buffer.append(data)
        var frames: [(Stream, Data)] = []
        while buffer.count >= 8 {
            let start = buffer.startIndex
            let header = [UInt8](buffer[start..<(start + 8)])
            guard let stream = Stream(rawValue: header[0]), header[1] == 0, header[2] == 0, header[3] == 0 else { throw .badHeader(header) }
            let size = Int(header[4]) << 24 | Int(header[5]) << 16 | Int(header[6]) << 8 | Int(header[7])
            guard buffer.count >= 8 + size else { break }
            frames.append((stream, Data(buffer[(start + 8)..<(start + 8 + size)])))
            buffer = Data(buffer[(start + 8 + size)...])
        }
        return frames
    }

    public func finish() throws(Failure) {
        if !buffer.isEmpty { throw .truncated(buffer.count) }
    }
}

/// Splits a stream of JSON objects (Docker writes one per line for build, load, pull and push progress)
/// into whole objects, however the bytes arrive.
public struct JSONStreamDecoder {
    private var buffer = Data()

    public init() {}

    public mutating func feed(_ data: Data) -> [Data] {
        buffer.append(data)
        var objects: [Data] = []
        var depth = 0
        var inString = false
        var escaped = false
        var objectStart: Int?
        var consumed = 0
        let bytes = [UInt8](buffer)
        for (index, byte) in bytes.enumerated() {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                if depth == 0 { objectStart = index }
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0, let start = objectStart {
                    objects.append(Data(bytes[start...index]))
                    objectStart = nil
                    consumed = index + 1
                }
            default: break
            }
        }
        buffer = Data(bytes[consumed...])
        return objects
    }

    /// Whatever is left that is not whitespace (a truncated object), for error messages.
    public var remainder: String {
        String(decoding: buffer, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// One message of a JSON progress stream (build, load, push): output text, status, or an error.
public struct DockerStreamMessage: Decodable, Sendable, Equatable {
    public struct ErrorDetail: Decodable, Sendable, Equatable {
        public let message: String?
    }

    public struct Aux: Decodable, Sendable, Equatable {
        public let id: String?

        enum CodingKeys: String, CodingKey {
            case id = "ID"
        }
    }

    public let stream: String?
    public let status: String?
    public let progress: String?
    public let id: String?
    public let error: String?
    public let errorDetail: ErrorDetail?
    public let aux: Aux?

    /// The daemon's error text, if this message reports one.
    public var errorMessage: String? { error ?? errorDetail?.message }
}

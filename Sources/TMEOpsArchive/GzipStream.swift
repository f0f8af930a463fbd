import CZlib
import Foundation

/// A gzip stream compressed or decompressed as its bytes flow: what one end of a file transfer runs
/// while the other runs `gzip`. zlib itself (not libarchive, whose reading is pulled from a callback)
/// because a download's bytes arrive pushed, a chunk at a time, from the SSH channel.
public final class GzipStream {
    public enum Direction: Sendable {
        /// Compress, at zlib's `level` (1 is the fastest).
        case compress(level: Int32)
        case decompress
    }

    private var stream = z_stream()
    private let direction: Direction
    private var finished = false
    private let output = UnsafeMutablePointer<UInt8>.allocate(capacity: 256 << 10)
    private let outputSize = 256 << 10
    /// Bytes taken in and handed out so far.
    public private(set) var bytesIn: UInt64 = 0
    public private(set) var bytesOut: UInt64 = 0

    public init(_ direction: Direction) throws {
        self.direction = direction
        let result: Int32
        // windowBits 15 + 16: a gzip header and trailer (the format `gzip` reads and writes).
        switch direction {
        case .compress(let level):
            result = deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        case .decompress:
            result = inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        }
        guard result == Z_OK else {
            output.deallocate()
            throw ArchiveError(.library, "zlib could not start a gzip stream (\(result))")
        }
    }

    deinit {
        switch direction {
        case .compress: deflateEnd(&stream)
        case .decompress: inflateEnd(&stream)
        }
        output.deallocate()
    }

    /// Takes `input` in; hands what it produced to `emit` (possibly nothing yet).
    public func process(_ input: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard !input.isEmpty else { return }
        bytesIn += UInt64(input.count)
        try run(input, flush: Z_NO_FLUSH, emit: emit)
    }

    /// Ends the stream: a compressor writes its trailer; a decompressor checks the stream was whole.
    public func finish(emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard !finished else { return }
        switch direction {
        case .compress: try run(UnsafeRawBufferPointer(start: nil, count: 0), flush: Z_FINISH, emit: emit)
        case .decompress:
            guard finished else { throw ArchiveError(.corrupt, "the gzip stream ended early (truncated)") }
        }
        finished = true
    }

    private func run(_ input: UnsafeRawBufferPointer, flush: Int32, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self))
        stream.avail_in = uInt(input.count)
        while true {
            stream.next_out = output
            stream.avail_out = uInt(outputSize)
            let result: Int32
            switch direction {
            case .compress: result = deflate(&stream, flush)
            case .decompress:
                if finished {
                    // `gzip` may write several members one after another; each is read in turn.
                    guard stream.avail_in > 0 else { return }
                    guard inflateReset(&stream) == Z_OK else { throw ArchiveError(.corrupt, "zlib could not read the next gzip member") }
                    finished = false
                    continue
                }
                result = inflate(&stream, Z_NO_FLUSH)
            }
            let produced = outputSize - Int(stream.avail_out)
            if produced > 0 {
                bytesOut += UInt64(produced)
                try emit(UnsafeRawBufferPointer(start: output, count: produced))
            }
            switch result {
            case Z_STREAM_END:
                if case .compress = direction { return }
                finished = true
            case Z_OK: break
            case Z_BUF_ERROR:
                // No progress possible: all input taken and (when finishing) all output out.
                return
            default:
                let message = stream.msg.map { String(cString: $0) } ?? "error \(result)"
                throw ArchiveError(.corrupt, "the gzip stream is damaged: \(message)")
            }
            if stream.avail_in == 0, stream.avail_out > 0, flush != Z_FINISH, !finished { return }
        }
    }
}

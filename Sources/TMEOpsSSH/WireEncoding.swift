import Foundation
import TMEOpsCrypto

/// A transformation of a byte stream run by this end of a transfer (a compressor or decompressor); the
/// server runs its counterpart as a program.
public protocol StreamCoder: AnyObject {
    /// Takes `input` in; hands what it produced to `emit` (possibly nothing yet).
    func process(_ input: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) throws
    /// Ends the stream (a compressor's trailer; a decompressor's check that the stream was whole).
    func finish(emit: (UnsafeRawBufferPointer) throws -> Void) throws
}

/// How a file's bytes travel between this machine and a server when they are encoded on the way
/// (compressed): this side's coders, and the server's programs for the other end.
public struct WireEncoding: @unchecked Sendable {
    /// As reports and `--json` name it, e.g. `gzip`.
    public let name: String
    /// The server's decoder (stdin to stdout) for uploads, e.g. `gzip -dc`: a fixed command, no operand.
    public let serverDecoder: String
    /// The server's encoder (stdin to stdout) for downloads, e.g. `gzip -1 -c`.
    public let serverEncoder: String
    public let makeEncoder: () throws -> StreamCoder
    public let makeDecoder: () throws -> StreamCoder

    public init(
        name: String, serverDecoder: String, serverEncoder: String, makeEncoder: @escaping () throws -> StreamCoder,
        makeDecoder: @escaping () throws -> StreamCoder
    ) {
        self.name = name
        self.serverDecoder = serverDecoder
        self.serverEncoder = serverEncoder
        self.makeEncoder = makeEncoder
        self.makeDecoder = makeDecoder
    }
}

/// A byte source encoded on its way out (an upload's file, compressed as the channel takes it).
final class EncodingSource: ByteSource {
    private let inner: ByteSource
    private let coder: StreamCoder
    private var pending = Data()
    private var pendingOffset = 0
    private var ended = false
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    /// Bytes of the inner source taken so far (the file's, for progress).
    private(set) var consumed: UInt64 = 0

    init(_ inner: ByteSource, coder: StreamCoder) {
        self.inner = inner
        self.coder = coder
    }

    deinit { scratch.deallocate() }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while pendingOffset >= pending.count {
            if ended { return 0 }
            pending.removeAll(keepingCapacity: true)
            pendingOffset = 0
            let count = try inner.read(into: scratch)
            if count == 0 {
                try coder.finish { pending.append(contentsOf: $0) }
                ended = true
            } else {
                consumed += UInt64(count)
                try coder.process(UnsafeRawBufferPointer(rebasing: scratch[0..<count])) { pending.append(contentsOf: $0) }
            }
        }
        let count = min(buffer.count, pending.count - pendingOffset)
        pending.withUnsafeBytes { source in
            buffer.baseAddress!.copyMemory(from: source.baseAddress! + pendingOffset, byteCount: count)
        }
        pendingOffset += count
        return count
    }
}

extension SSHSession {
    /// Bytes a second the link to the server carries in one direction: 1 MiB of random bytes into
    /// `cat` on the server (`upload`), or out of the server's `head -c` of /dev/urandom, timed less the
    /// time of an empty command (a channel's open and start: on a fast link most of the 1 MiB's time).
    public func measureLinkRate(upload: Bool = true) throws -> Double {
        let size = 1 << 20
        let random = RandomBytes.make(upload ? size : 0)
        var started = Date()
        _ = try capture(["true"])
        let overhead = Date().timeIntervalSince(started)
        started = Date()
        if upload {
            _ = try capture(["sh", "-c", "cat >/dev/null"], stdin: random)
        } else {
            _ = try capture(["head", "-c", String(size), "/dev/urandom"])
        }
        let elapsed = Date().timeIntervalSince(started) - overhead
        return Double(size) / max(elapsed, 1e-3)
    }
}

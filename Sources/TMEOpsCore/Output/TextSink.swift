import Foundation
import TMEOpsSSH

/// Where text goes: standard output, standard error, or a buffer a test reads back.
public protocol TextSink: AnyObject, Sendable {
    func write(_ text: String)
    /// Raw bytes, passed through unchanged (a remote command's output may not be text).
    func write(bytes: UnsafeRawBufferPointer)
    /// Whether the sink is an interactive terminal (colours and progress bars only then).
    var isTerminal: Bool { get }
}

/// A sink writing to a file descriptor, unbuffered so log lines and results interleave in order.
public final class FileDescriptorSink: TextSink, @unchecked Sendable {
    public static let standardOutput = FileDescriptorSink(fd: STDOUT_FILENO)
    public static let standardError = FileDescriptorSink(fd: STDERR_FILENO)

    private let fd: Int32
    private let lock = NSLock()
    public let isTerminal: Bool

    public init(fd: Int32) {
        self.fd = fd
        self.isTerminal = isatty(fd) == 1
    }

    public func write(_ text: String) {
        Array(text.utf8).withUnsafeBytes { write(bytes: $0) }
    }

    public func write(bytes: UnsafeRawBufferPointer) {
        // A failure means a closed pipe: nobody is reading, so there is nobody to tell.
        lock.withLock { _ = Descriptor.writeAll(bytes, to: fd) }
    }
}

/// A sink that keeps what is written, for tests.
public final class BufferSink: TextSink, @unchecked Sendable {
    private let lock = NSLock()
    private var buffer = ""
    public let isTerminal: Bool

    public init(isTerminal: Bool = false) { self.isTerminal = isTerminal }

    public func write(_ text: String) { lock.withLock { buffer += text } }

    public func write(bytes: UnsafeRawBufferPointer) { write(String(decoding: bytes, as: UTF8.self)) }

    public var text: String { lock.withLock { buffer } }

    /// Forgets what was written so far.
    public func clear() { lock.withLock { buffer = "" } }
}

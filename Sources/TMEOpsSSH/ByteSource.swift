import Foundation
import TMEOpsCrypto

/// Bytes fed to a remote command's standard input, pulled as the channel can take them.
public protocol ByteSource: AnyObject {
    /// Fills `buffer`; returns the number of bytes, 0 at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// In-memory bytes.
public final class DataSource: ByteSource {
    private let data: Data
    private var offset = 0

    public init(_ data: Data) { self.data = data }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = min(buffer.count, data.count - offset)
        guard count > 0 else { return 0 }
        data.withUnsafeBytes { source in
            buffer.baseAddress!.copyMemory(from: source.baseAddress! + offset, byteCount: count)
        }
        offset += count
        return count
    }
}

/// A local file from an offset, read with read(2); `onRead` sees every chunk (hashing, progress).
public final class FileSource: ByteSource, @unchecked Sendable {
    private let fd: Int32
    private let path: String
    private let onRead: (UnsafeRawBufferPointer) -> Void

    public init(path: String, offset: UInt64 = 0, onRead: @escaping (UnsafeRawBufferPointer) -> Void = { _ in }) throws {
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SSHError(.transfer, "cannot read \(path): \(String(cString: strerror(errno)))") }
        self.path = path
        self.onRead = onRead
        if offset > 0, lseek(fd, off_t(offset), SEEK_SET) < 0 {
            close(fd)
            throw SSHError(.transfer, "cannot seek in \(path): \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(fd) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let count = Foundation.read(fd, buffer.baseAddress, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw SSHError(.transfer, "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if count > 0 { onRead(UnsafeRawBufferPointer(rebasing: buffer[0..<count])) }
            return count
        }
    }
}

/// A local file read ahead and hashed on a thread of its own, so that hashing overlaps the encryption
/// and sending done by the caller's thread. At most `depth` chunks wait in memory.
public final class PrefetchingFileSource: ByteSource, @unchecked Sendable {
    private let lock = NSCondition()
    private var chunks: [Data] = []
    private var current = Data()
    private var currentOffset = 0
    private var finished = false
    private var failure: Error?
    private var digest: String?
    private var cancelled = false
    private let depth = 8
    private let hasher: SHA256

    /// - Parameter hasher: Receives every byte read, in order; ``finishHash()`` finishes it.
    public init(path: String, offset: UInt64 = 0, chunkSize: Int = 1 << 20, hasher: SHA256) throws {
        self.hasher = hasher
        let source = try FileSource(path: path, offset: offset)
        let thread = Thread { [self] in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
            defer { buffer.deallocate() }
            while true {
                let count: Int
                do {
                    count = try source.read(into: buffer)
                } catch {
                    lock.withLock {
                        failure = error
                        finished = true
                        lock.broadcast()
                    }
                    return
                }
                let chunk = Data(bytes: buffer.baseAddress!, count: count)
                hasher.update(chunk)
                lock.lock()
                while chunks.count >= depth && !cancelled { lock.wait() }
                if cancelled {
                    lock.unlock()
                    return
                }
                if count == 0 {
                    finished = true
                    digest = hasher.finishHex()
                } else {
                    chunks.append(chunk)
                }
                lock.broadcast()
                lock.unlock()
                if count == 0 { return }
            }
        }
        thread.name = "tmeops read-ahead \((path as NSString).lastPathComponent)"
        thread.start()
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if currentOffset >= current.count {
            lock.lock()
            while chunks.isEmpty && !finished { lock.wait() }
            if let failure {
                lock.unlock()
                throw failure
            }
            if chunks.isEmpty {
                lock.unlock()
                return 0
            }
            current = chunks.removeFirst()
            currentOffset = 0
            lock.broadcast()
            lock.unlock()
        }
        let count = min(buffer.count, current.count - currentOffset)
        current.withUnsafeBytes { source in
            buffer.baseAddress!.copyMemory(from: source.baseAddress! + currentOffset, byteCount: count)
        }
        currentOffset += count
        return count
    }

    /// Stops the read-ahead thread (after a failed transfer); reading afterwards is an error.
    public func cancel() {
        lock.withLock {
            cancelled = true
            if !finished {
                finished = true
                failure = failure ?? SSHError(.transfer, "the transfer was cancelled")
            }
            lock.broadcast()
        }
    }

    /// The hex SHA-256 of everything read, once the end has been reached.
    public func finishHash() throws -> String {
        lock.lock()
        defer { lock.unlock() }
        while !finished { lock.wait() }
        if let failure { throw failure }
        return digest ?? hasher.finishHex()
    }
}

/// The read end of a pipe (or any descriptor), read with read(2) and closed when done.
public final class DescriptorSource: ByteSource, @unchecked Sendable {
    private let fd: Int32
    private let name: String
    private var closed = false

    public init(fileDescriptor: Int32, name: String) {
        fd = fileDescriptor
        self.name = name
    }

    deinit { close() }

    public func close() {
        guard !closed else { return }
        closed = true
        Foundation.close(fd)
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let count = Foundation.read(fd, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno == EINTR { continue }
            throw SSHError(.transfer, "cannot read \(name): \(String(cString: strerror(errno)))")
        }
    }
}

/// Plain descriptor writes, shared by sinks, atomic files, downloads and pipes.
public enum Descriptor {
    /// Writes all of `bytes` to `fd`, retrying after signals; nil when done, else the errno that stopped it.
    public static func writeAll(_ bytes: UnsafeRawBufferPointer, to fd: Int32) -> Int32? {
        guard let base = bytes.baseAddress else { return nil }
        var offset = 0
        while offset < bytes.count {
            let written = Foundation.write(fd, base + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += written
        }
        return nil
    }
}

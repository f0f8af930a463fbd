import Foundation

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
public final class FileSource: ByteSource {
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

import CLibArchive
import Foundation

/// The bytes of a file as they are once decompressed (gzip, zstd, or none): what an image layer blob
/// holds under its compression. libarchive's raw format with every filter reads it, the way it reads a
/// compressed tar, so each compression an engine writes is read by the same code.
public final class DecompressedReader {
    private let archive: OpaquePointer
    private let source: String
    private let fd: Int32

    /// Opens the file at `path`; an uncompressed file reads as it is.
    public init(path: String) throws {
        guard let archive = archive_read_new() else { throw ArchiveError(.library, "libarchive could not allocate a reader") }
        self.archive = archive
        source = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            archive_read_free(archive)
            throw ArchiveError(.io, "cannot read \(path): \(String(cString: strerror(errno)))")
        }
        archive_read_support_format_raw(archive)
        archive_read_support_format_empty(archive)
        archive_read_support_filter_all(archive)
        guard archive_read_open_fd(archive, fd, 1 << 20) == ARCHIVE_OK else {
            let message = archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
            throw ArchiveError(.corrupt, "\(path) cannot be read: \(message)")
        }
        var entry: OpaquePointer?
        let result = archive_read_next_header(archive, &entry)
        guard result == ARCHIVE_OK || result == ARCHIVE_EOF else {
            let message = archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
            throw ArchiveError(.corrupt, "\(path) is damaged: \(message)")
        }
    }

    deinit {
        archive_read_free(archive)
        close(fd)
    }

    /// Up to `buffer.count` decompressed bytes; 0 at the end.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = archive_read_data(archive, buffer.baseAddress, buffer.count)
        guard count >= 0 else {
            let message = archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
            throw ArchiveError(.corrupt, "\(source) is damaged or truncated: \(message)")
        }
        return count
    }

    /// Every decompressed byte of the file at `path`, handed to `body` a chunk at a time; their count.
    @discardableResult
    public static func forEachChunk(of path: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws -> UInt64 {
        let reader = try DecompressedReader(path: path)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var total: UInt64 = 0
        while true {
            let count = try reader.read(into: buffer)
            if count == 0 { return total }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            total += UInt64(count)
        }
    }
}

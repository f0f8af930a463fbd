import CLibArchive
import Foundation

/// A failure reading or writing an archive, with libarchive's own message or the unsafe entry named.
public struct ArchiveError: Error, CustomStringConvertible, Equatable {
    public enum Kind: Sendable { case library, unsafeEntry, corrupt, io }
    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// Compression for written archives.
public enum ArchiveCompression: String, Sendable, CaseIterable {
    case none, gzip, zstd
}

/// Adds `compression`'s filter to a libarchive writer, at `level` when given (1 is the fastest: what
/// a stream on the wire wants; libarchive's defaults are gzip 6 and zstd 3).
func addFilter(_ archive: OpaquePointer, _ compression: ArchiveCompression, level: Int?) {
    switch compression {
    case .none: archive_write_add_filter_none(archive)
    case .gzip: archive_write_add_filter_gzip(archive)
    case .zstd: archive_write_add_filter_zstd(archive)
    }
    if let level, compression != .none {
        archive_write_set_filter_option(archive, compression.rawValue, "compression-level", String(level))
    }
}

/// File types as libarchive reports them (`AE_IF*`, which Swift cannot import because they are casts).
enum FileType {
    static let mask: UInt32 = 0o170000
    static let regular: UInt32 = 0o100000
    static let directory: UInt32 = 0o040000
    static let symlink: UInt32 = 0o120000
}

/// An entry of a tar stream.
public struct TarEntry: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case file, directory, symlink, hardlink, other }
    public let path: String
    public let kind: Kind
    public let size: Int64
    public let mode: UInt32
    /// The target of a symbolic or hard link.
    public let linkTarget: String?

    public init(path: String, kind: Kind, size: Int64, mode: UInt32, linkTarget: String?) {
        self.path = path
        self.kind = kind
        self.size = size
        self.mode = mode
        self.linkTarget = linkTarget
    }
}

/// What an archive is read for, which decides how its links are judged.
///
/// Entries written to disk (`extract`) must stay inside the target folder: `..`, absolute paths and
/// links that resolve outside it are refused. Entries only read to be checked (`inspect`: the layers of
/// an image) keep their meaning inside the image's own root, where `/usr/bin/python3` or
/// `../../etc/localtime` are ordinary links, so any link target is accepted there; entry names still
/// may not be absolute or climb, since no engine would apply such a layer.
public enum ArchiveReadPurpose: Sendable {
    case extract
    case inspect
}

/// The checks entries read by tmeops pass (see `ArchiveReadPurpose`).
public enum ArchivePathSafety {
    /// `path` with `./` prefixes and empty components removed, or an error for an unsafe path.
    public static func normalized(_ path: String) throws -> String {
        if path.hasPrefix("/") { throw ArchiveError(.unsafeEntry, "archive entry '\(path)' has an absolute path; refusing the archive") }
        var components: [Substring] = []
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            if component == "." { continue }
            if component == ".." { throw ArchiveError(.unsafeEntry, "archive entry '\(path)' climbs out with '..'; refusing the archive") }
            components.append(component)
        }
        return components.joined(separator: "/")
    }

    /// Checks a link entry on its own: a symlink's target is resolved from the entry's folder, a hard
    /// link's from the archive root; neither may leave the archive or be absolute. `ExtractionGuard`
    /// also follows the links seen before it.
    public static func checkLink(entry path: String, target: String, hard: Bool) throws {
        var guardian = ExtractionGuard()
        try guardian.check(path: path, kind: hard ? .hardlink : .symlink, linkTarget: target)
    }
}

/// Keeps entries that will be written to disk inside the target folder, following the symbolic links
/// the archive made earlier: `a -> .` then `a/b -> ../x` escapes although each link alone looks inside,
/// and `dir -> /etc` then `dir/passwd` would write through the link.
public struct ExtractionGuard: Sendable {
    /// Symbolic links seen so far: entry path -> target.
    private var links: [String: String] = [:]

    public init() {}

    /// Checks one entry (its path already normalised) and remembers it if it is a symbolic link.
    public mutating func check(path: String, kind: TarEntry.Kind, linkTarget: String?) throws {
        let folder = Array(path.split(separator: "/").dropLast()).map(String.init)
        // The folder the entry lands in, after the links it passes through.
        let landing = try resolve(folder, from: [], entry: path, target: nil)
        switch kind {
        case .symlink:
            let target = linkTarget ?? ""
            if target.hasPrefix("/") {
                throw ArchiveError(.unsafeEntry, "archive entry '\(path)' links to the absolute path '\(target)'; refusing the archive")
            }
            _ = try resolve(target.split(separator: "/").map(String.init), from: landing, entry: path, target: target)
            links[path] = target
        case .hardlink:
            let target = linkTarget ?? ""
            if target.hasPrefix("/") {
                throw ArchiveError(.unsafeEntry, "archive entry '\(path)' links to the absolute path '\(target)'; refusing the archive")
            }
            _ = try resolve(target.split(separator: "/").map(String.init), from: [], entry: path, target: target)
        default:
            links[path] = nil  // A later entry of the same name replaces a link.
        }
    }

    /// Walks `components` from `start`, following remembered links (at most 40, as the kernel does);
    /// throws when the walk climbs above the root or meets an absolute link.
    private func resolve(_ components: [String], from start: [String], entry: String, target: String?) throws -> [String] {
        var stack = start
        var pending = components[...]
        var hops = 0
        func escape() -> ArchiveError {
            if let target {
                return ArchiveError(.unsafeEntry, "archive entry '\(entry)' links to '\(target)', outside the archive; refusing the archive")
            }
            return ArchiveError(.unsafeEntry, "archive entry '\(entry)' is written through a link that leaves the archive; refusing the archive")
        }
        while let component = pending.popFirst() {
            if component.isEmpty || component == "." { continue }
            if component == ".." {
                guard !stack.isEmpty else { throw escape() }
                stack.removeLast()
                continue
            }
            let candidate = (stack + [component]).joined(separator: "/")
            guard let link = links[candidate] else {
                stack.append(component)
                continue
            }
            hops += 1
            if hops > 40 { throw ArchiveError(.unsafeEntry, "archive entry '\(entry)' passes through a loop of links; refusing the archive") }
            if link.hasPrefix("/") { throw escape() }
            pending = (link.split(separator: "/").map(String.init) + pending)[...]
        }
        return stack
    }
}

/// Reads a tar stream (any compression libarchive knows), checking every entry's path and links for
/// what the entries are read for (`ArchiveReadPurpose`).
///
/// One final class owns the `struct archive *`; libarchive's own message is carried in every error.
public final class TarReader {
    private let archive: OpaquePointer
    private let source: String
    private var entry: OpaquePointer?
    private let purpose: ArchiveReadPurpose
    private var extraction = ExtractionGuard()
    /// Keeps a pull callback alive while libarchive holds a pointer to it.
    private var pull: PullBox?

    final class PullBox {
        let read: (UnsafeMutableRawBufferPointer) throws -> Int
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        var failure: Error?

        init(read: @escaping (UnsafeMutableRawBufferPointer) throws -> Int) { self.read = read }
        deinit { buffer.deallocate() }
    }

    /// Reads the archive file at `path`.
    public convenience init(path: String, purpose: ArchiveReadPurpose = .extract) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ArchiveError(.io, "cannot read \(path): \(String(cString: strerror(errno)))") }
        try self.init(fd: fd, source: path, closing: true, purpose: purpose)
    }

    private var ownedFD: Int32 = -1

    /// Reads from an open descriptor (a file or a pipe).
    public init(fd: Int32, source: String, closing: Bool = false, purpose: ArchiveReadPurpose = .extract) throws {
        guard let archive = archive_read_new() else { throw ArchiveError(.library, "libarchive could not allocate a reader") }
        self.archive = archive
        self.source = source
        self.purpose = purpose
        if closing { ownedFD = fd }
        archive_read_support_format_tar(archive)
        archive_read_support_filter_all(archive)
        // A throwing init of a fully initialised class still runs deinit, which frees the reader and fd.
        guard archive_read_open_fd(archive, fd, 1 << 20) == ARCHIVE_OK else {
            let message = Self.message(archive)
            throw ArchiveError(.corrupt, "\(source) is not a readable tar archive: \(message)")
        }
    }

    /// Reads what `read` supplies (for example, the data of an entry of an outer archive).
    public init(source: String, purpose: ArchiveReadPurpose = .extract, read: @escaping (UnsafeMutableRawBufferPointer) throws -> Int) throws {
        guard let archive = archive_read_new() else { throw ArchiveError(.library, "libarchive could not allocate a reader") }
        self.archive = archive
        self.source = source
        self.purpose = purpose
        let box = PullBox(read: read)
        pull = box
        archive_read_support_format_tar(archive)
        archive_read_support_filter_all(archive)
        let callback: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafeMutablePointer<UnsafeRawPointer?>?) -> Int = { _, context, out in
            let box = Unmanaged<PullBox>.fromOpaque(context!).takeUnretainedValue()
            do {
                let count = try box.read(box.buffer)
                out?.pointee = UnsafeRawPointer(box.buffer.baseAddress)
                return count
            } catch {
                box.failure = error
                return -1
            }
        }
        guard archive_read_open(archive, Unmanaged.passUnretained(box).toOpaque(), nil, callback, nil) == ARCHIVE_OK else {
            let message = Self.message(archive)
            throw ArchiveError(.corrupt, "\(source) is not a readable tar archive: \(message)")
        }
    }

    deinit {
        archive_read_free(archive)
        if ownedFD >= 0 { close(ownedFD) }
    }

    static func message(_ archive: OpaquePointer) -> String {
        archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
    }

    private func failure(_ what: String) -> ArchiveError {
        if let error = pull?.failure as? ArchiveError { return error }  // The outer archive's own verdict.
        if let error = pull?.failure { return ArchiveError(.io, "\(source): \(what): \(error)") }
        return ArchiveError(.corrupt, "\(source) is damaged or truncated (\(what): \(Self.message(archive)))")
    }

    /// The next entry, checked for the reader's purpose; nil at the end.
    public func next() throws -> TarEntry? {
        var raw: OpaquePointer?
        let result = archive_read_next_header(archive, &raw)
        if result == ARCHIVE_EOF { return nil }
        guard result == ARCHIVE_OK || result == ARCHIVE_WARN, let raw else { throw failure("reading an entry header") }
        entry = raw
        let rawPath = archive_entry_pathname(raw).map { String(cString: $0) } ?? ""
        let path = try ArchivePathSafety.normalized(rawPath)
        let type = UInt32(archive_entry_filetype(raw))
        let hardlink = archive_entry_hardlink(raw).map { String(cString: $0) }
        let symlink = archive_entry_symlink(raw).map { String(cString: $0) }
        let kind: TarEntry.Kind
        if hardlink != nil {
            kind = .hardlink
        } else if type == FileType.symlink {
            kind = .symlink
        } else if type == FileType.directory {
            kind = .directory
        } else if type == FileType.regular {
            kind = .file
        } else {
            kind = .other
        }
        switch purpose {
        case .extract:
            try extraction.check(path: path, kind: kind, linkTarget: hardlink ?? symlink)
        case .inspect:
            // A hard link names another entry of the same layer, from its root: it must be one.
            if let hardlink { _ = try ArchivePathSafety.normalized(hardlink) }
        }
        return TarEntry(path: path, kind: kind, size: archive_entry_size(raw), mode: UInt32(archive_entry_perm(raw)), linkTarget: hardlink ?? symlink)
    }

    /// Reads the current entry's data into `buffer`; 0 at its end.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = archive_read_data(archive, buffer.baseAddress, buffer.count)
        if count < 0 { throw failure("reading entry data") }
        return count
    }

    /// The current entry's data, refusing more than `limit` bytes (manifests and configs are small).
    public func readAll(limit: Int = 64 << 20) throws -> Data {
        var data = Data()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = try read(into: buffer)
            if count == 0 { return data }
            data.append(UnsafeRawBufferPointer(rebasing: buffer[0..<count]).bindMemory(to: UInt8.self))
            if data.count > limit { throw ArchiveError(.corrupt, "\(source): an entry is larger than the \(limit) bytes expected") }
        }
    }

    /// Reads the current entry's data to its end, discarding it (which also checks it is complete).
    public func skipData() throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while try read(into: buffer) > 0 {}
    }
}

/// Writes a tar stream (pax, deterministic metadata), optionally compressed, to a descriptor.
public final class TarWriter {
    private let archive: OpaquePointer
    private let destination: String
    private var closed = false
    /// Written for every entry: the build cache and image digests must not depend on who built when.
    public var modificationTime: Int = 0

    public init(fd: Int32, destination: String, compression: ArchiveCompression = .none, level: Int? = nil) throws {
        guard let archive = archive_write_new() else { throw ArchiveError(.library, "libarchive could not allocate a writer") }
        self.archive = archive
        self.destination = destination
        archive_write_set_format_pax_restricted(archive)
        addFilter(archive, compression, level: level)
        archive_write_set_bytes_in_last_block(archive, 1)
        guard archive_write_open_fd(archive, fd) == ARCHIVE_OK else {
            let message = TarReader.message(archive)
            closed = true  // deinit frees the writer; there is nothing to close.
            throw ArchiveError(.io, "cannot write an archive to \(destination): \(message)")
        }
    }

    deinit {
        if !closed { archive_write_close(archive) }
        archive_write_free(archive)
    }

    /// The bytes of a small tar that `fill` writes (held in memory: for a few files sent in a request).
    public static func data(_ fill: (TarWriter) throws -> Void) throws -> Data {
        // An unlinked temporary file, not a pipe: libarchive writes whole blocks, which a pipe nobody
        // reads yet could not take.
        var template = Array((NSTemporaryDirectory() + "/tmeops-tar-XXXXXX").utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else { throw ArchiveError(.io, "cannot make a temporary file: \(String(cString: strerror(errno)))") }
        unlink(template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        defer { Foundation.close(fd) }
        let writer = try TarWriter(fd: fd, destination: "a request body")
        try fill(writer)
        try writer.close()
        let size = lseek(fd, 0, SEEK_END)
        guard size >= 0, lseek(fd, 0, SEEK_SET) == 0 else { throw ArchiveError(.io, "cannot read back a temporary file") }
        var data = Data(count: Int(size))
        let count = data.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, Int(size)) }
        guard count == Int(size) else { throw ArchiveError(.io, "cannot read back a temporary file") }
        return data
    }

    private func check(_ result: Int32, _ what: String) throws {
        guard result == ARCHIVE_OK || result == ARCHIVE_WARN else {
            throw ArchiveError(.io, "writing \(destination): \(what): \(TarReader.message(archive))")
        }
    }

    private func header(_ path: String, type: UInt32, mode: UInt32, size: Int64, link: String? = nil, hardlink: String? = nil) throws {
        guard let entry = archive_entry_new() else { throw ArchiveError(.library, "libarchive could not allocate an entry") }
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, path)
        archive_entry_set_filetype(entry, type)
        archive_entry_set_perm(entry, mode_t(mode & 0o7777))
        archive_entry_set_size(entry, size)
        archive_entry_set_uid(entry, 0)
        archive_entry_set_gid(entry, 0)
        archive_entry_set_mtime(entry, time_t(modificationTime), 0)
        if let link { archive_entry_set_symlink(entry, link) }
        if let hardlink { archive_entry_set_hardlink(entry, hardlink) }
        try check(archive_write_header(archive, entry), "the header of \(path)")
    }

    public func addDirectory(_ path: String, mode: UInt32 = 0o755) throws {
        try header(path, type: FileType.directory, mode: mode, size: 0)
    }

    public func addSymlink(_ path: String, target: String) throws {
        try header(path, type: FileType.symlink, mode: 0o777, size: 0, link: target)
    }

    /// A hard link: `path` is another name of the file `target` (a path from the archive's root).
    public func addHardlink(_ path: String, target: String) throws {
        try header(path, type: FileType.regular, mode: 0o644, size: 0, hardlink: target)
    }

    public func addData(_ path: String, _ data: Data, mode: UInt32 = 0o644) throws {
        try header(path, type: FileType.regular, mode: mode, size: Int64(data.count))
        try data.withUnsafeBytes { raw in
            if raw.count > 0, archive_write_data(archive, raw.baseAddress, raw.count) < 0 { try check(ARCHIVE_FATAL, "the data of \(path)") }
        }
    }

    /// Adds the local file at `localPath` as `path`, streaming its content.
    public func addFile(_ path: String, from localPath: String, mode: UInt32, size: Int64) throws {
        let fd = open(localPath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ArchiveError(.io, "cannot read \(localPath): \(String(cString: strerror(errno)))") }
        defer { Foundation.close(fd) }
        try header(path, type: FileType.regular, mode: mode, size: size)
        var buffer = [UInt8](repeating: 0, count: 256 << 10)
        var remaining = size
        while remaining > 0 {
            let count = Foundation.read(fd, &buffer, min(buffer.count, Int(remaining)))
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw ArchiveError(.io, "\(localPath) changed while it was being archived") }
            guard archive_write_data(archive, buffer, count) >= 0 else {
                try check(ARCHIVE_FATAL, "the data of \(path)")
                return
            }
            remaining -= Int64(count)
        }
    }

    /// Copies the current entry of `reader` (header and data); `onData` sees the data as it passes.
    public func copyEntry(_ entry: TarEntry, from reader: TarReader, onData: (UnsafeRawBufferPointer) -> Void = { _ in }) throws {
        switch entry.kind {
        case .directory: try addDirectory(entry.path, mode: entry.mode)
        case .symlink: try addSymlink(entry.path, target: entry.linkTarget ?? "")
        case .file:
            try header(entry.path, type: FileType.regular, mode: entry.mode, size: entry.size)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
            defer { buffer.deallocate() }
            while true {
                let count = try reader.read(into: buffer)
                if count == 0 { break }
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
                onData(chunk)
                guard archive_write_data(archive, chunk.baseAddress, count) >= 0 else {
                    try check(ARCHIVE_FATAL, "the data of \(entry.path)")
                    return
                }
            }
        case .hardlink, .other:
            throw ArchiveError(.unsafeEntry, "\(entry.path): links and special files have no place in a docker-archive")
        }
    }

    /// Finishes the archive (its end blocks and the compressor's trailer).
    public func close() throws {
        guard !closed else { return }
        closed = true
        try check(archive_write_close(archive), "closing")
    }
}

/// Compresses one byte stream (a docker-archive being saved) with libarchive's filters.
public final class CompressedStreamWriter {
    private let archive: OpaquePointer
    private let destination: String
    private var closed = false

    /// Where a callback-driven writer hands its compressed bytes, and the first error the sink threw.
    private final class Sink {
        let body: (UnsafeRawBufferPointer) throws -> Void
        var error: Error?
        init(_ body: @escaping (UnsafeRawBufferPointer) throws -> Void) { self.body = body }
    }
    private let sink: Sink?

    /// The raw format with `compression`, opened by `open` (a file descriptor or a callback), one entry begun.
    private init(destination: String, compression: ArchiveCompression, level: Int?, sink: Sink?, open: (OpaquePointer) -> Int32) throws {
        guard let archive = archive_write_new() else { throw ArchiveError(.library, "libarchive could not allocate a writer") }
        self.archive = archive
        self.destination = destination
        self.sink = sink
        archive_write_set_format_raw(archive)
        addFilter(archive, compression, level: level)
        guard open(archive) == ARCHIVE_OK, let entry = archive_entry_new() else {
            closed = true
            throw ArchiveError(.io, "cannot write \(destination): \(TarReader.message(archive))")
        }
        defer { archive_entry_free(entry) }
        archive_entry_set_filetype(entry, FileType.regular)
        archive_entry_set_pathname(entry, "stream")
        guard archive_write_header(archive, entry) == ARCHIVE_OK else {
            closed = true
            throw ArchiveError(.io, "cannot write \(destination): \(TarReader.message(archive))")
        }
    }

    public convenience init(fd: Int32, destination: String, compression: ArchiveCompression, level: Int? = nil) throws {
        try self.init(destination: destination, compression: compression, level: level, sink: nil) { archive in
            // No padding after the compressed stream: a gzip reader takes trailing zeros for a damaged
            // next member (the Docker engine's load does).
            archive_write_set_bytes_in_last_block(archive, 1)
            return archive_write_open_fd(archive, fd)
        }
    }

    /// Compresses into `sink` (called with each compressed piece) instead of a file descriptor: a backup
    /// streamed to the host is compressed on the way without touching a disk here.
    public convenience init(
        destination: String, compression: ArchiveCompression, level: Int? = nil, sink: @escaping (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let box = Sink(sink)
        try self.init(destination: destination, compression: compression, level: level, sink: box) { archive in
            archive_write_set_bytes_in_last_block(archive, 1)
            return archive_write_open2(
                archive, Unmanaged.passUnretained(box).toOpaque(), nil,
                { _, client, buffer, length in
                    let box = Unmanaged<Sink>.fromOpaque(client!).takeUnretainedValue()
                    do {
                        try box.body(UnsafeRawBufferPointer(start: buffer, count: length))
                        return length
                    } catch {
                        box.error = error
                        return -1
                    }
                }, nil, nil)
        }
    }

    deinit {
        if !closed { archive_write_close(archive) }
        archive_write_free(archive)
    }

    public func write(_ data: Data) throws {
        try data.withUnsafeBytes { raw in
            guard raw.count > 0 else { return }
            if archive_write_data(archive, raw.baseAddress, raw.count) < 0 {
                if let error = sink?.error { throw error }
                throw ArchiveError(.io, "writing \(destination): \(TarReader.message(archive))")
            }
        }
    }

    public func close() throws {
        guard !closed else { return }
        closed = true
        guard archive_write_close(archive) == ARCHIVE_OK else {
            if let error = sink?.error { throw error }
            throw ArchiveError(.io, "finishing \(destination): \(TarReader.message(archive))")
        }
    }
}

import Foundation
import Logging
import TMEOpsArchive
import TMEOpsCore
import TMEOpsCrypto
import TMEOpsDocker
import TMEOpsSSH

/// A push in pieces, so that one cut off by a dropped connection resumes where it stopped.
///
/// The engine loads a docker-archive all or nothing: a connection lost at 90 % of a 300 MB first
/// delivery would otherwise mean sending all 300 MB again. Here the layers the remote lacks go in
/// layer order, in loads of about `PushPieces.pieceBytes` each. Every load but the last is a
/// *partial image*: a small config of our own whose layers are the image's first layers, untagged
/// and labelled `tmeops.partial-push=<repository>`. Once loaded, the engine keeps its layers; the next
/// push finds that chain on the remote (as it finds any image's) and sends only what follows. The
/// last load is the image itself, with its own config and tags; the partial images are removed then.
///
/// `docker save` writes layer folders sorted by name, not in layer order, so the export is kept on
/// local disk as it streams in (`LayerSpool`), and a piece goes as soon as its layers are there.
/// Each layer is found by the digest of its bytes, which is its diff ID: a piece can only carry the
/// layer it claims to.
struct PushPieces {
    /// An export that cannot go in pieces (its layer files are not the layers' own bytes); `partials`
    /// are the partial images loaded before that was found, to be removed like the others.
    struct Unavailable: Error, CustomStringConvertible {
        var reason: String
        var partials: [String] = []
        var description: String { reason }
    }

    /// The label on partial images; its value is the image's repository.
    static let label = "tmeops.partial-push"
    /// A piece closes once it holds this many bytes of layers (the last piece takes what is left).
    static let pieceBytes: UInt64 = 32 << 20

    /// A load to make: the layers `sent` (indexes into the image's diff IDs), and whether it is the
    /// image itself (the last) or a partial image of the first `upTo + 1` layers.
    struct Piece: Equatable {
        var sent: [Int]
        var upTo: Int
    }

    /// Groups layers into pieces as they arrive, in layer order: a piece closes once it holds
    /// `pieceBytes`; the rest, up to the top layer, is the last piece.
    struct Grouper {
        let top: Int
        let pieceBytes: UInt64
        private var current: [Int] = []
        private var bytes: UInt64 = 0

        init(top: Int, pieceBytes: UInt64 = PushPieces.pieceBytes) {
            self.top = top
            self.pieceBytes = pieceBytes
        }

        /// Adds layer `index` of `size` bytes; a partial piece when one is full.
        mutating func add(_ index: Int, size: UInt64) -> Piece? {
            current.append(index)
            bytes += size
            guard bytes >= pieceBytes, index < top else { return nil }
            defer { (current, bytes) = ([], 0) }
            return Piece(sent: current, upTo: index)
        }

        /// The last piece: the image itself, with the layers not sent yet.
        func last() -> Piece { Piece(sent: current, upTo: top) }
    }

    /// The pieces for the missing layers `skip..<sizes.count` (their sizes, in layer order).
    static func plan(sizes: [UInt64], skip: Int, pieceBytes: UInt64 = pieceBytes) -> [Piece] {
        var grouper = Grouper(top: sizes.count - 1, pieceBytes: pieceBytes)
        let partial = (skip..<sizes.count).compactMap { grouper.add($0, size: sizes[$0]) }
        return partial + [grouper.last()]
    }

    /// The config of a partial image: the image's first layers, nothing to run, and the label that
    /// marks it. Keys sorted, so the same layers give the same image ID on every push.
    static func partialConfig(diffIDs: ArraySlice<String>, os: String, architecture: String, repository: String) throws -> Data {
        let config: [String: Any] = [
            "architecture": architecture,
            "os": os,
            "config": ["Labels": [label: repository]],
            "rootfs": ["type": "layers", "diff_ids": Array(diffIDs)],
        ]
        return try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys])
    }

    /// Whether the temporary folder has room for the layers to send (an estimate: the whole image,
    /// plus a margin); without it the push goes in one stream, as before.
    static func hasRoom(for imageBytes: UInt64, in directory: URL) -> Bool {
        var stats = statvfs()
        guard statvfs(directory.path, &stats) == 0 else { return false }
        return UInt64(stats.f_bavail) * UInt64(stats.f_frsize) > imageBytes + (256 << 20)
    }
}

/// An image export kept on local disk as it streams in: every file of the archive is hashed; small
/// ones stay in memory, layers go to a temporary folder. Readers wait for a layer by its digest, or
/// for the end of the export (for `manifest.json`, which comes last).
final class LayerSpool: @unchecked Sendable {
    enum Stored {
        case memory(Data)
        case file(String, UInt64)

        var size: UInt64 {
            switch self {
            case .memory(let data): UInt64(data.count)
            case .file(_, let size): size
            }
        }
    }

    let directory: URL
    private let reference: String
    private let condition = NSCondition()
    private var files: [String: Stored] = [:]
    private var links: [String: String] = [:]
    private var layers: [String: Stored] = [:]
    /// Each file's digest, by its path in the export.
    private var digests: [String: String] = [:]
    private var ended = false
    private var failure: Error?
    private var abandoned = false
    private(set) var bytesRead: UInt64 = 0

    /// Starts reading `export` on a thread of its own. The layer folders of `diffIDs` below `skip` are
    /// left out when their position is known (the remote has them).
    convenience init(export: ImagePush.PendingExport, diffIDs: [String], skip: Int, logger: Logger) throws {
        try self.init(
            reference: export.reference, source: export.source, finish: { try export.finish() }, cancel: { export.cancel() }, diffIDs: diffIDs, skip: skip,
            logger: logger)
    }

    /// Reads the docker-archive `source` (an export of `reference`); `finish` is called after its end,
    /// `cancel` when reading it failed.
    init(
        reference: String, source: DescriptorSource, finish: @escaping @Sendable () throws -> Void, cancel: @escaping @Sendable () -> Void,
        diffIDs: [String], skip: Int,
        logger: Logger
    ) throws {
        self.reference = reference
        Self.removeAbandoned(in: FileManager.default.temporaryDirectory)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tmeops-push-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let thread = Thread { [self] in
            do {
                try read(source, diffIDs: diffIDs, skip: skip)
                try finish()
            } catch {
                cancel()
                condition.withLock { failure = error }
            }
            condition.withLock {
                ended = true
                condition.broadcast()
            }
            logger.debug("kept the export of \(reference) on disk (\(bytesRead) bytes read)")
        }
        thread.name = "tmeops spool of \(reference)"
        thread.start()
    }

    /// Removes the folders of pushes whose process is gone (killed before it could clean up): a
    /// folder is named `tmeops-push-<pid>-<random>`.
    static func removeAbandoned(in temporary: URL) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: temporary.path)) ?? []
        for name in names where name.hasPrefix("tmeops-push-") {
            guard let pid = Int32(name.split(separator: "-").dropFirst(2).first ?? ""), pid != getpid() else { continue }
            if kill(pid, 0) != 0, errno == ESRCH { try? FileManager.default.removeItem(at: temporary.appendingPathComponent(name)) }
        }
    }

    private func read(_ source: ByteSource, diffIDs: [String], skip: Int) throws {
        let reader = try TarReader(source: "the export of \(reference)") { buffer in
            let count = try source.read(into: buffer)
            self.condition.withLock { self.bytesRead += UInt64(count) }
            return count
        }
        let chain = LayerChain(diffIDs: diffIDs)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var number = 0
        while let entry = try reader.next() {
            if entry.kind == .symlink, let target = entry.linkTarget {
                condition.withLock { links[entry.path] = target }
                continue
            }
            guard entry.kind == .file else { continue }
            let folder = entry.path.split(separator: "/").first.map(String.init) ?? ""
            if entry.path == "\(folder)/layer.tar", skip > 0, let position = chain.position(of: folder), position < skip {
                try reader.skipData()
                continue
            }
            if condition.withLock({ abandoned }) {
                try reader.skipData()
                continue
            }
            let hasher = SHA256()
            let stored: Stored
            if entry.size <= 1 << 20 {
                let data = try reader.readAll(limit: 1 << 20)
                data.withUnsafeBytes { hasher.update($0) }
                stored = .memory(data)
                if entry.path == "\(folder)/json" { chain.record(folder, json: data) }
            } else {
                number += 1
                let path = directory.appendingPathComponent("\(number).tar").path
                let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
                guard fd >= 0 else { throw TMEOpsError("cannot write \(path): \(String(cString: strerror(errno)))") }
                defer { close(fd) }
                var size: UInt64 = 0
                while true {
                    let count = try reader.read(into: buffer)
                    if count == 0 { break }
                    let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
                    hasher.update(chunk)
                    if let code = Descriptor.writeAll(chunk, to: fd) {
                        throw TMEOpsError("cannot write \(path) (keeping the export of \(reference)): \(String(cString: strerror(code)))")
                    }
                    size += UInt64(count)
                }
                stored = .file(path, size)
            }
            let digest = "sha256:" + hasher.finishHex()
            condition.withLock {
                files[entry.path] = stored
                digests[entry.path] = digest
                if layers[digest] == nil { layers[digest] = stored }
                condition.broadcast()
            }
        }
    }

    /// The layer whose bytes hash to `diffID`, once read; `PushPieces.Unavailable` if the export ended
    /// without one (an engine with the containerd image store exports its layers compressed, so no file
    /// hashes to a diff ID: such an export goes in one stream).
    func layer(_ diffID: String) throws -> Stored {
        try condition.withLock {
            while layers[diffID] == nil, !ended { condition.wait() }
            if let stored = layers[diffID] { return stored }
            if let failure { throw failure }
            throw PushPieces.Unavailable(reason: "no file of the export of \(reference) is the layer \(diffID)")
        }
    }

    /// Waits for the whole export; its error, if reading it failed.
    func waitForEnd() throws {
        try condition.withLock {
            while !ended { condition.wait() }
            if let failure { throw failure }
        }
    }

    /// The file at `path` in the export, following symbolic links (newer engines link layer folders
    /// to `blobs/`).
    func file(_ path: String) -> Stored? {
        guard let resolved = resolve(path) else { return nil }
        return condition.withLock { files[resolved] }
    }

    /// The digest of the bytes of the file at `path` (following symbolic links), once read.
    func digest(_ path: String) -> String? {
        guard let resolved = resolve(path) else { return nil }
        return condition.withLock { digests[resolved] }
    }

    /// `path` with its symbolic links followed, when the file is there.
    private func resolve(_ path: String) -> String? {
        condition.withLock {
            var path = path
            for _ in 0..<8 {
                if files[path] != nil { return path }
                guard let target = links[path] else { return nil }
                // Relative to the link's folder; `..` resolved here (Foundation leaves it in relative paths).
                var parts = target.hasPrefix("/") ? [] : path.split(separator: "/").dropLast().map(String.init)
                for part in target.split(separator: "/") where part != "." {
                    if part == ".." { _ = parts.popLast() } else { parts.append(String(part)) }
                }
                path = parts.joined(separator: "/")
            }
            return nil
        }
    }

    /// The export as `ImageLayout` reads it (once it has been read to its end).
    var layoutFiles: ImageLayout.Files {
        ImageLayout.Files(
            data: { [self] path in
                switch file(path) {
                case .memory(let data)?: return data
                case .file(let local, let size)? where size <= 16 << 20: return FileManager.default.contents(atPath: local)
                default: return nil
                }
            },
            size: { [self] path in file(path)?.size },
            digest: { [self] path in digest(path) })
    }

    /// Stops keeping data (the rest of the export is read and dropped, so the engine's export ends),
    /// waits for the reader, and removes the temporary folder.
    func discard() {
        condition.withLock { abandoned = true }
        try? waitForEnd()
        try? FileManager.default.removeItem(at: directory)
    }
}

extension TarWriter {
    /// Adds a file kept by a `LayerSpool`.
    func add(_ path: String, _ stored: LayerSpool.Stored) throws {
        switch stored {
        case .memory(let data): try addData(path, data)
        case .file(let local, let size): try addFile(path, from: local, mode: 0o644, size: Int64(size))
        }
    }
}

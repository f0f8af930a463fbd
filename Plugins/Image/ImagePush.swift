import Foundation
import Logging
import TMEOpsArchive
import TMEOpsCore
import TMEOpsCrypto
import TMEOpsDocker
import TMEOpsHosts
import TMEOpsSSH

/// Delivers an image from one engine to another, sending only the layers the receiver lacks.
///
/// The local export (`GET /images/{name}/get`) is re-written on the fly into a thin docker-archive
/// that leaves out the layer tars the remote already has, and streamed straight into the remote
/// `POST /images/load` through SSH: no temporary file on either side. (Two or more missing layers go in
/// pieces instead, kept in a local temporary folder on their way: `PushPieces`.)
///
/// `docker save` names layer folders by v1 IDs and writes them sorted by name, not in layer order, and
/// `manifest.json` (which gives the order) comes last. Each folder's `json` comes before its
/// `layer.tar`; below the top layer, the folder's name can be recomputed from that `json` and the
/// image's chain IDs (`LegacyLayerID`), which gives its position at once. Otherwise the `json` names the
/// parent, so a position is known once the parents have been seen; a layer whose position is still
/// unknown is sent (correct, at worst some bytes more). Every layer sent
/// is hashed and checked against its diff ID from the manifest before the archive is finished, so a
/// wrong mapping can never load.
public struct ImagePush {
    public struct Report: Codable, Sendable, Equatable {
        public var image: String
        public var imageID: String
        public var layers: Int
        /// Layers the remote already had, and that were not sent.
        public var layersSkipped: Int
        public var bytesSent: UInt64
        /// The whole docker-archive's size, for comparison.
        public var imageBytes: UInt64
        public var alreadyPresent: Bool
        /// The remote refused the thin archive and got the full one.
        public var fellBack: Bool
        public var seconds: Double
        /// How the archive travelled (none, gzip, zstd); `bytesSent` counts what went over the wire.
        public var compression: String = "none"
        /// The uncompressed bytes of what was sent (the thin archive), to compare with `bytesSent`.
        public var archiveBytes: UInt64 = 0
        /// The loads it took: more than one when the missing layers went in pieces (`PushPieces`).
        public var pieces: Int = 1
        /// Of `layersSkipped`, the layers an earlier push that was cut off had left on the remote.
        public var resumedLayers: Int = 0
        /// What the remote engine names the image: the local ID when both keep images alike, else the
        /// config's digest (a classic engine) or a manifest's (a containerd one).
        public var remoteImageID: String = ""
    }

    public let local: DockerEngine
    public let remote: DockerEngine
    public let logger: Logger
    public var progress: (UInt64, UInt64) -> Void = { _, _ in }
    /// How the archive is compressed on the wire, asked only when something is to be sent (measuring
    /// the link costs a moment); `WireCompression.choose` decides.
    public var compression: () -> ArchiveCompression = { .none }
    /// The platform (`os/arch`) to take from a multi-platform image (`build.platform`); nil: the
    /// remote engine's.
    public var platform: String?
    /// Whether the remote's image gets the reference's tag. A deploy delivers the image untagged (the
    /// export is of its ID, so it carries no tag) and tags the release itself: `X:latest` on the server
    /// moves only once the release has passed its gates.
    public var tagRemote = true

    public init(local: DockerEngine, remote: DockerEngine, logger: Logger) {
        self.local = local
        self.remote = remote
        self.logger = logger
    }

    /// How many leading layers of `diffIDs` the remote already has (the longest shared layer chain).
    public static func sharedPrefix(_ diffIDs: [String], with remoteChains: [[String]]) -> Int {
        var best = 0
        for chain in remoteChains {
            var count = 0
            while count < min(chain.count, diffIDs.count), chain[count] == diffIDs[count] { count += 1 }
            best = max(best, count)
        }
        return best
    }

    /// Called once the layers to send are known, just before the remote engine is changed; a throw
    /// stops the push with nothing loaded (a deploy holds its push here until preflight has passed).
    public var beforeLoading: () throws -> Void = {}

    /// An export of the local engine, asked for ahead of need: the engine writes the whole image to a
    /// temporary folder before its first byte (0.6 s for a 160 MiB image here), so asking early hides
    /// that behind other work. Unread, it holds one engine connection, blocked on a pipe.
    public final class PendingExport: @unchecked Sendable {
        public let reference: String
        let source: DescriptorSource
        private let finishing: () throws -> Void
        private let asked = Date()

        init(reference: String, local: DockerEngine, logger: Logger) throws {
            self.reference = reference
            let asked = asked
            nonisolated(unsafe) var first = true
            (source, finishing) = try pipedArchive(name: "export of \(reference)") { fd in
                try local.exportImage(reference) { chunk in
                    if first {
                        first = false
                        logger.debug("first bytes of the export of \(reference) after \(ImagePush.elapsed(since: asked))")
                    }
                    try writeAll(chunk, to: fd)
                }
            }
        }

        private let lock = NSLock()
        private var outcome: Result<Void, Error>?

        /// Waits for the export's thread; its error, if the export failed. Later calls return the same.
        func finish() throws {
            try lock.withLock {
                if outcome == nil { outcome = Result { try finishing() } }
                return outcome!
            }.get()
        }

        /// Gives the export up (the engine sees its connection close); nothing once it has finished.
        public func cancel() { try? finish() }
    }

    public func startExport(_ reference: String) throws -> PendingExport {
        try Self.startExport(reference, from: local, logger: logger)
    }

    public static func startExport(_ reference: String, from local: DockerEngine, logger: Logger) throws -> PendingExport {
        try PendingExport(reference: reference, local: local, logger: logger)
    }

    /// Delivers `reference`; `export`, if given, is one already started for it (taken over: finished or
    /// cancelled here whatever happens).
    public func push(_ reference: String, full: Bool = false, export: PendingExport? = nil) throws -> Report {
        let started = Date()
        var export = export
        defer { export?.cancel() }
        guard let image = try local.image(reference) else { throw TMEOpsError("no image \(reference) in the Docker engine at \(local.location)") }
        // What is exported: the reference (its tag travels with it), or the bare image.
        let exportName = tagRemote ? reference : image.id
        let remoteStore = try remote.imageStore()
        // Docker 25 and later export an OCI layout even from the classic store, whose layers the one-stream
        // path below cannot tell apart: such an export goes the way a containerd one does.
        if try local.imageStore() != .classic || remoteStore != .classic || Self.exportsOCILayout(apiVersion: try local.version().apiVersion) {
            let handed = export
            export = nil
            return try pushAcrossStores(
                reference, image: image, full: full, export: handed, exportName: exportName, remoteStore: remoteStore, started: started)
        }
        let diffIDs = image.rootFS.layers ?? []
        var report = Report(
            image: reference, imageID: image.id, layers: diffIDs.count, layersSkipped: 0, bytesSent: 0, imageBytes: 0,
            alreadyPresent: false, fellBack: false, seconds: 0)
        // Partial images of this repository on the remote, left by pushes in pieces: removed once the
        // image itself is there.
        var partials: [String] = []
        if !full, try remote.image(image.id) != nil {
            // The remote has this very image: nothing travels, the reference is tagged there.
            try beforeLoading()
            if tagRemote, !image.id.hasPrefix(reference), !image.id.dropFirst(7).hasPrefix(reference) {
                let (repository, tag) = Self.split(reference)
                try remote.tagImage(image.id, repository: repository, tag: tag)
            }
            report.alreadyPresent = true
            report.layersSkipped = diffIDs.count
        } else {
            // The export starts now (if not already), while the remote is asked which layers it has.
            if export == nil { export = try startExport(exportName) }
            if !full {
                let shared = try remoteSharedPrefix(reference, diffIDs: diffIDs)
                report.layersSkipped = shared.count
                report.resumedLayers = shared.fromPartial ? shared.count : 0
                partials = shared.partials
            }
            logger.debug(
                "\(remote.location) has \(report.layersSkipped) of \(diffIDs.count) layers of \(reference) (asked in \(Self.elapsed(since: started)))")
            var wire = compression()
            try beforeLoading()
            let first = export!
            export = nil
            do {
                let sent = try send(first, image: image, skip: report.layersSkipped, compression: wire, resumable: !full)
                report.record(sent)
                partials += sent.partials
            } catch let error as DockerError where wire != .none {
                // An engine that cannot read the compressed stream (a containerd image store of Docker
                // 24, say) answers as if the archive were damaged: the same archive goes uncompressed.
                logger.warning("the remote engine refused the \(wire.rawValue) archive (\(error)); sending it uncompressed")
                wire = .none
                let sent = try send(try startExport(exportName), image: image, skip: report.layersSkipped, compression: .none, resumable: !full)
                report.record(sent)
                partials += sent.partials
            } catch let error as DockerError where report.layersSkipped > 0 {
                // A newer engine (containerd image store) may refuse archives with missing layers.
                logger.warning("the remote engine refused the thin archive (\(error)); sending the full image")
                report.fellBack = true
                report.layersSkipped = 0
                report.resumedLayers = 0
                let sent = try send(try startExport(exportName), image: image, skip: 0, compression: wire, resumable: false)
                report.record(sent)
            }
            report.compression = wire.rawValue
            logger.debug("\(reference) loaded into \(remote.location) after \(Self.elapsed(since: started))")
        }
        guard let pushed = try remote.image(tagRemote ? reference : image.id), pushed.id == image.id else {
            throw TMEOpsError("after loading, \(reference) on \(remote.location) is not \(image.id); the remote's previous images are unchanged")
        }
        removePartials(partials)
        report.remoteImageID = pushed.id
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    /// The longest layer chain of `diffIDs` the remote has, one inspect per remote image. The images of
    /// the same repository come first: a release usually shares all but its top layer with the one
    /// before it (all of them, when only its config changed). The search stops at a whole match, or at
    /// all-but-one once that repository's images are done; on a host with many images this saves a
    /// round trip per image, at the cost of at most one layer sent that an unrelated image also has.
    ///
    /// The partial images an earlier push in pieces of this repository left (`PushPieces`) come first
    /// of all: resuming from one is the point of them.
    func remoteSharedPrefix(_ reference: String, diffIDs: [String]) throws -> SharedPrefix {
        let repository = Self.split(reference).0
        let images = try remote.images().sorted { $0.created > $1.created }
        let partials = images.filter { $0.labels?[PushPieces.label] == repository }
        let (same, other) = images.filter { $0.labels?[PushPieces.label] != repository }.reduce(into: ([ImageSummary](), [ImageSummary]())) {
            if $1.repoTags?.contains(where: { $0.hasPrefix(repository + ":") }) ?? false { $0.0.append($1) } else { $0.1.append($1) }
        }
        var shared = SharedPrefix(count: 0, fromPartial: false, partials: partials.map(\.id))
        for (index, summary) in (partials + same + other).enumerated() {
            if index == partials.count + same.count, shared.count >= diffIDs.count - 1 { break }
            guard let layers = try remote.image(summary.id)?.rootFS.layers else { continue }
            let count = Self.sharedPrefix(diffIDs, with: [layers])
            if count > shared.count { (shared.count, shared.fromPartial) = (count, index < partials.count) }
            if shared.count == diffIDs.count { break }
        }
        return shared
    }

    struct SharedPrefix {
        /// Leading layers the remote has.
        var count: Int
        /// Whether the longest chain is a partial image's (an earlier push was cut off).
        var fromPartial: Bool
        /// The partial images of this repository on the remote.
        var partials: [String]
    }

    /// Removes partial images once the image they were the start of is loaded; one that cannot be
    /// removed stays (an untagged image `docker image prune` also removes), with a note in the log.
    func removePartials(_ ids: [String]) {
        for id in Set(ids) {
            do {
                try remote.removeImage(id)
            } catch let error as DockerError where error.isNotFound {
                continue
            } catch {
                logger.debug("could not remove the partial image \(id.prefix(19)) on \(remote.location): \(error)")
            }
        }
    }

    /// Whether an engine of this API version exports an OCI layout (Docker 25, API 1.44, and later).
    static func exportsOCILayout(apiVersion: String) -> Bool {
        let parts = apiVersion.split(separator: ".").compactMap { Int($0) }
        return parts.count == 2 && (parts[0], parts[1]) >= (1, 44)
    }

    /// `name:tag` → (name, tag); a reference without a tag means `latest`.
    public static func split(_ reference: String) -> (String, String) {
        if let colon = reference.lastIndex(of: ":"), !reference[colon...].contains("/") {
            return (String(reference[..<colon]), String(reference[reference.index(after: colon)...]))
        }
        return (reference, "latest")
    }

    /// ` (zstd: 120.0 MiB compressed from 300.0 MiB, 2.5x)` when the archive travelled compressed.
    public static func wireNote(_ report: Report) -> String {
        guard report.compression != "none", report.bytesSent > 0 else { return "" }
        let ratio = Double(report.archiveBytes) / Double(report.bytesSent)
        return
            " (\(report.compression): \(ProgressReporter.bytes(report.archiveBytes)) compressed to \(ProgressReporter.bytes(report.bytesSent)), \(String(format: "%.1f", ratio))x)"
    }

    /// ` (resumed: 12 layers were loaded by an earlier push that was cut off)` when this push resumed one.
    public static func resumeNote(_ report: Report) -> String {
        report.resumedLayers > 0 ? " (resumed: \(report.resumedLayers) layers were loaded by an earlier push that was cut off)" : ""
    }

    static func elapsed(since start: Date) -> String { String(format: "%.3f s", Date().timeIntervalSince(start)) }

    /// What `send` sent.
    struct Sent {
        /// Bytes on the wire.
        var wire: UInt64
        /// Bytes of the whole export read.
        var export: UInt64
        /// Bytes of the archives sent, before compression.
        var archive: UInt64
        var pieces = 1
        /// Partial images loaded on the way (`PushPieces`).
        var partials: [String] = []
    }

    /// Streams the (thin) archive, compressed as `compression` says. With `resumable`, two or more
    /// missing layers and room in the temporary folder, it goes in pieces (`PushPieces`).
    private func send(_ export: PendingExport, image: ImageDetails, skip: Int, compression: ArchiveCompression, resumable: Bool) throws -> Sent {
        let diffIDs = image.rootFS.layers ?? []
        let expectedSize = UInt64(max(image.size, 0))
        var export = export
        var partials: [String] = []
        if resumable, diffIDs.count - skip >= 2 {
            if PushPieces.hasRoom(for: expectedSize, in: FileManager.default.temporaryDirectory) {
                do {
                    return try sendInPieces(export, image: image, skip: skip, compression: compression)
                } catch let unavailable as PushPieces.Unavailable {
                    logger.info("\(unavailable.reason): \(export.reference) goes in one stream")
                    partials = unavailable.partials
                    export = try startExport(export.reference)
                }
            } else {
                logger.info(
                    "not enough room in \(FileManager.default.temporaryDirectory.path) to keep \(export.reference)'s layers for a resumable push: it goes in one stream"
                )
            }
        }
        let (sent, exportBytes, archiveBytes) = try sendStream(export, diffIDs: diffIDs, skip: skip, expectedSize: expectedSize, compression: compression)
        return Sent(wire: sent, export: exportBytes, archive: archiveBytes, partials: partials)
    }

    /// Sends the missing layers `skip...` in pieces, in layer order, each piece as soon as its layers
    /// have come out of the export: partial images first, then the image itself (`PushPieces`).
    private func sendInPieces(_ export: PendingExport, image: ImageDetails, skip: Int, compression: ArchiveCompression) throws -> Sent {
        let reference = export.reference
        let diffIDs = image.rootFS.layers ?? []
        let expected = UInt64(max(image.size, 1))
        let spool = try LayerSpool(export: export, diffIDs: diffIDs, skip: skip, logger: logger)
        defer { spool.discard() }
        let repository = Self.split(reference).0
        var grouper = PushPieces.Grouper(top: diffIDs.count - 1)
        var sent = Sent(wire: 0, export: 0, archive: 0, pieces: 0)
        for index in skip..<diffIDs.count {
            let layer: LayerSpool.Stored
            do {
                layer = try spool.layer(diffIDs[index])
            } catch var unavailable as PushPieces.Unavailable {
                unavailable.partials = sent.partials
                throw unavailable
            }
            guard let piece = grouper.add(index, size: layer.size) else { continue }
            let config = try PushPieces.partialConfig(
                diffIDs: diffIDs[0...piece.upTo], os: image.os ?? "linux", architecture: image.architecture ?? "amd64", repository: repository)
            let manifest = [DockerArchive.ManifestEntry(config: "partial.json", repoTags: nil, layers: (0...piece.upTo).map { "\($0)/layer.tar" })]
            var files: [(String, LayerSpool.Stored)] = [("partial.json", .memory(config))]
            for layer in piece.sent { files.append(("\(layer)/layer.tar", try spool.layer(diffIDs[layer]))) }
            files.append(("manifest.json", .memory(try JSONEncoder().encode(manifest))))
            try loadPiece(files, of: reference, compression: compression, expected: expected, into: &sent)
            sent.partials.append("sha256:" + SHA256.hex(SHA256.digest(config)))
            logger.debug("\(remote.location) has the first \(piece.upTo + 1) of \(diffIDs.count) layers of \(reference) (piece \(sent.pieces))")
        }
        try spool.waitForEnd()
        sent.export = spool.bytesRead
        guard case .memory(let data)? = spool.file("manifest.json"),
            let entries = try? JSONDecoder().decode([DockerArchive.ManifestEntry].self, from: data), let entry = entries.first,
            entry.layers.count == diffIDs.count, let config = spool.file(entry.config)
        else {
            throw DockerError.protocolError("the export of \(reference) has no readable manifest.json for its \(diffIDs.count) layers")
        }
        var files: [(String, LayerSpool.Stored)] = [(entry.config, config)]
        for layer in grouper.last().sent { files.append((entry.layers[layer], try spool.layer(diffIDs[layer]))) }
        files.append(("manifest.json", .memory(data)))
        try loadPiece(files, of: reference, compression: compression, expected: expected, into: &sent)
        return sent
    }

    /// Writes `files` as one docker-archive into the remote engine's load; adds what it sent to `sent`.
    func loadPiece(
        _ files: [(String, LayerSpool.Stored)], of reference: String, compression: ArchiveCompression, expected: UInt64, into sent: inout Sent
    ) throws {
        let (archive, finish) = try pipedArchive(name: "piece of \(reference)") { fd in
            let writer = try TarWriter(fd: fd, destination: "the remote engine", compression: compression, level: WireCompression.level)
            for (path, stored) in files { try writer.add(path, stored) }
            try writer.close()
        }
        let before = sent.wire
        let progress = progress
        sent.wire += try load(archive, finishing: finish, export: {}, progress: { progress(before + $0, max(before + $0, expected)) })
        sent.archive += files.reduce(0) { $0 + $1.1.size }
        sent.pieces += 1
    }

    /// Streams the (thin) archive, compressed as `compression` says; returns (bytes sent, bytes of the
    /// full export, bytes of the archive before compression).
    private func sendStream(
        _ export: PendingExport, diffIDs: [String], skip: Int, expectedSize: UInt64, compression: ArchiveCompression
    ) throws -> (UInt64, UInt64, UInt64) {
        let (reference, exported, finishExport) = (export.reference, export.source, export.finish)
        if skip == 0, compression != .none {
            // The whole export, compressed on its way: progress counts the export read.
            nonisolated(unsafe) var exportBytes: UInt64 = 0
            nonisolated(unsafe) let progress = progress
            let (compressed, finishCompressed) = try pipedArchive(name: "\(compression.rawValue) of \(reference)") { fd in
                let writer = try CompressedStreamWriter(fd: fd, destination: "the remote engine", compression: compression, level: WireCompression.level)
                var buffer = [UInt8](repeating: 0, count: 1 << 20)
                while true {
                    let count = try buffer.withUnsafeMutableBytes { try exported.read(into: $0) }
                    if count == 0 { break }
                    exportBytes += UInt64(count)
                    progress(exportBytes, max(exportBytes, expectedSize))
                    try writer.write(Data(buffer[0..<count]))
                }
                try writer.close()
            }
            let sent = try load(compressed, finishing: finishCompressed, export: finishExport)
            return (sent, exportBytes, exportBytes)
        }
        if skip == 0 {
            // Nothing to leave out: the export goes to the remote engine byte for byte, not re-written.
            let counted = CountingSource(exported) { sent in self.progress(sent, max(sent, expectedSize)) }
            do {
                try remote.loadImage(counted)
            } catch {
                try finishExport()
                throw error
            }
            try finishExport()
            return (counted.count, counted.count, counted.count)
        }
        nonisolated(unsafe) var exportBytes: UInt64 = 0
        nonisolated(unsafe) var skippedBytes: UInt64 = 0
        nonisolated(unsafe) let progress = progress
        let logger = logger
        let (thin, finishThin) = try pipedArchive(name: "thin archive of \(reference)") { fd in
            let reader = try TarReader(source: "the export of \(reference)") { buffer in
                let count = try exported.read(into: buffer)
                exportBytes += UInt64(count)
                // Progress through the export, not bytes sent: the layers left out go by in a moment.
                progress(exportBytes, max(exportBytes, expectedSize))
                return count
            }
            let writer = try TarWriter(fd: fd, destination: "the remote engine", compression: compression, level: WireCompression.level)
            let layers = LayerChain(diffIDs: diffIDs)
            while let entry = try reader.next() {
                let folder = entry.path.split(separator: "/").first.map(String.init) ?? ""
                if entry.kind == .file, entry.path == "\(folder)/json" {
                    let data = try reader.readAll(limit: 16 << 20)
                    layers.record(folder, json: data)
                    try writer.addData(entry.path, data, mode: entry.mode)
                } else if entry.kind == .file, entry.path == "\(folder)/layer.tar" {
                    // The remote has the whole image: no layer travels, whatever its position.
                    let position = skip >= diffIDs.count ? -1 : layers.position(of: folder)
                    if let position, position < skip {
                        skippedBytes += UInt64(max(0, entry.size))
                        try reader.skipData()
                        layers.skipped[folder] = position
                        continue
                    }
                    let hasher = SHA256()
                    try writer.copyEntry(entry, from: reader) { hasher.update($0) }
                    layers.sent[folder] = "sha256:" + hasher.finishHex()
                } else if entry.kind == .file, entry.path == "manifest.json" {
                    let data = try reader.readAll(limit: 16 << 20)
                    try layers.check(manifest: data, diffIDs: diffIDs, skip: skip, reference: reference)
                    try writer.addData(entry.path, data, mode: entry.mode)
                } else {
                    try writer.copyEntry(entry, from: reader)
                }
            }
            try writer.close()
            logger.debug("read the export of \(reference) to its end (\(exportBytes) bytes); the thin archive is written")
        }
        let sent = try load(thin, finishing: finishThin, export: finishExport)
        return (sent, exportBytes, exportBytes - min(skippedBytes, exportBytes))
    }

    /// Streams `archive` (written by a producer thread from the export) into the remote engine; returns
    /// the bytes sent. The producer is waited for either way: when it failed, the engine saw a cut
    /// stream, and the producer's error is the cause.
    private func load(
        _ archive: ByteSource, finishing producer: () throws -> Void, export finishExport: () throws -> Void, progress: @escaping (UInt64) -> Void = { _ in }
    ) throws -> UInt64 {
        let counted = CountingSource(archive, onProgress: progress)
        do {
            try remote.loadImage(counted)
        } catch {
            try producer()
            try? finishExport()
            throw error
        }
        try producer()
        try finishExport()
        return counted.count
    }
}

/// What the thin writer learns about an export's layer folders as they stream past.
final class LayerChain {
    /// Folder → its parent folder (nil for the base layer), from each folder's `json`.
    private var parents: [String: String?] = [:]
    private var positions: [String: Int] = [:]
    private let chainIDs: [String]
    var skipped: [String: Int] = [:]
    var sent: [String: String] = [:]

    /// `diffIDs`: the image's layers, bottom first, to recompute legacy folder names from.
    init(diffIDs: [String] = []) {
        chainIDs = LegacyLayerID.chainIDs(diffIDs)
    }

    func record(_ folder: String, json: Data) {
        let object = (try? JSONSerialization.jsonObject(with: json)) as? [String: Any]
        parents[folder] = .some(object?["parent"] as? String)
        if let position = LegacyLayerID.position(ofFolder: folder, json: json, chainIDs: chainIDs) { positions[folder] = position }
    }

    /// The folder's index in the layer order, once it and all its parents have been seen.
    func position(of folder: String) -> Int? {
        if let known = positions[folder] { return known }
        guard let entry = parents[folder] else { return nil }
        guard let parent = entry else {
            positions[folder] = 0
            return 0
        }
        guard let below = position(of: parent) else { return nil }
        positions[folder] = below + 1
        return below + 1
    }

    /// Checks, against the manifest's layer order, that every layer sent is the diff ID it must be and
    /// every layer left out is one the remote has.
    func check(manifest data: Data, diffIDs: [String], skip: Int, reference: String) throws {
        guard let entries = try? JSONDecoder().decode([DockerArchive.ManifestEntry].self, from: data), let image = entries.first else {
            throw DockerError.protocolError("the export of \(reference) has an unreadable manifest.json")
        }
        for (index, path) in image.layers.enumerated() {
            let folder = path.split(separator: "/").first.map(String.init) ?? path
            if let digest = sent[folder], index >= diffIDs.count || digest != diffIDs[index] {
                throw DockerError.protocolError(
                    "layer \(index + 1) of the export of \(reference) is \(digest), not \(index < diffIDs.count ? diffIDs[index] : "expected")")
            }
            if skipped[folder] != nil, index >= skip {
                throw DockerError.protocolError("layer \(index + 1) of \(reference) was left out, but the remote does not have it")
            }
        }
    }
}

/// Counts (and reports) the bytes pulled through it.
final class CountingSource: ByteSource {
    private let inner: ByteSource
    private let onProgress: (UInt64) -> Void
    private(set) var count: UInt64 = 0

    init(_ inner: ByteSource, onProgress: @escaping (UInt64) -> Void) {
        self.inner = inner
        self.onProgress = onProgress
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let read = try inner.read(into: buffer)
        count += UInt64(read)
        onProgress(count)
        return read
    }
}

/// Writes all of `data` to a descriptor (a pipe).
func writeAll(_ data: Data, to fd: Int32) throws {
    if let code = data.withUnsafeBytes({ Descriptor.writeAll($0, to: fd) }) {
        throw TMEOpsError("writing to a pipe: \(String(cString: strerror(code)))")
    }
}

extension ImagePush.Report {
    /// Takes the counts of what `send` sent.
    mutating func record(_ sent: ImagePush.Sent) {
        (bytesSent, imageBytes, archiveBytes, pieces) = (sent.wire, sent.export, sent.archive, sent.pieces)
    }
}

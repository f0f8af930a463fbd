import Foundation
import TMEOpsArchive
import TMEOpsCore
import TMEOpsCrypto
import TMEOpsDocker

/// A push where either engine keeps its images in containerd's image store.
///
/// Such an export is an OCI layout whose blobs come sorted by digest, and which blob is which layer is
/// known only from the manifest, at its end; a containerd engine also refuses a docker-archive that
/// leaves out a layer it has. So the export is kept on local disk (`LayerSpool`), read as an
/// `ImageLayout`, and the receiving engine gets an archive in its own store's form holding only the
/// layers it lacks: a docker-archive for a classic engine, an OCI layout for a containerd one. The
/// image is then "the same" by its config's digest and its diff IDs, and the push knows before it
/// loads anything what the receiving engine will name it (`ImageLayout.expectedID`), which is checked
/// afterwards, with the diff IDs. Compressed layers are decompressed and hashed against their diff IDs
/// before they are sent.
extension ImagePush {
    func pushAcrossStores(
        _ reference: String, image: ImageDetails, full: Bool, export pending: PendingExport?, exportName: String, remoteStore: ImageStore,
        started: Date
    ) throws -> Report {
        var pending = pending
        defer { pending?.cancel() }
        let size = UInt64(max(image.size, 0))
        let temporary = FileManager.default.temporaryDirectory
        guard PushPieces.hasRoom(for: size, in: temporary) else {
            throw TMEOpsError(
                "pushing \(reference) between engines on different image stores keeps its export in \(temporary.path) first, which lacks room for about \(ProgressReporter.bytes(size * 2)); set TMPDIR to a folder with room"
            )
        }
        let export = try pending ?? startExport(exportName)
        pending = nil
        let spool = try LayerSpool(export: export, diffIDs: [], skip: 0, logger: logger)
        defer { spool.discard() }
        try spool.waitForEnd()
        let wanted = try platform ?? remote.platform()
        let layout = try ImageLayout.read(spool.layoutFiles, reference: reference, platform: wanted)
        // The layers the local engine reports for this very image (not for another platform's).
        if image.id == layout.configDigest || image.id == layout.manifestDigest, let engine = image.rootFS.layers, engine != layout.diffIDs {
            throw DockerError.protocolError("the export of \(reference) lists other layers than its engine reports")
        }
        let kind: ImageLayout.ImageStoreKind = remoteStore == .containerd ? .containerd : .classic
        let expected = layout.expectedID(on: kind)
        var report = Report(
            image: reference, imageID: image.id, layers: layout.layers.count, layersSkipped: 0, bytesSent: 0, imageBytes: spool.bytesRead,
            alreadyPresent: false, fellBack: false, seconds: 0)
        report.remoteImageID = expected
        var partials: [String] = []
        if !full, try remote.image(expected) != nil {
            try beforeLoading()
            report.alreadyPresent = true
            report.layersSkipped = layout.layers.count
        } else {
            if !full {
                let shared = try remoteSharedPrefix(reference, diffIDs: layout.diffIDs)
                report.layersSkipped = shared.count
                report.resumedLayers = shared.fromPartial ? shared.count : 0
                partials = shared.partials
            }
            logger.debug("\(remote.location) (\(remoteStore.rawValue) store) has \(report.layersSkipped) of \(layout.layers.count) layers of \(reference)")
            try checkLayers(layout, spool: spool, from: report.layersSkipped, reference: reference)
            var wire = compression()
            try beforeLoading()
            do {
                let sent = try sendLayout(
                    layout, spool: spool, skip: report.layersSkipped, store: kind, compression: wire, resumable: !full, reference: reference)
                report.record(sent)
                partials += sent.partials
            } catch let error as DockerError where wire != .none {
                logger.warning("the remote engine refused the \(wire.rawValue) archive (\(error)); sending it uncompressed")
                wire = .none
                let sent = try sendLayout(
                    layout, spool: spool, skip: report.layersSkipped, store: kind, compression: .none, resumable: !full, reference: reference)
                report.record(sent)
                partials += sent.partials
            }
            report.compression = wire.rawValue
        }
        if tagRemote {
            let (repository, tag) = Self.split(reference)
            try remote.tagImage(expected, repository: repository, tag: tag)
        }
        guard let pushed = try remote.image(tagRemote ? reference : expected), pushed.id == expected, pushed.rootFS.layers ?? [] == layout.diffIDs
        else {
            throw TMEOpsError(
                "after loading, \(reference) on \(remote.location) is not the image sent (\(expected), config \(layout.configDigest)); the remote's previous images are unchanged"
            )
        }
        removePartials(partials)
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    /// Checks every layer that will be sent against the image's config before anything is loaded: its
    /// blob is the digest the manifest names, and (decompressed, when it is compressed) its diff ID.
    func checkLayers(_ layout: ImageLayout, spool: LayerSpool, from skip: Int, reference: String) throws {
        for (index, layer) in layout.layers.enumerated() where index >= skip {
            guard spool.file(layer.path) != nil, let digest = spool.digest(layer.path) else {
                throw DockerError.protocolError("the export of \(reference) lacks layer \(index + 1) (\(layer.path))")
            }
            guard digest == layer.digest else {
                throw DockerError.protocolError("layer \(index + 1) of the export of \(reference) is \(digest), not \(layer.digest)")
            }
            guard layer.compressed else { continue }
            let hasher = SHA256()
            try withFile(spool, layer.path) { path in try DecompressedReader.forEachChunk(of: path) { hasher.update($0) } }
            let diffID = "sha256:" + hasher.finishHex()
            guard diffID == layer.diffID else {
                throw DockerError.protocolError("layer \(index + 1) of the export of \(reference) decompresses to \(diffID), not its diff ID \(layer.diffID)")
            }
        }
    }

    /// Runs `body` with a path to the file the spool keeps at `path` (written out when it is in memory).
    private func withFile(_ spool: LayerSpool, _ path: String, _ body: (String) throws -> Void) throws {
        switch spool.file(path) {
        case .file(let local, _)?: try body(local)
        case .memory(let data)?:
            let local = spool.directory.appendingPathComponent("check-\(UUID().uuidString.prefix(8))")
            try data.write(to: local)
            defer { try? FileManager.default.removeItem(at: local) }
            try body(local.path)
        case nil: throw DockerError.protocolError("the export lacks \(path)")
        }
    }

    /// Sends the layers `skip...` of `layout`: in pieces (partial images, then the image) when
    /// `resumable` and two or more are missing, else in one archive.
    func sendLayout(
        _ layout: ImageLayout, spool: LayerSpool, skip: Int, store: ImageLayout.ImageStoreKind, compression: ArchiveCompression, resumable: Bool,
        reference: String
    ) throws -> Sent {
        var sent = Sent(wire: 0, export: spool.bytesRead, archive: 0, pieces: 0)
        // Progress counts what goes on the wire against the layers that are to go (and the config).
        let expected = UInt64(max(layout.layers[skip...].reduce(UInt64(layout.config.count)) { $0 + $1.size }, 1))
        let top = layout.layers.count - 1
        var last = Array(skip..<layout.layers.count)
        if resumable, layout.layers.count - skip >= 2 {
            var grouper = PushPieces.Grouper(top: top)
            for index in skip..<layout.layers.count {
                guard let piece = grouper.add(index, size: layout.layers[index].size) else { continue }
                let (files, id) = try archive(layout, spool: spool, partialUpTo: piece.upTo, sending: piece.sent, store: store, reference: reference)
                try loadPiece(files, of: reference, compression: compression, expected: expected, into: &sent)
                sent.partials.append(id)
                logger.debug("\(remote.location) has the first \(piece.upTo + 1) of \(layout.layers.count) layers of \(reference) (piece \(sent.pieces))")
            }
            last = grouper.last().sent
        }
        let (files, _) = try archive(layout, spool: spool, partialUpTo: nil, sending: last, store: store, reference: reference)
        try loadPiece(files, of: reference, compression: compression, expected: expected, into: &sent)
        return sent
    }

    /// The files of one archive in the receiving store's form: the image itself (`partialUpTo` nil) or
    /// a partial image of its first layers, holding the layers `sending`; and what the receiver will
    /// name the image it loads.
    func archive(
        _ layout: ImageLayout, spool: LayerSpool, partialUpTo: Int?, sending: [Int], store: ImageLayout.ImageStoreKind, reference: String
    ) throws -> ([(String, LayerSpool.Stored)], String) {
        let layers = partialUpTo.map { Array(layout.layers[0...$0]) } ?? layout.layers
        var config = layout.config
        if let upTo = partialUpTo {
            let platform = layout.platform.split(separator: "/").map(String.init)
            config = try PushPieces.partialConfig(
                diffIDs: layout.diffIDs[0...upTo], os: platform.first ?? "linux", architecture: platform.count > 1 ? platform[1] : "amd64",
                repository: Self.split(reference).0)
        }
        func stored(_ layer: ImageLayout.Layer) throws -> LayerSpool.Stored {
            guard let file = spool.file(layer.path) else { throw DockerError.protocolError("the export of \(reference) lacks \(layer.path)") }
            return file
        }
        var files: [(String, LayerSpool.Stored)] = []
        switch store {
        case .classic:
            let configPath = partialUpTo == nil ? layout.configPath : "partial.json"
            let entry: [String: Any] = [
                "Config": configPath, "RepoTags": partialUpTo == nil && tagRemote ? [reference] : NSNull(), "Layers": layers.map(\.path),
            ]
            files.append((configPath, .memory(config)))
            for index in sending { files.append((layers[index].path, try stored(layers[index]))) }
            files.append(("manifest.json", .memory(try JSONSerialization.data(withJSONObject: [entry], options: [.sortedKeys]))))
            return (files, ImageLayout.digest(config))
        case .containerd:
            let manifest =
                partialUpTo == nil
                ? layout.targetManifest : ImageLayout.manifest(configDigest: ImageLayout.digest(config), configSize: UInt64(config.count), layers: layers)
            let mediaType = partialUpTo == nil ? layout.targetManifestMediaType : ImageLayout.dockerManifest
            // A partial image, and an image delivered untagged, are loaded without a name.
            var index = ImageLayout.index(manifest: manifest, mediaType: mediaType, reference: reference)
            if partialUpTo != nil || !tagRemote {
                let object: [String: Any] = [
                    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                    "manifests": [["mediaType": mediaType, "digest": ImageLayout.digest(manifest), "size": manifest.count]],
                ]
                index = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            }
            files.append(("oci-layout", .memory(Data("{\"imageLayoutVersion\":\"1.0.0\"}".utf8))))
            files.append((Self.blobPath(ImageLayout.digest(config)), .memory(config)))
            for index in sending { files.append((Self.blobPath(layers[index].digest), try stored(layers[index]))) }
            files.append((Self.blobPath(ImageLayout.digest(manifest)), .memory(manifest)))
            files.append(("index.json", .memory(index)))
            return (files, ImageLayout.digest(manifest))
        }
    }

    static func blobPath(_ digest: String) -> String { "blobs/" + digest.replacingOccurrences(of: ":", with: "/") }
}

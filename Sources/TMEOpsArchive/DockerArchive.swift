import Foundation

/// What a docker-archive (`docker save`, `GET /images/{name}/get`) holds, read in one pass.
public struct DockerArchive: Sendable {
    /// One image of `manifest.json`.
    public struct ManifestEntry: Codable, Sendable, Equatable {
        public let config: String
        public let repoTags: [String]?
        public let layers: [String]

        public init(config: String, repoTags: [String]?, layers: [String]) {
            self.config = config
            self.repoTags = repoTags
            self.layers = layers
        }

        enum CodingKeys: String, CodingKey {
            case config = "Config"
            case repoTags = "RepoTags"
            case layers = "Layers"
        }
    }

    /// What one layer adds (its entries, links with their targets), and what it deletes (whiteouts).
    public struct LayerListing: Sendable, Equatable {
        public var entries: [TarEntry] = []
        public var whiteouts: [String] = []
        /// Folders whose lower-layer contents this layer hides (`.wh..wh..opq`).
        public var opaqueFolders: [String] = []
        public var bytes: Int64 = 0

        public init(entries: [TarEntry] = [], whiteouts: [String] = [], opaqueFolders: [String] = []) {
            self.entries = entries
            self.whiteouts = whiteouts
            self.opaqueFolders = opaqueFolders
            bytes = entries.reduce(0) { $0 + max(0, $1.size) }
        }

        /// The paths the layer adds.
        public var paths: [String] { entries.map(\.path) }
    }

    public var manifest: [ManifestEntry] = []
    /// Image configs by their path in the archive.
    public var configs: [String: Data] = [:]
    /// Layer tars by their path in the archive (listed only when asked for).
    public var layers: [String: LayerListing] = [:]
    /// Sizes of the layer tars.
    public var layerSizes: [String: Int64] = [:]

    /// Reads a docker-archive (or an OCI image layout) from `reader`; with `listLayers`, also lists every
    /// layer's content, compressed or not. Any unsafe or truncated entry, in the archive or inside a
    /// layer, fails the whole read.
    public static func read(_ reader: TarReader, listLayers: Bool) throws -> DockerArchive {
        var archive = DockerArchive()
        var index: Data?
        var blobDocuments: [String: Data] = [:]
        while let entry = try reader.next() {
            if entry.path == "manifest.json" {
                archive.manifest = try decode([ManifestEntry].self, reader.readAll(limit: 16 << 20), what: "manifest.json")
            } else if entry.path == "index.json" {
                index = try reader.readAll(limit: 16 << 20)
            } else if entry.kind == .file, entry.path.hasSuffix(".json"), entry.path != "repositories" {
                archive.configs[entry.path] = try reader.readAll(limit: 16 << 20)
            } else if entry.kind == .file, entry.path.hasPrefix("blobs/"), entry.size < 4 << 20 {
                // An OCI blob: a small one may be a manifest or config (JSON) or a small layer.
                let data = try reader.readAll(limit: 4 << 20)
                if data.first == UInt8(ascii: "{") {
                    blobDocuments[entry.path] = data
                } else {
                    archive.layerSizes[entry.path] = entry.size
                    if listLayers {
                        var offset = 0
                        archive.layers[entry.path] = try listLayer(entry.path) { buffer in
                            let count = min(buffer.count, data.count - offset)
                            data.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: count) }
                            offset += count
                            return count
                        }
                    }
                }
            } else if entry.kind == .file, entry.path.hasSuffix("layer.tar") || entry.path.hasPrefix("blobs/") {
                archive.layerSizes[entry.path] = entry.size
                if listLayers {
                    archive.layers[entry.path] = try listLayer(entry.path) { buffer in try reader.read(into: buffer) }
                } else {
                    try reader.skipData()
                }
            } else {
                try reader.skipData()
            }
        }
        for (path, data) in blobDocuments { archive.configs[path] = data }
        if archive.manifest.isEmpty, let index {
            archive.manifest = try ociManifest(index: index, blobs: blobDocuments)
        }
        if archive.manifest.isEmpty {
            throw ArchiveError(.corrupt, "the archive has neither manifest.json nor index.json: it is not an image archive (or it was truncated)")
        }
        // Layers may be missing (a thin archive leaves out what the engine has); configs may not.
        for image in archive.manifest where archive.configs[image.config] == nil {
            throw ArchiveError(.corrupt, "manifest.json names config \(image.config), which the archive lacks")
        }
        return archive
    }

    /// The image of an OCI layout: `index.json` → its first image manifest → config and layer blobs.
    static func ociManifest(index: Data, blobs: [String: Data]) throws -> [ManifestEntry] {
        struct Descriptor: Decodable {
            let mediaType: String?
            let digest: String
            let annotations: [String: String]?
        }
        struct Index: Decodable { let manifests: [Descriptor] }
        struct Manifest: Decodable {
            let config: Descriptor
            let layers: [Descriptor]
        }
        func path(_ digest: String) -> String { "blobs/" + digest.replacingOccurrences(of: ":", with: "/") }
        let parsed = try decode(Index.self, index, what: "index.json")
        var images: [ManifestEntry] = []
        for descriptor in parsed.manifests {
            guard let data = blobs[path(descriptor.digest)] else {
                throw ArchiveError(.corrupt, "index.json names manifest \(descriptor.digest), which the archive lacks")
            }
            guard let manifest = try? JSONDecoder().decode(Manifest.self, from: data) else { continue }  // e.g. a nested index
            let tag = descriptor.annotations?["io.containerd.image.name"] ?? descriptor.annotations?["org.opencontainers.image.ref.name"]
            images.append(ManifestEntry(config: path(manifest.config.digest), repoTags: tag.map { [$0] }, layers: manifest.layers.map { path($0.digest) }))
        }
        return images
    }

    private static func listLayer(_ name: String, pull: @escaping (UnsafeMutableRawBufferPointer) throws -> Int) throws -> LayerListing {
        var listing = LayerListing()
        // libarchive detects gzip or zstd compression of the layer (OCI layers usually have one).
        // Its entries are only read, never written out: links keep their meaning inside the image.
        let inner = try TarReader(source: "layer \(name)", purpose: .inspect, read: pull)
        while let entry = try inner.next() {
            let base = (entry.path as NSString).lastPathComponent
            let folder = (entry.path as NSString).deletingLastPathComponent
            if base == ".wh..wh..opq" {
                listing.opaqueFolders.append(folder)
            } else if base.hasPrefix(".wh.") {
                let hidden = String(base.dropFirst(4))
                listing.whiteouts.append(folder.isEmpty ? hidden : folder + "/" + hidden)
            } else {
                listing.entries.append(entry)
                listing.bytes += max(0, entry.size)
            }
            try inner.skipData()
        }
        // The outer entry may have padding after the inner end-of-archive blocks.
        let rest = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
        defer { rest.deallocate() }
        while try pull(rest) > 0 {}
        return listing
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ data: Data, what: String) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw ArchiveError(.corrupt, "\(what) in the archive is not valid: \(error)")
        }
    }

    /// The image's final file system: layers applied in order, whiteouts honoured, links resolvable.
    public func fileSystem(of image: ManifestEntry) -> ImageFileSystem {
        ImageFileSystem(layers: image.layers.map { layers[$0] ?? LayerListing() })
    }
}

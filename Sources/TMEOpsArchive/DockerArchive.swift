import Foundation

/// What a docker-archive (`docker save`, `GET /images/{name}/get`) holds, read in one pass.
public struct DockerArchive: Sendable {
    /// One image of `manifest.json`.
    public struct ManifestEntry: Codable, Sendable, Equatable {
        public let config: String
        public let repoTags: [String]?
        public let layers: [String]

        enum CodingKeys: String, CodingKey {
            case config = "Config"
            case repoTags = "RepoTags"
            case layers = "Layers"
        }
    }

    /// The paths one layer adds, and the ones it deletes (whiteouts).
    public struct LayerListing: Sendable, Equatable {
        public var paths: [String] = []
        public var whiteouts: [String] = []
        /// Folders whose lower-layer contents this layer hides (`.wh..wh..opq`).
        public var opaqueFolders: [String] = []
        public var bytes: Int64 = 0
    }

    public var manifest: [ManifestEntry] = []
    /// Image configs by their path in the archive.
    public var configs: [String: Data] = [:]
    /// Layer tars by their path in the archive (listed only when asked for).
    public var layers: [String: LayerListing] = [:]
    /// Sizes of the layer tars.
    public var layerSizes: [String: Int64] = [:]

    /// Reads a docker-archive from `reader`; with `listLayers`, also lists every layer's content.
    /// Any unsafe or truncated entry, in the archive or inside a layer, fails the whole read.
    public static func read(_ reader: TarReader, listLayers: Bool) throws -> DockerArchive {
        var archive = DockerArchive()
        var sawIndex = false
        while let entry = try reader.next() {
            if entry.path == "manifest.json" {
                archive.manifest = try decode([ManifestEntry].self, reader.readAll(limit: 16 << 20), what: "manifest.json")
            } else if entry.path == "index.json" || entry.path == "oci-layout" {
                sawIndex = true
                try reader.skipData()
            } else if entry.kind == .file, entry.path.hasSuffix(".json"), entry.path != "repositories" {
                archive.configs[entry.path] = try reader.readAll(limit: 16 << 20)
            } else if entry.kind == .file, entry.path.hasSuffix("layer.tar") || entry.path.hasPrefix("blobs/") {
                archive.layerSizes[entry.path] = entry.size
                if listLayers {
                    archive.layers[entry.path] = try listLayer(entry.path, from: reader)
                } else {
                    try reader.skipData()
                }
            } else {
                try reader.skipData()
            }
        }
        if archive.manifest.isEmpty {
            throw ArchiveError(
                .corrupt,
                sawIndex
                    ? "this is an OCI image layout without a docker manifest.json, which tmeops does not read yet"
                    : "the archive has no manifest.json: it is not a docker-archive (or it was truncated)")
        }
        // Layers may be missing (a thin archive leaves out what the engine has); configs may not.
        for image in archive.manifest where archive.configs[image.config] == nil {
            throw ArchiveError(.corrupt, "manifest.json names config \(image.config), which the archive lacks")
        }
        return archive
    }

    private static func listLayer(_ name: String, from outer: TarReader) throws -> LayerListing {
        var listing = LayerListing()
        let inner = try TarReader(source: "layer \(name)") { buffer in try outer.read(into: buffer) }
        while let entry = try inner.next() {
            let base = (entry.path as NSString).lastPathComponent
            let folder = (entry.path as NSString).deletingLastPathComponent
            if base == ".wh..wh..opq" {
                listing.opaqueFolders.append(folder)
            } else if base.hasPrefix(".wh.") {
                let hidden = String(base.dropFirst(4))
                listing.whiteouts.append(folder.isEmpty ? hidden : folder + "/" + hidden)
            } else {
                listing.paths.append(entry.path)
                listing.bytes += max(0, entry.size)
            }
            try inner.skipData()
        }
        // The outer entry may have padding after the inner end-of-archive blocks.
        let rest = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
        defer { rest.deallocate() }
        while try outer.read(into: rest) > 0 {}
        return listing
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ data: Data, what: String) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw ArchiveError(.corrupt, "\(what) in the archive is not valid: \(error)")
        }
    }

    /// The paths present in the image's final file system: layers applied in order, whiteouts honoured.
    public func fileSystem(of image: ManifestEntry) -> Set<String> {
        var present = Set<String>()
        for layer in image.layers {
            guard let listing = layers[layer] else { continue }
            for folder in listing.opaqueFolders {
                present = present.filter { !$0.hasPrefix(folder + "/") }
            }
            for hidden in listing.whiteouts {
                present = present.filter { $0 != hidden && !$0.hasPrefix(hidden + "/") }
            }
            present.formUnion(listing.paths)
        }
        return present
    }
}

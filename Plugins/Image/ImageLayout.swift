import Foundation
import TMEOpsCore
import TMEOpsCrypto

/// One image as an engine's export describes it, whichever image store wrote the export, and the
/// archive another engine's store loads it from.
///
/// "The same image" across stores is its config's digest plus its layers' diff IDs: the classic store
/// names an image by that config digest, the containerd image store by the digest of a manifest (or of
/// an index of manifests, one per platform) above it, and it may keep the layers compressed, so a layer
/// blob's digest is not its diff ID. This type reads both kinds of export (a classic one has
/// `manifest.json` and `<folder>/layer.tar`; a containerd one is an OCI layout, `index.json` and
/// `blobs/sha256/…`, with a `manifest.json` beside it) into one description, and says what a receiving
/// engine will call the image once it has loaded the archive made for it:
/// - a classic engine loads a docker-archive (`manifest.json`, the config, the layers it lacks) and
///   names the image by the config's digest;
/// - a containerd engine loads an OCI layout (`index.json`, a manifest, the config, the layers it lacks)
///   and names the image by that manifest's digest: the export's own manifest when there is one (so
///   both engines name it alike), else one written here, always the same for the same image.
public struct ImageLayout: Equatable, Sendable {
    public struct Layer: Equatable, Sendable {
        /// The file in the export.
        public var path: String
        /// The blob's own digest and size (compressed, when it is).
        public var digest: String
        public var size: UInt64
        public var mediaType: String
        /// The digest of the layer once decompressed: what the config lists in `rootfs.diff_ids`.
        public var diffID: String

        /// Whether the blob is the plain tar (its digest is its diff ID).
        public var compressed: Bool { digest != diffID }
    }

    public var configPath: String
    public var config: Data
    public var configDigest: String
    public var layers: [Layer]
    /// The export's own manifest for this image (containerd exports), and its digest.
    public var manifest: Data?
    public var manifestDigest: String?
    public var manifestMediaType: String?
    /// `os/architecture[/variant]` from the config.
    public var platform: String

    public var diffIDs: [String] { layers.map(\.diffID) }

    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    public static let dockerLayer = "application/vnd.docker.image.rootfs.diff.tar"
    static let ociIndex = "application/vnd.oci.image.index.v1+json"
    static let dockerList = "application/vnd.docker.distribution.manifest.list.v2+json"

    /// The manifest a containerd engine is given: the export's own, or one written from the config and
    /// layers (the same bytes for the same image, so the same name on every engine that loads it).
    public var targetManifest: Data {
        if let manifest { return manifest }
        return Self.manifest(configDigest: configDigest, configSize: UInt64(config.count), layers: layers)
    }

    /// The media type of `targetManifest`.
    public var targetManifestMediaType: String { manifest == nil ? Self.dockerManifest : manifestMediaType ?? Self.dockerManifest }

    /// What an engine on `store` names this image once it has loaded the archive made for it.
    public func expectedID(on store: ImageStoreKind) -> String {
        switch store {
        case .classic: return configDigest
        case .containerd: return manifestDigest ?? Self.digest(targetManifest)
        }
    }

    /// The receiving engine's store, as the push sees it (the Docker module's `ImageStore`, without
    /// making this pure type depend on it).
    public enum ImageStoreKind: Sendable { case classic, containerd }

    public static func digest(_ data: Data) -> String { "sha256:" + SHA256.hex(SHA256.digest(data)) }

    /// A Docker image manifest (schema 2) over a config and layers, serialised with its keys in a fixed
    /// order and no spaces.
    public static func manifest(configDigest: String, configSize: UInt64, layers: [Layer]) -> Data {
        func descriptor(_ mediaType: String, _ digest: String, _ size: UInt64) -> String {
            "{\"mediaType\":\"\(mediaType)\",\"digest\":\"\(digest)\",\"size\":\(size)}"
        }
        let layerList = layers.map { descriptor($0.mediaType, $0.digest, $0.size) }.joined(separator: ",")
        return Data(
            ("{\"schemaVersion\":2,\"mediaType\":\"\(dockerManifest)\",\"config\":\(descriptor(dockerConfig, configDigest, configSize)),"
                + "\"layers\":[\(layerList)]}").utf8)
    }

    /// `index.json` of an OCI layout holding one image under `reference`.
    public static func index(manifest: Data, mediaType: String, reference: String) -> Data {
        let (repository, tag) = ImagePush.split(reference)
        let object: [String: Any] = [
            "schemaVersion": 2, "mediaType": ociIndex,
            "manifests": [
                [
                    "mediaType": mediaType, "digest": digest(manifest), "size": manifest.count,
                    "annotations": ["io.containerd.image.name": "\(fullName(repository)):\(tag)", "org.opencontainers.image.ref.name": tag],
                ]
            ],
        ]
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    }

    /// A repository as containerd names it: `app` → `docker.io/library/app`, `team/app` →
    /// `docker.io/team/app`, `registry.example:5000/app` unchanged.
    static func fullName(_ repository: String) -> String {
        let parts = repository.split(separator: "/", maxSplits: 1)
        if parts.count == 2, parts[0].contains(".") || parts[0].contains(":") || parts[0] == "localhost" { return repository }
        return parts.count == 1 ? "docker.io/library/\(repository)" : "docker.io/\(repository)"
    }

    // MARK: Reading an export

    /// What reading an export needs: a small file's bytes, and any file's size (nil when absent).
    public struct Files {
        public var data: (String) -> Data?
        public var size: (String) -> UInt64?
        /// The digest of a file's bytes as stored.
        public var digest: (String) -> String?

        public init(data: @escaping (String) -> Data?, size: @escaping (String) -> UInt64?, digest: @escaping (String) -> String?) {
            self.data = data
            self.size = size
            self.digest = digest
        }
    }

    /// The image of an export: through its OCI index when it has one (choosing `platform`'s manifest in
    /// a multi-platform index), else through `manifest.json`. `reference` picks among several images.
    public static func read(_ files: Files, reference: String, platform: String?) throws -> ImageLayout {
        if let index = files.data("index.json") {
            return try readOCI(files, index: index, reference: reference, platform: platform)
        }
        guard let data = files.data("manifest.json"),
            let entries = try? JSONDecoder().decode([ManifestEntry].self, from: data), !entries.isEmpty
        else {
            throw TMEOpsError("the export of \(reference) has neither index.json nor a readable manifest.json")
        }
        let entry = entries.first { $0.repoTags?.contains(reference) ?? false } ?? entries[0]
        guard let config = files.data(entry.config) else { throw TMEOpsError("the export of \(reference) lacks its config \(entry.config)") }
        let diffIDs = try Self.diffIDs(config, reference: reference)
        guard diffIDs.count == entry.layers.count else {
            throw TMEOpsError("the export of \(reference) lists \(entry.layers.count) layers for a config of \(diffIDs.count)")
        }
        var layers: [Layer] = []
        for (path, diffID) in zip(entry.layers, diffIDs) {
            guard let size = files.size(path), let digest = files.digest(path) else {
                throw TMEOpsError("the export of \(reference) lacks its layer \(path)")
            }
            // A classic export's layer is the plain tar; an OCI layout's blob is named by its digest and
            // may be compressed (its media type is then only known from a manifest: gzip is what a
            // containerd engine writes, and every engine that reads docker-archives decompresses it).
            let mediaType = digest == diffID ? dockerLayer : dockerLayer + ".gzip"
            layers.append(Layer(path: path, digest: digest, size: size, mediaType: mediaType, diffID: diffID))
        }
        return ImageLayout(
            configPath: entry.config, config: config, configDigest: digest(config), layers: layers, manifest: nil, manifestDigest: nil,
            manifestMediaType: nil, platform: try Self.platform(ofConfig: config))
    }

    struct ManifestEntry: Decodable {
        var config: String
        var repoTags: [String]?
        var layers: [String]

        enum CodingKeys: String, CodingKey {
            case config = "Config"
            case repoTags = "RepoTags"
            case layers = "Layers"
        }
    }

    struct Descriptor: Decodable {
        var mediaType: String?
        var digest: String
        var size: UInt64?
        var annotations: [String: String]?
        var platform: Platform?

        var path: String { "blobs/" + digest.replacingOccurrences(of: ":", with: "/") }
    }

    struct Platform: Decodable {
        var os: String
        var architecture: String
        var variant: String?

        var name: String { [os, architecture, variant].compactMap { $0 }.joined(separator: "/") }
    }

    struct Index: Decodable {
        var mediaType: String?
        var manifests: [Descriptor]
    }

    struct Manifest: Decodable {
        var mediaType: String?
        var config: Descriptor
        var layers: [Descriptor]
    }

    static func readOCI(_ files: Files, index data: Data, reference: String, platform: String?) throws -> ImageLayout {
        guard let index = try? JSONDecoder().decode(Index.self, from: data), !index.manifests.isEmpty else {
            throw TMEOpsError("the export of \(reference) has an unreadable index.json")
        }
        let (repository, tag) = ImagePush.split(reference)
        let names = [reference, "\(fullName(repository)):\(tag)"]
        var descriptor =
            index.manifests.first { names.contains($0.annotations?["io.containerd.image.name"] ?? "") } ?? index.manifests[0]
        // A multi-platform index (nested, as containerd exports it) resolves to one platform's manifest.
        for _ in 0..<4 {
            guard let blob = files.data(descriptor.path) else {
                throw TMEOpsError("the export of \(reference) lacks \(descriptor.path) (\(descriptor.mediaType ?? "a manifest"))")
            }
            let object = (try? JSONSerialization.jsonObject(with: blob)) as? [String: Any]
            guard object?["manifests"] != nil, let nested = try? JSONDecoder().decode(Index.self, from: blob) else {
                return try layout(files, manifestBlob: blob, descriptor: descriptor, reference: reference)
            }
            descriptor = try choose(nested.manifests, platform: platform, reference: reference) { files.data($0.path) != nil }
        }
        throw TMEOpsError("the export of \(reference) nests its indexes too deep")
    }

    /// The manifest of `platform` in a multi-platform index: the exact platform, else (no variant asked)
    /// the first of its OS and architecture; only manifests whose content the export holds. A platform
    /// that is not there is an error naming those that are.
    static func choose(
        _ manifests: [Descriptor], platform wanted: String?, reference: String, present: (Descriptor) -> Bool
    ) throws -> Descriptor {
        // Attestations (buildx's provenance, `unknown/unknown`) are not images to run.
        let images = manifests.filter { $0.platform.map { $0.os != "unknown" && $0.architecture != "unknown" } ?? true }
        let named = images.map { $0.platform?.name ?? "?" }
        guard let wanted else {
            if images.count == 1, present(images[0]) { return images[0] }
            throw TMEOpsError(
                "\(reference) is a multi-platform image (\(named.joined(separator: ", "))): set build.platform to the one the servers run")
        }
        let parts = wanted.split(separator: "/").map(String.init)
        let matches = images.filter { descriptor in
            guard let platform = descriptor.platform, parts.count >= 2, platform.os == parts[0], platform.architecture == parts[1] else { return false }
            return parts.count < 3 || platform.variant == parts[2]
        }
        if let found = matches.first(where: present) { return found }
        let held = images.filter(present).map { $0.platform?.name ?? "?" }
        throw TMEOpsError(
            matches.isEmpty
                ? "\(reference) has no image for \(wanted); its platforms: \(named.joined(separator: ", "))"
                : "\(reference) lists \(wanted), but this engine holds only the content of \(held.isEmpty ? "none of its platforms" : held.joined(separator: ", "))"
        )
    }

    static func layout(_ files: Files, manifestBlob: Data, descriptor: Descriptor, reference: String) throws -> ImageLayout {
        guard let manifest = try? JSONDecoder().decode(Manifest.self, from: manifestBlob) else {
            throw TMEOpsError("the export of \(reference) has an unreadable manifest \(descriptor.digest)")
        }
        guard let config = files.data(manifest.config.path) else { throw TMEOpsError("the export of \(reference) lacks its config \(manifest.config.digest)") }
        guard digest(config) == manifest.config.digest else {
            throw TMEOpsError("the config of \(reference) in its export is \(digest(config)), not \(manifest.config.digest) as its manifest says")
        }
        let diffIDs = try Self.diffIDs(config, reference: reference)
        guard diffIDs.count == manifest.layers.count else {
            throw TMEOpsError("the manifest of \(reference) lists \(manifest.layers.count) layers for a config of \(diffIDs.count)")
        }
        let layers = zip(manifest.layers, diffIDs).map { blob, diffID in
            Layer(
                path: blob.path, digest: blob.digest, size: blob.size ?? files.size(blob.path) ?? 0, mediaType: blob.mediaType ?? dockerLayer,
                diffID: diffID)
        }
        return ImageLayout(
            configPath: manifest.config.path, config: config, configDigest: manifest.config.digest, layers: layers, manifest: manifestBlob,
            manifestDigest: digest(manifestBlob), manifestMediaType: descriptor.mediaType ?? manifest.mediaType ?? "application/vnd.oci.image.manifest.v1+json",
            platform: try Self.platform(ofConfig: config))
    }

    static func diffIDs(_ config: Data, reference: String) throws -> [String] {
        let object = (try? JSONSerialization.jsonObject(with: config)) as? [String: Any]
        guard let rootfs = object?["rootfs"] as? [String: Any], let ids = rootfs["diff_ids"] as? [String] else {
            throw TMEOpsError("the config of \(reference) lists no rootfs.diff_ids")
        }
        return ids
    }

    static func platform(ofConfig config: Data) throws -> String {
        let object = (try? JSONSerialization.jsonObject(with: config)) as? [String: Any]
        return [object?["os"] as? String ?? "linux", object?["architecture"] as? String ?? "amd64", object?["variant"] as? String]
            .compactMap { $0 }.joined(separator: "/")
    }
}

import TMEOpsCore

/// `transfer`: how bytes travel to and from the hosts (image delivery, file transfers, backup downloads).
public struct TransferConfig: ConfigSection, Equatable {
    public static let key = "transfer"
    public static let scope = ConfigScope.root
    public static let summary = "How images and files travel to and from the hosts: compression on the wire."

    /// `auto` compresses when the link is slower than the compressor (measured) and, for files, when a
    /// sample of the file shrinks; `none` never; `gzip` and `zstd` always (zstd only for images, where the
    /// host's engine can read it, else gzip).
    public enum Compression: String, Codable, Sendable, CaseIterable {
        case auto, none, gzip, zstd
    }

    public var compression: Compression

    enum CodingKeys: String, CodingKey, CaseIterable {
        case compression
    }

    public init(compression: Compression = .auto) { self.compression = compression }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let text = try c.decode(.compression, default: Compression.auto.rawValue)
        guard let compression = Compression(rawValue: text) else {
            throw c.invalid(.compression, "'\(text)' is not one of auto, none, gzip, zstd")
        }
        self.compression = compression
    }
}

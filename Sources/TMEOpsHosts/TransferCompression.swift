import Foundation
import Logging
import TMEOpsArchive
import TMEOpsCore
import TMEOpsSSH

extension GzipStream: StreamCoder {}

extension WireEncoding {
    /// gzip at its fastest level both ways: every server has `gzip`, and level 1 compresses text
    /// nearly as well as the default at several times the speed.
    public static let gzip = gzip(level: 1)

    /// gzip at `level` (1 to 9) both ways.
    public static func gzip(level: Int32) -> WireEncoding {
        WireEncoding(
            name: "gzip", serverDecoder: "gzip -dc", serverEncoder: "gzip -\(level) -c", makeEncoder: { try GzipStream(.compress(level: level)) },
            makeDecoder: { try GzipStream(.decompress) })
    }
}

/// Whether a file transfer (`transfer put/get`, a backup's download) is compressed on the wire, as
/// `transfer.compression` says. Files travel as gzip whatever the setting names (`zstd` is for image
/// delivery, where the engine decodes; a server's `gzip` is always there).
public enum TransferCompression {
    /// Below this size a measurement's round trips cost more than compression could save.
    public static let minimumSize: UInt64 = 4 << 20

    /// What a sample of the data tells: compressed size over size, and the compressor's rate on it.
    public struct Sample: Sendable, Equatable {
        public var ratio: Double
        public var bytesPerSecond: Double

        public init(ratio: Double, bytesPerSecond: Double) {
            self.ratio = ratio
            self.bytesPerSecond = bytesPerSecond
        }
    }

    /// Whether to compress, given the link's rate, the sample and the file's size. Compressed, a byte of
    /// the file costs its compression plus `ratio` of a byte on the link (counted one after the other, as
    /// the compressor and the encryption share a thread); it pays when that beats the link by a tenth. An
    /// incompressible file, or a link as fast as the compressor, travels as it is.
    public static func decide(
        _ setting: TransferConfig.Compression, size: UInt64, sample: Sample?, linkBytesPerSecond: Double?
    ) -> Bool {
        switch setting {
        case .none: return false
        case .gzip, .zstd: return true
        case .auto:
            guard size >= minimumSize, let sample, let link = linkBytesPerSecond else { return false }
            let compressed = 1 / (1 / max(sample.bytesPerSecond, 1) + sample.ratio / max(link, 1))
            return compressed > link * 1.1
        }
    }

    /// The gzip level, once compressing pays: the default level (6) when the link is slow enough that
    /// its smaller output arrives sooner than level 1's while the compressor keeps ahead of the link (the
    /// two overlap: a byte's cost is the slower of compressing it and sending what is left of it), else 1.
    public static func level(fast: Sample, strong: Sample, linkBytesPerSecond link: Double) -> Int32 {
        func cost(_ sample: Sample) -> Double { max(1 / max(sample.bytesPerSecond, 1), sample.ratio / max(link, 1)) }
        return cost(strong) < cost(fast) * 0.95 ? 6 : 1
    }

    /// Gzip at `level` of up to four 1 MiB pieces spread over `data`'s length, read by `piece(offset, length)`.
    static func sample(size: UInt64, level: Int32 = 1, piece: (UInt64, Int) throws -> Data) rethrows -> Sample? {
        guard size > 0 else { return nil }
        let length = Int(min(UInt64(1 << 20), size))
        let offsets = Set((0..<4).map { UInt64($0) * (size / 4) }.map { min($0, size - UInt64(length)) })
        var taken = 0
        var produced = 0
        var seconds = 0.0
        for offset in offsets.sorted() {
            let data = try piece(offset, length)
            guard let stream = try? GzipStream(.compress(level: level)) else { return nil }
            let started = Date()
            data.withUnsafeBytes { bytes in try? stream.process(bytes) { produced += $0.count } }
            try? stream.finish { produced += $0.count }
            seconds += Date().timeIntervalSince(started)
            taken += data.count
        }
        guard taken > 0 else { return nil }
        return Sample(ratio: Double(produced) / Double(taken), bytesPerSecond: Double(taken) / max(seconds, 1e-6))
    }

    /// A sample of local file `path` at gzip `level`.
    public static func sample(localFile path: String, level: Int32 = 1) -> Sample? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let size = try? handle.seekToEnd() else { return nil }
        return try? sample(size: size, level: level) { offset, length in
            try handle.seek(toOffset: offset)
            return try handle.read(upToCount: length) ?? Data()
        }
    }

    /// The encoding for uploading local file `path` to `session`'s host (nil: as it is); auto's
    /// measurements are logged at debug level.
    public static func forUpload(_ setting: TransferConfig.Compression, file path: String, session: SSHSession, logger: Logger) -> WireEncoding? {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)??.uint64Value ?? 0
        return choose(setting, size: size, session: session, upload: true, logger: logger) { sample(localFile: path, level: $0) }
    }

    /// The encoding for downloading `remote` from `session`'s host of `size` bytes. Its sample is one
    /// piece read on the server (one exec round trip); the rate is this machine's gzip on it.
    public static func forDownload(_ setting: TransferConfig.Compression, remote: String, size: UInt64, session: SSHSession, logger: Logger)
        -> WireEncoding?
    {
        var piece: Data?
        return choose(setting, size: size, session: session, upload: false, logger: logger) { level in
            if piece == nil {
                let output = try? session.capture(["head", "-c", String(1 << 20), "--", remote])
                piece = output?.exit.succeeded == true ? output?.stdout : Data()
            }
            guard let data = piece, !data.isEmpty else { return nil }
            return sample(size: UInt64(data.count), level: level) { _, _ in data }
        }
    }

    static func choose(
        _ setting: TransferConfig.Compression, size: UInt64, session: SSHSession, upload: Bool, logger: Logger, sample: (Int32) -> Sample?
    ) -> WireEncoding? {
        if setting != .auto { return decide(setting, size: size, sample: nil, linkBytesPerSecond: nil) ? .gzip : nil }
        guard size >= minimumSize else { return nil }
        let measured = sample(1)
        // Data that does not shrink needs no link measurement.
        let link = measured.flatMap { $0.ratio < 0.9 ? try? session.measureLinkRate(upload: upload) : nil }
        let compress = decide(.auto, size: size, sample: measured, linkBytesPerSecond: link)
        var chosen: Int32 = 1
        if compress, let measured, let link, let strong = sample(6) {
            chosen = level(fast: measured, strong: strong, linkBytesPerSecond: link)
        }
        logger.debug(
            "transfer.compression auto: gzip -1 makes a sample \(measured.map { String(format: "%.0f%%", $0.ratio * 100) } ?? "?") of its size at \(measured.map { ProgressReporter.bytes(UInt64($0.bytesPerSecond)) } ?? "?")/s; link \(link.map { ProgressReporter.bytes(UInt64($0)) + "/s" } ?? "not measured"): \(compress ? "gzip -\(chosen)" : "none")"
        )
        return compress ? .gzip(level: chosen) : nil
    }
}

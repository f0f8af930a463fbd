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

    /// zstd at `level` for uploads, where the server has `zstd` (`zstd -dc` decodes there). On a slow
    /// link its output is a fifth smaller than gzip's default level at a similar speed. Downloads stay
    /// gzip: this side decodes zstd only through libarchive's reader, which pulls rather than takes.
    public static func zstd(level: Int) -> WireEncoding {
        WireEncoding(
            name: "zstd", serverDecoder: "zstd -dc", serverEncoder: "zstd -\(level) -c", makeEncoder: { try ZstdCompressor(level: level) },
            makeDecoder: { throw TMEOpsError("tmeops does not decode zstd on the wire; downloads use gzip") })
    }
}

/// zstd compression as a ``StreamCoder``, through libarchive's raw writer (libarchive links libzstd, so
/// no binding of its own is needed): what it produces for each input is handed on at once.
final class ZstdCompressor: StreamCoder {
    private final class Produced { var data = Data() }
    private let produced = Produced()
    private let writer: CompressedStreamWriter

    init(level: Int) throws {
        let produced = self.produced
        writer = try CompressedStreamWriter(destination: "a zstd stream", compression: .zstd, level: level) { produced.data.append(contentsOf: $0) }
    }

    func process(_ input: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        try writer.write(Data(input))
        try hand(to: emit)
    }

    func finish(emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        try writer.close()
        try hand(to: emit)
    }

    private func hand(to emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard !produced.data.isEmpty else { return }
        try produced.data.withUnsafeBytes { try emit($0) }
        produced.data.removeAll(keepingCapacity: true)
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

    /// What a byte of the file costs on a link of `link` bytes a second once compressed as `sample`
    /// says: the compressor and the link overlap, so the slower of compressing it and sending what is
    /// left of it.
    static func cost(_ sample: Sample, linkBytesPerSecond link: Double) -> Double {
        max(1 / max(sample.bytesPerSecond, 1), sample.ratio / max(link, 1))
    }

    /// The gzip level, once compressing pays: the default level (6) when the link is slow enough that
    /// its smaller output arrives sooner than level 1's while the compressor keeps ahead of the link, else 1.
    public static func level(fast: Sample, strong: Sample, linkBytesPerSecond link: Double) -> Int32 {
        cheapest([(Int32(1), fast), (Int32(6), strong)], linkBytesPerSecond: link) ?? 1
    }

    /// The cheapest of `candidates` (sampled encodings) for a link of `link` bytes a second, by
    /// ``cost(_:linkBytesPerSecond:)``; the first unless another is 5% cheaper.
    public static func cheapest<T>(_ candidates: [(T, Sample)], linkBytesPerSecond link: Double) -> T? {
        guard var best = candidates.first else { return nil }
        for candidate in candidates.dropFirst()
        where cost(candidate.1, linkBytesPerSecond: link) < cost(best.1, linkBytesPerSecond: link) * 0.95 {
            best = candidate
        }
        return best.0
    }

    /// Gzip at `level` of up to four 1 MiB pieces spread over `data`'s length, read by `piece(offset, length)`.
    static func sample(size: UInt64, level: Int32 = 1, piece: (UInt64, Int) throws -> Data) rethrows -> Sample? {
        try sample(size: size, coder: { try GzipStream(.compress(level: level)) }, piece: piece)
    }

    /// `coder`'s output of up to four 1 MiB pieces spread over `data`'s length, read by `piece(offset, length)`.
    static func sample(size: UInt64, coder makeCoder: () throws -> StreamCoder, piece: (UInt64, Int) throws -> Data) rethrows -> Sample? {
        guard size > 0 else { return nil }
        let length = Int(min(UInt64(1 << 20), size))
        let offsets = Set((0..<4).map { UInt64($0) * (size / 4) }.map { min($0, size - UInt64(length)) })
        var taken = 0
        var produced = 0
        var seconds = 0.0
        for offset in offsets.sorted() {
            let data = try piece(offset, length)
            guard let stream = try? makeCoder() else { return nil }
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
        sample(localFile: path) { try GzipStream(.compress(level: level)) }
    }

    /// A sample of local file `path` through `coder`.
    static func sample(localFile path: String, coder: () throws -> StreamCoder) -> Sample? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let size = try? handle.seekToEnd() else { return nil }
        return try? sample(size: size, coder: coder) { offset, length in
            try handle.seek(toOffset: offset)
            return try handle.read(upToCount: length) ?? Data()
        }
    }

    /// The encoding for uploading local file `path` to `session`'s host (nil: as it is); auto's
    /// measurements are logged at debug level.
    public static func forUpload(_ setting: TransferConfig.Compression, file path: String, session: SSHSession, logger: Logger) -> WireEncoding? {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)??.uint64Value ?? 0
        guard let gzip = choice(setting, size: size, session: session, upload: true, logger: logger, sample: { sample(localFile: path, level: $0) })
        else { return nil }
        guard setting == .auto, let gzipSample = gzip.sample, let link = gzip.link, zstdOnServer(session) else { return gzip.encoding }
        // The server decodes zstd: its levels against the gzip chosen, on the same samples and link.
        var candidates: [(name: String, encoding: WireEncoding, sample: Sample)] = [("gzip", gzip.encoding, gzipSample)]
        for level in [3, 6, 9] {
            if let measured = sample(localFile: path, coder: { try ZstdCompressor(level: level) }) {
                candidates.append(("zstd -\(level)", .zstd(level: level), measured))
            }
        }
        let best = cheapest(candidates.map { ($0, $0.sample) }, linkBytesPerSecond: link) ?? candidates[0]
        let measured = candidates.dropFirst().map {
            "\($0.name) makes \(String(format: "%.0f%%", $0.sample.ratio * 100)) at \(ProgressReporter.bytes(UInt64($0.sample.bytesPerSecond)))/s"
        }
        logger.debug("transfer.compression auto: the server has zstd; \(measured.joined(separator: ", ")): \(best.name)")
        return best.encoding
    }

    /// Whether the server has a `zstd` program to decode with (one command through the kept runner).
    static func zstdOnServer(_ session: SSHSession) -> Bool {
        (try? session.capture(["sh", "-c", "command -v zstd"]))?.exit.succeeded ?? false
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

    /// What auto chose, with what it measured (nil where the setting needed no measurement).
    struct Choice {
        let encoding: WireEncoding
        let sample: Sample?
        let link: Double?
    }

    static func choose(
        _ setting: TransferConfig.Compression, size: UInt64, session: SSHSession, upload: Bool, logger: Logger, sample: (Int32) -> Sample?
    ) -> WireEncoding? {
        choice(setting, size: size, session: session, upload: upload, logger: logger, sample: sample)?.encoding
    }

    static func choice(
        _ setting: TransferConfig.Compression, size: UInt64, session: SSHSession, upload: Bool, logger: Logger, sample: (Int32) -> Sample?
    ) -> Choice? {
        if setting != .auto {
            return decide(setting, size: size, sample: nil, linkBytesPerSecond: nil) ? Choice(encoding: .gzip, sample: nil, link: nil) : nil
        }
        guard size >= minimumSize else { return nil }
        let measured = sample(1)
        // Data that does not shrink needs no link measurement.
        let link = measured.flatMap { $0.ratio < 0.9 ? try? session.measureLinkRate(upload: upload) : nil }
        let compress = decide(.auto, size: size, sample: measured, linkBytesPerSecond: link)
        var chosen: Int32 = 1
        var chosenSample = measured
        if compress, let measured, let link, let strong = sample(6) {
            chosen = level(fast: measured, strong: strong, linkBytesPerSecond: link)
            if chosen == 6 { chosenSample = strong }
        }
        logger.debug(
            "transfer.compression auto: gzip -1 makes a sample \(measured.map { String(format: "%.0f%%", $0.ratio * 100) } ?? "?") of its size at \(measured.map { ProgressReporter.bytes(UInt64($0.bytesPerSecond)) } ?? "?")/s; link \(link.map { ProgressReporter.bytes(UInt64($0)) + "/s" } ?? "not measured"): \(compress ? "gzip -\(chosen)" : "none")"
        )
        return compress ? Choice(encoding: .gzip(level: chosen), sample: chosenSample, link: link) : nil
    }
}

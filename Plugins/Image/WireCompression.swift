import Foundation
import Logging
import TMEOpsArchive
import TMEOpsCore
import TMEOpsCrypto
import TMEOpsDocker
import TMEOpsHosts
import TMEOpsSSH

/// Whether an image travels compressed, and how (`transfer.compression`).
///
/// An image's layers are plain tar in a docker-archive; the engine's `/images/load` reads a gzip
/// stream as well, and from Docker 23 a zstd one. Compressing pays when the link is slower than the compressor: on a 100 Mbit/s
/// uplink a `node_modules` layer shrinks three- to five-fold at hundreds of MB/s, while on a fast local
/// link the compressor would only add its own time. `auto` measures both once per host and run.
public enum WireCompression {
    /// The level used on the wire: the fastest of each format (its ratio differs little from the
    /// default's on layer tars, its speed by several times).
    public static let level = 1

    /// The choice for `setting`, given the link's and the compressor's measured rates (bytes a
    /// second; a nil link rate: not measured) and whether the receiving engine reads zstd.
    public static func decide(
        _ setting: TransferConfig.Compression, linkBytesPerSecond: Double?, compressorBytesPerSecond: Double, engineReadsZstd: Bool
    ) -> ArchiveCompression {
        let best: ArchiveCompression = engineReadsZstd ? .zstd : .gzip
        switch setting {
        case .none: return .none
        case .gzip: return .gzip
        case .zstd: return best
        case .auto:
            guard let link = linkBytesPerSecond else { return best }
            return link < compressorBytesPerSecond ? best : .none
        }
    }

    /// Whether `engine` reads zstd-compressed archives on `/images/load`: Docker 23.0 and later (20.10,
    /// Debian 12's, answers "invalid tar header"; it reads gzip).
    public static func readsZstd(_ engine: DockerEngine) -> Bool {
        guard let version = try? engine.version().version else { return false }
        return readsZstd(version: version)
    }

    static func readsZstd(version: String) -> Bool {
        guard let major = version.split(separator: ".").first.flatMap({ Int($0.prefix { $0.isNumber }) }) else { return false }
        return major >= 23
    }

    /// Bytes a second `compression` at `level` achieves here on layer-like data (half text, half
    /// random), measured once per process on 4 MiB.
    public static func compressorRate(_ compression: ArchiveCompression) -> Double {
        rates.value(compression) {
            guard compression != .none else { return .infinity }
            let sample = layerLikeSample(size: 4 << 20)
            let started = Date()
            guard let writer = try? CompressedStreamWriter(destination: "a sample", compression: compression, level: level, sink: { _ in }) else {
                return 0
            }
            try? writer.write(sample)
            try? writer.close()
            return Double(sample.count) / max(Date().timeIntervalSince(started), 1e-6)
        }
    }

    /// `size` bytes of text and random bytes in turns, as a layer of code and media would compress.
    static func layerLikeSample(size: Int) -> Data {
        let text = Data(String(repeating: "module.exports = function render(props) { return props.children; };\n", count: 64).utf8)
        let noise = RandomBytes.make(size / 2 + text.count)
        var sample = Data(capacity: size + 2 * text.count)
        var offset = 0
        while sample.count < size {
            sample.append(text)
            sample.append(noise[offset..<offset + text.count])
            offset += text.count
        }
        return sample.prefix(size)
    }

    /// The compression for an image push to `engine` through `session`, as `setting` asks; the
    /// measurements are logged at debug level.
    public static func choose(_ setting: TransferConfig.Compression, session: SSHSession?, engine: DockerEngine, logger: Logger) -> ArchiveCompression {
        guard setting != .none else { return .none }
        let zstd = readsZstd(engine)
        if setting != .auto { return decide(setting, linkBytesPerSecond: nil, compressorBytesPerSecond: 0, engineReadsZstd: zstd) }
        let candidate: ArchiveCompression = zstd ? .zstd : .gzip
        let compressor = compressorRate(candidate)
        let link = session.flatMap { try? $0.measureLinkRate(upload: true) }
        let chosen = decide(.auto, linkBytesPerSecond: link, compressorBytesPerSecond: compressor, engineReadsZstd: zstd)
        logger.debug(
            "transfer.compression auto: link \(link.map { ProgressReporter.bytes(UInt64($0)) + "/s" } ?? "not measured"), \(candidate.rawValue) \(ProgressReporter.bytes(UInt64(compressor)))/s here: \(chosen.rawValue)"
        )
        return chosen
    }

    final class Rates: @unchecked Sendable {
        private let lock = NSLock()
        private var known: [ArchiveCompression: Double] = [:]
        func value(_ key: ArchiveCompression, _ measure: () -> Double) -> Double {
            if let rate = lock.withLock({ known[key] }) { return rate }
            let rate = measure()
            lock.withLock { known[key] = rate }
            return rate
        }
    }
    static let rates = Rates()
}

import CLibCrypto
import Foundation

/// Random bytes in bulk from OpenSSL's generator (seeded by the kernel once, then fast): a measurement's
/// incompressible sample. Swift's `SystemRandomNumberGenerator` asks the kernel for every value, which
/// for a mebibyte taken byte by byte costs a good part of a second.
public enum RandomBytes {
    public static func make(_ count: Int) -> Data {
        var data = Data(count: count)
        let filled = data.withUnsafeMutableBytes { buffer -> Bool in
            guard let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), count > 0 else { return true }
            return RAND_bytes(base, Int32(count)) == 1
        }
        if !filled {
            // Not expected once OpenSSL is seeded; the kernel's generator then, eight bytes at a time.
            var generator = SystemRandomNumberGenerator()
            data = Data((0..<(count + 7) / 8).flatMap { _ in withUnsafeBytes(of: generator.next() as UInt64) { Array($0) } }.prefix(count))
        }
        return data
    }
}

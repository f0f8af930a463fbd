import CLibCrypto
import Foundation

/// Incremental SHA-256 over OpenSSL's libcrypto (already linked by libssh2 on this platform, and
/// using the CPU's SHA extensions where present), for file checksums and host-key fingerprints.
public final class SHA256: @unchecked Sendable {
    private let context: OpaquePointer

    public init() {
        guard let context = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed: out of memory") }
        self.context = context
        EVP_DigestInit_ex(context, EVP_sha256(), nil)
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        EVP_DigestUpdate(context, base, bytes.count)
    }

    public func update(_ data: Data) {
        data.withUnsafeBytes { update($0) }
    }

    /// The digest; the hasher cannot be updated afterwards.
    public func finish() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &digest, &length)
        return digest
    }

    /// Lower-case hex, as `sha256sum` prints it.
    public func finishHex() -> String { Self.hex(finish()) }

    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func digest(_ data: Data) -> [UInt8] {
        let hasher = SHA256()
        hasher.update(data)
        return hasher.finish()
    }

    /// OpenSSH's fingerprint form: `SHA256:` and unpadded base64.
    public static func fingerprint(ofKeyBlob blob: Data) -> String {
        "SHA256:" + Data(digest(blob)).base64EncodedString().replacingOccurrences(of: "=", with: "")
    }

    /// Adds a file's first `limit` bytes (all of it when nil), read in large chunks.
    public func update(contentsOfFile path: String, limit: UInt64? = nil) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
        }
        defer { try? handle.close() }
        var remaining = limit ?? .max
        while remaining > 0 {
            let chunk = try handle.read(upToCount: Int(min(remaining, 4 << 20))) ?? Data()
            if chunk.isEmpty { break }
            update(chunk)
            remaining -= UInt64(chunk.count)
        }
    }

    /// The hex SHA-256 of a file's first `limit` bytes (all of it when nil).
    public static func hexOfFile(atPath path: String, limit: UInt64? = nil) throws -> String {
        let hasher = SHA256()
        try hasher.update(contentsOfFile: path, limit: limit)
        return hasher.finishHex()
    }
}

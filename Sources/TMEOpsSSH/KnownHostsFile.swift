import CLibSSH2
import Foundation
import Logging
import TMEOpsCrypto

/// Checks a host key against an OpenSSH known_hosts file with libssh2's knownhost API.
struct KnownHostsFile {
    let path: String
    let session: OpaquePointer

    func verify(
        host: String, port: Int, key: Data, algorithm: HostKeyAlgorithm, fingerprint: String,
        policy: SSHConnectionOptions.HostKeyPolicy, logger: Logger
    ) throws {
        guard let store = libssh2_knownhost_init(session) else { throw SSHError(.library, "libssh2 could not allocate a known-hosts store") }
        defer { libssh2_knownhost_free(store) }
        let exists = FileManager.default.fileExists(atPath: path)
        if exists, libssh2_knownhost_readfile(store, path, LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0 {
            throw SSHError(.knownHosts, "cannot read known_hosts file \(path): \(lastError()); fix or remove the malformed line")
        }
        let offered = "\(algorithm.displayName) \(fingerprint)"
        var known: UnsafeMutablePointer<libssh2_knownhost>?
        let typemask = LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | algorithm.knownHostBits
        let check = key.withUnsafeBytes { raw in
            libssh2_knownhost_checkp(store, host, Int32(port), raw.baseAddress?.assumingMemoryBound(to: CChar.self), key.count, typemask, &known)
        }
        let name = port == 22 ? host : "[\(host)]:\(port)"
        switch check {
        case LIBSSH2_KNOWNHOST_CHECK_MATCH:
            return
        case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
            var knownFingerprint = "an unreadable key"
            var line = ""
            if let entry = known?.pointee {
                if let base64 = entry.key.map({ String(cString: $0) }), let blob = Data(base64Encoded: base64) {
                    knownFingerprint = SHA256.fingerprint(ofKeyBlob: blob)
                    line = locate(base64)
                }
            }
            throw SSHError(
                .changedHostKey,
                """
                HOST KEY CHANGED for \(name): it offered \(offered), but \(line.isEmpty ? path : line) records \(knownFingerprint). \
                This could be a man-in-the-middle attack; tmeops refuses to connect. If the server was re-keyed on purpose, confirm the \
                new fingerprint with its administrator, remove the old line (ssh-keygen -R '\(name)' -f \(path)) and connect again.
                """)
        case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
            // No line of this key type; a line of another type for the same host means the host offers a
            // key it was never known by: that is a changed key, under every policy (accept-new included).
            let others: [HostKeyAlgorithm] = [.ed25519, .ecdsa256, .ecdsa384, .ecdsa521, .rsa, .dss].filter { $0 != algorithm }
            for other in others {
                var entry: UnsafeMutablePointer<libssh2_knownhost>?
                let mask = LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | other.knownHostBits
                let result = key.withUnsafeBytes { raw in
                    libssh2_knownhost_checkp(store, host, Int32(port), raw.baseAddress?.assumingMemoryBound(to: CChar.self), key.count, mask, &entry)
                }
                guard result == LIBSSH2_KNOWNHOST_CHECK_MISMATCH, let record = entry?.pointee,
                    let base64 = record.key.map({ String(cString: $0) }), let blob = Data(base64Encoded: base64)
                else { continue }
                let line = locate(base64)
                throw SSHError(
                    .changedHostKey,
                    """
                    HOST KEY CHANGED for \(name): it offered \(offered), but \(line.isEmpty ? path : line) records \(other.displayName) \
                    \(SHA256.fingerprint(ofKeyBlob: blob)) for it and no \(algorithm.displayName) key. A server that suddenly offers another \
                    type of key could be a man-in-the-middle; tmeops refuses to connect. If the server changed its keys on purpose, confirm \
                    the new fingerprint with its administrator, then replace the line (ssh-keygen -R '\(name)' -f \(path)) and connect again.
                    """)
            }
            guard policy == .acceptNew else {
                throw SSHError(
                    .unknownHostKey,
                    """
                    host key of \(name) is not in \(path) (it offered \(offered)); host_key_policy is strict. Confirm the fingerprint \
                    with the server's administrator, then add it (ssh-keyscan -t \(algorithm.keyName) -p \(port) \(host) >> \(path)), \
                    or set host_key_policy: accept-new to record it on first use.
                    """)
            }
            try append(name: name, algorithm: algorithm, key: key)
            logger.notice("recorded the new host key of \(name) in \(path): \(offered)")
        default:
            throw SSHError(.knownHosts, "cannot check the host key of \(name) against \(path): \(lastError())")
        }
    }

    /// Appends one `name keytype base64` line, creating the file (0600) and its folder (0700) if needed.
    private func append(name: String, algorithm: HostKeyAlgorithm, key: Data) throws {
        let url = URL(fileURLWithPath: path)
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SSHError(.knownHosts, "cannot record the host key in \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var prefix = ""
        if let existing = try? Data(contentsOf: url), let last = existing.last, last != UInt8(ascii: "\n") { prefix = "\n" }
        let line = Array("\(prefix)\(name) \(algorithm.keyName) \(key.base64EncodedString())\n".utf8)
        guard write(fd, line, line.count) == line.count else {
            throw SSHError(.knownHosts, "cannot record the host key in \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// `path:LINE: text` of the line holding `base64`, for the changed-key message.
    private func locate(_ base64: String) -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return "" }
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where line.contains(base64) {
            return "\(path):\(index + 1) ('\(line.prefix(120))')"
        }
        return ""
    }

    private func lastError() -> String {
        var message: UnsafeMutablePointer<CChar>?
        var length: Int32 = 0
        libssh2_session_last_error(session, &message, &length, 0)
        return message.map { String(cString: $0) } ?? "unknown error"
    }
}

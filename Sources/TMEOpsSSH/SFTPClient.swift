import CLibSSH2
import Foundation

/// A remote file's metadata.
public struct RemoteFileInfo: Sendable, Equatable {
    public let size: UInt64
    public let permissions: UInt32
    public let isDirectory: Bool
    public let isRegularFile: Bool
    public let modified: Date
}

/// SFTP for metadata: stat, mkdir -p, remove, list, free space. Bulk data goes over exec streams,
/// because libssh2's SFTP writes are capped at 30000-byte packets.
public final class SFTPClient {
    let session: SSHSession
    let raw: OpaquePointer

    public init(_ session: SSHSession) throws {
        self.session = session
        raw = try session.pointer("start SFTP on \(session.options.host) (is `Subsystem sftp` configured in sshd?)", kind: .sftp) {
            libssh2_sftp_init(session.raw)
        }
    }

    deinit {
        while libssh2_sftp_shutdown(raw) == LIBSSH2_ERROR_EAGAIN {
            try? session.waitForSocket(deadline: Date().addingTimeInterval(2), what: "SFTP shutdown")
        }
    }

    /// The server's SFTP status for the last failed call (`LIBSSH2_FX_*`).
    private var status: UInt { libssh2_sftp_last_error(raw) }

    private func fail(_ what: String, _ path: String, code: Int32) -> SSHError {
        guard code == LIBSSH2_ERROR_SFTP_PROTOCOL else {
            return SSHError(.sftp, "\(what) \(path) on \(session.options.host): \(session.lastError().message)")
        }
        let reason: String
        switch status {
        case LIBSSH2_FX_NO_SUCH_FILE: reason = "no such file or folder"
        case LIBSSH2_FX_PERMISSION_DENIED: reason = "permission denied"
        case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM: reason = "no space left on the device"
        case LIBSSH2_FX_FILE_ALREADY_EXISTS: reason = "it already exists"
        default: reason = "SFTP status \(status)"
        }
        return SSHError(.sftp, "\(what) \(path) on \(session.options.host): \(reason)")
    }

    /// Runs an SFTP call, waiting out EAGAIN; returns the negative code of a failure instead of throwing.
    private func attempt(_ body: () -> Int32) throws -> Int32 {
        while true {
            let result = body()
            guard result == LIBSSH2_ERROR_EAGAIN else { return result }
            try session.waitForSocket(deadline: nil, what: "SFTP")
        }
    }

    /// Metadata of `path` (following links), or nil when it does not exist.
    public func stat(_ path: String) throws -> RemoteFileInfo? {
        var attributes = LIBSSH2_SFTP_ATTRIBUTES()
        let result = try attempt { libssh2_sftp_stat_ex(raw, path, UInt32(path.utf8.count), LIBSSH2_SFTP_STAT, &attributes) }
        if result == LIBSSH2_ERROR_SFTP_PROTOCOL, status == LIBSSH2_FX_NO_SUCH_FILE { return nil }
        guard result == 0 else { throw fail("cannot look at", path, code: result) }
        let type = attributes.permissions & UInt(LIBSSH2_SFTP_S_IFMT)
        return RemoteFileInfo(
            size: attributes.filesize, permissions: UInt32(attributes.permissions & 0o7777),
            isDirectory: type == UInt(LIBSSH2_SFTP_S_IFDIR), isRegularFile: type == UInt(LIBSSH2_SFTP_S_IFREG),
            modified: Date(timeIntervalSince1970: TimeInterval(attributes.mtime)))
    }

    /// Creates `path` and any missing parents (mode 0755 unless given).
    public func makeDirectories(_ path: String, mode: Int32 = 0o755) throws {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/\(component)"
            if let info = try stat(prefix) {
                guard info.isDirectory else { throw SSHError(.sftp, "cannot create \(path) on \(session.options.host): \(prefix) is a file") }
                continue
            }
            let result = try attempt { libssh2_sftp_mkdir_ex(raw, prefix, UInt32(prefix.utf8.count), Int(mode)) }
            if result != 0, try stat(prefix)?.isDirectory != true { throw fail("cannot create", prefix, code: result) }
        }
    }

    /// Removes a file; a missing file is not an error.
    public func remove(_ path: String) throws {
        let result = try attempt { libssh2_sftp_unlink_ex(raw, path, UInt32(path.utf8.count)) }
        if result == 0 || (result == LIBSSH2_ERROR_SFTP_PROTOCOL && status == LIBSSH2_FX_NO_SUCH_FILE) { return }
        throw fail("cannot remove", path, code: result)
    }

    /// Names in a folder, without `.` and `..`, sorted.
    public func list(_ path: String) throws -> [String] {
        let handle = try session.pointer("open folder \(path) on \(session.options.host)", kind: .sftp) {
            libssh2_sftp_open_ex(raw, path, UInt32(path.utf8.count), 0, 0, LIBSSH2_SFTP_OPENDIR)
        }
        defer { while libssh2_sftp_close_handle(handle) == LIBSSH2_ERROR_EAGAIN { try? session.waitForSocket(deadline: nil, what: "SFTP close") } }
        var names: [String] = []
        var buffer = [CChar](repeating: 0, count: 4096)
        var attributes = LIBSSH2_SFTP_ATTRIBUTES()
        while true {
            let count = try attempt { libssh2_sftp_readdir_ex(handle, &buffer, buffer.count, nil, 0, &attributes) }
            if count == 0 { break }
            guard count > 0 else { throw fail("cannot list", path, code: count) }
            let name = String(decoding: buffer[0..<Int(count)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Bytes available to an unprivileged user on the file system holding `path`.
    public func availableBytes(_ path: String) throws -> UInt64 {
        var stats = LIBSSH2_SFTP_STATVFS()
        let result = try attempt { libssh2_sftp_statvfs(raw, path, path.utf8.count, &stats) }
        guard result == 0 else { throw fail("cannot read free space of", path, code: result) }
        return stats.f_bavail * stats.f_frsize
    }
}

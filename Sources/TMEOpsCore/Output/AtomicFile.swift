import Foundation
import TMEOpsSSH

/// Writes files so that a reader sees the old content or the whole new content, never half of it.
public enum AtomicFile {
    public enum Failure: OperatorError {
        case exists(String)
        case io(String, String)

        public var exitStatus: ExitStatus { .failure }
        public var description: String {
            switch self {
            case .exists(let path): return "\(path) already exists; nothing was changed (move it aside first)"
            case .io(let path, let reason): return "cannot write \(path): \(reason)"
            }
        }
    }

    /// Writes `data` to a temporary file beside `url`, syncs it, then moves it into place.
    /// With `overwrite: false` an existing file is left untouched and ``Failure/exists(_:)`` thrown.
    public static func write(_ data: Data, to url: URL, mode: mode_t = 0o644, overwrite: Bool, displayPath: String? = nil) throws {
        let shown = displayPath ?? url.path
        let directory = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw Failure.io(shown, error.localizedDescription)
        }
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmeops-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw Failure.io(shown, String(cString: strerror(errno))) }
        var failure = data.withUnsafeBytes { Descriptor.writeAll($0, to: fd) }.map { String(cString: strerror($0)) }
        if failure == nil, fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        close(fd)
        if failure == nil, fchmodat(AT_FDCWD, temporary.path, mode, 0) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(temporary.path)
            throw Failure.io(shown, failure)
        }
        if overwrite {
            guard rename(temporary.path, url.path) == 0 else {
                let reason = String(cString: strerror(errno))
                unlink(temporary.path)
                throw Failure.io(shown, reason)
            }
        } else {
            // link() fails if the target exists, so an existing file is never replaced, even in a race.
            let result = link(temporary.path, url.path)
            let code = errno
            unlink(temporary.path)
            if result != 0 {
                if code == EEXIST { throw Failure.exists(shown) }
                throw Failure.io(shown, String(cString: strerror(code)))
            }
        }
    }
}

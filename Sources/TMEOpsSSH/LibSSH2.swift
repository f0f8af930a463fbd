import CLibSSH2
import Foundation

/// Facts about the linked libssh2, and its one-time global initialisation.
public enum LibSSH2 {
    /// The version string of the libssh2 this binary runs against, e.g. `1.10.0`.
    public static var version: String {
        guard let cString = libssh2_version(0) else { return "unknown" }
        return String(cString: cString)
    }

    /// `libssh2_init` must run once per process, before any session; a Swift global's lazy,
    /// thread-safe initialisation gives exactly that.
    private static let initialised: Int32 = {
        // A peer that goes away must surface as EPIPE from write(2), not as a signal that kills tmeops.
        signal(SIGPIPE, SIG_IGN)
        return libssh2_init(0)
    }()

    static func initialise() throws {
        guard initialised == 0 else { throw SSHError(.library, "libssh2_init failed (\(initialised)); the crypto backend could not start") }
    }
}

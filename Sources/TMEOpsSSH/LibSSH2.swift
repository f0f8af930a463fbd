import CLibSSH2

/// Facts about the linked libssh2. Issue #3 grows this module into the SSH client.
public enum LibSSH2 {
    /// The version string of the libssh2 this binary runs against, e.g. `1.10.0`.
    public static var version: String {
        guard let cString = libssh2_version(0) else { return "unknown" }
        return String(cString: cString)
    }
}

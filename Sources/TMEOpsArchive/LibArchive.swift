import CLibArchive

/// Facts about the linked libarchive (its version, for `tmeops version`).
public enum LibArchive {
    /// The libarchive version, e.g. `3.6.2`.
    public static var version: String {
        guard let cString = archive_version_string() else { return "unknown" }
        let full = String(cString: cString)  // "libarchive 3.6.2"
        return full.split(separator: " ").last.map(String.init) ?? full
    }
}

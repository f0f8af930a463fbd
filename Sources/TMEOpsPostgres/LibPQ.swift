import CLibPQ

/// Facts about the linked libpq (its version, for `tmeops version`).
public enum LibPQ {
    /// The libpq version as `major.minor`, e.g. `15.18`.
    public static var version: String {
        let number = Int(PQlibVersion())
        return "\(number / 10000).\(number % 10000)"
    }
}

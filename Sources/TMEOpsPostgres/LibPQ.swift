import CLibPQ

/// Facts about the linked libpq. Issue #5 grows this module into the PostgreSQL client.
public enum LibPQ {
    /// The libpq version as `major.minor`, e.g. `15.18`.
    public static var version: String {
        let number = Int(PQlibVersion())
        return "\(number / 10000).\(number % 10000)"
    }
}

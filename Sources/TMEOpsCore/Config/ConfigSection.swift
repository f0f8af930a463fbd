/// Where a section sits in `tmeops.yml`.
public enum ConfigScope: String, Sendable {
    /// A top-level key, shared by every environment (`build`, `migrations`).
    case root
    /// A key inside each environment (`environments.production.ssh`).
    case environment
}

/// A typed part of `tmeops.yml` that a plugin owns.
///
/// Declare `CodingKeys` as `CaseIterable` so that a misspelt key gets a "did you mean" suggestion.
public protocol ConfigSection: Codable, Sendable {
    /// The key the section sits under, e.g. `ssh`.
    static var key: String { get }
    static var scope: ConfigScope { get }
    /// A one-line description for `help PLUGIN` and the config reference.
    static var summary: String { get }
}

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

/// A section whose values must agree with the other sections of its environment (`database.host` must
/// be one of `ssh.hosts`). Checked once the environment is decoded; the problem is reported at the key.
public protocol ConfigSectionCrossCheck {
    /// The first disagreement: the key inside the section and what is wrong; nil when all agree.
    func problem(in environment: EnvironmentConfig) -> (key: String, message: String)?
}

/// A section that can say, for `config check`, when a valid value is likely to hurt (a wait shorter than
/// load balancers need, say). Each warning names its key.
public protocol ConfigSectionAdvice {
    func warnings(in environment: EnvironmentConfig) -> [String]
}

extension EnvironmentConfig {
    /// What the environment's sections advise (`ConfigSectionAdvice`), in file order.
    public var advice: [String] { sections.flatMap { ($0.value as? any ConfigSectionAdvice)?.warnings(in: self) ?? [] } }
}

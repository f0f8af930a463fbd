import Foundation

/// One environment of `tmeops.yml`, its sections decoded into the owning plugins' types.
public struct EnvironmentConfig: Sendable {
    public let name: String
    /// Sections by key, in file order.
    let sections: [(key: String, value: any ConfigSection)]

    public init(name: String, sections: [(key: String, value: any ConfigSection)]) {
        self.name = name
        self.sections = sections
    }

    /// The section of type `T`, or nil when the environment does not have it.
    public func section<T: ConfigSection>(_ type: T.Type) -> T? {
        sections.first { $0.key == T.key }?.value as? T
    }

    /// The section of type `T`, or a usage error naming the missing key.
    public func require<T: ConfigSection>(_ type: T.Type, for purpose: String) throws -> T {
        guard let section = section(type) else {
            throw TMEOpsError.usage("environment '\(name)' has no \(T.key) section, which \(purpose) needs; add environments.\(name).\(T.key) to tmeops.yml")
        }
        return section
    }
}

/// The whole of `tmeops.yml` after decoding and interpolation.
public struct LoadedConfig: Sendable {
    /// The file as the operator named it (for messages) and its absolute location.
    public let displayPath: String
    public let url: URL
    public let app: String
    public let image: String
    /// Every environment in the file, in file order, decoded or not.
    public let environmentNames: [String]
    let rootSections: [(key: String, value: any ConfigSection)]
    /// The environments that were decoded (the selected one, or all for `config check`).
    public let environments: [String: EnvironmentConfig]
    /// Every secret value the config could use, with where it came from (`.tmeops/secrets.env` or
    /// `secrets.command`; the file wins a key both give). Held in memory only, for `config check`.
    public var secrets: [Secret] = []

    public struct Secret: Sendable, Equatable {
        public let key: String
        public let value: String
        public let source: String
    }

    /// The root-level section of type `T`, or nil when the file does not have it.
    public func section<T: ConfigSection>(_ type: T.Type) -> T? {
        rootSections.first { $0.key == T.key }?.value as? T
    }

    /// The decoded environment `name`, or a usage error listing the ones that exist.
    public func environment(_ name: String) throws -> EnvironmentConfig {
        if let environment = environments[name] { return environment }
        throw ConfigLoader.unknownEnvironment(name, known: environmentNames, file: displayPath)
    }
}

/// Which environments to decode: interpolation errors are reported only for what is decoded, so an
/// unset development password does not stop a production deploy.
public enum EnvironmentSelection: Sendable, Equatable {
    case none
    case named(String)
    case all
}

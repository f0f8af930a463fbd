import Foundation
import TMEOpsCore
import TMEOpsPostgres

/// `environments.<name>.protected: true|false`: `db pull` and `schema sync` never write to a protected
/// environment, and `migrate apply` backs it up and takes its deploy lock first. A remote environment
/// (one with an ssh section, or a `database.url` on another machine) is protected unless it says otherwise.
public struct ProtectedConfig: ConfigSection, Equatable {
    public static let key = "protected"
    public static let scope = ConfigScope.environment
    public static let summary = "true: db pull and schema sync never write here; migrate apply backs up and locks first (default for remote environments)."

    public var value: Bool

    public init(from decoder: Decoder) throws {
        value = try decoder.singleValueContainer().decode(Bool.self)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(value)
    }

    /// Whether `environment` may not be written to by development-alignment commands, and must be
    /// backed up and locked before `migrate apply` changes it.
    public static func isProtected(_ environment: EnvironmentConfig) -> Bool { reason(environment) != nil }

    /// Why `environment` is protected, in words for an error; nil when it is not. Without a `protected`
    /// key, an environment reached over ssh, or whose `database.url` names a server that is not on this
    /// machine, is protected: a forgotten key must err on the side of production.
    public static func reason(_ environment: EnvironmentConfig) -> String? {
        if let explicit = environment.section(ProtectedConfig.self) { return explicit.value ? "it says protected: true" : nil }
        if environment.section(SSHConfig.self) != nil {
            return "it is a remote environment (protected unless it says protected: false)"
        }
        if let url = environment.section(DatabaseConfig.self)?.url, let target = try? PostgresTarget(url: url), !target.isLocal {
            return "its database.url names the server \(target.host), not this machine (protected unless it says protected: false)"
        }
        return nil
    }

    /// Throws the refusal for a protected environment.
    public static func refuseIfProtected(_ environment: EnvironmentConfig, command: String) throws {
        guard let why = reason(environment) else { return }
        throw TMEOpsError.usage("\(command) refuses to write to environment '\(environment.name)': \(why); nothing was changed")
    }
}

import Foundation
import TMEOpsCore

/// `environments.<name>.app`: the production app container, as every plugin that touches it reads it.
public struct AppContainerConfig: ConfigSection, Equatable {
    public static let key = "app"
    public static let scope = ConfigScope.environment
    public static let summary = "Production container name, network, published ports, env file and env."

    public var container: String
    public var network: String?
    public var publish: [PortMapping]
    public var envFile: String?
    public var env: [String: String]
    /// Docker's init as PID 1 in containers tmeops creates (default true): signals reach the app.
    public var initProcess: Bool
    /// How long a graceful stop waits before SIGKILL: this when set, else the running container's own
    /// (compose's `stop_grace_period`), else 10 s.
    public var stopTimeout: ConfigDuration
    /// Whether tmeops.yml sets `stop_timeout`.
    public var stopTimeoutIsSet: Bool
    /// When the app ignores its stop signal (the kernel shows it), stop it once no request is open on
    /// its ports rather than after the whole stop timeout (default true).
    public var stopWhenIdle: Bool
    /// Mounts (`SOURCE:TARGET[:ro]`, a host path or a named volume) that replace the running container's
    /// mount at the same target or add one; every other mount is carried over.
    public var volumes: [String]
    /// Labels set on app containers, over the ones carried from the running container.
    public var labels: [String: String]
    /// Docker settings by name; each replaces what the running container had.
    public var options: ContainerOptions
    /// How `env_file` is read; unset: compose's rules when the running container was made by docker
    /// compose (it carries compose's labels), else `docker run --env-file`'s.
    public var envFileFormat: EnvFileFormat?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case container, network, publish
        case envFile = "env_file"
        case envFileFormat = "env_file_format"
        case env
        case initProcess = "init"
        case stopTimeout = "stop_timeout"
        case stopWhenIdle = "stop_when_idle"
        case volumes, labels, options
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        container = try c.decode(String.self, forKey: .container)
        guard container.range(of: #"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$"#, options: .regularExpression) != nil else {
            throw c.invalid(.container, "'\(container)' is not a valid Docker container name")
        }
        network = try c.decodeIfPresent(String.self, forKey: .network)
        publish = try c.decode(.publish, default: [])
        envFile = try c.decodeIfPresent(String.self, forKey: .envFile)
        if let envFile, !envFile.hasPrefix("/") { throw c.invalid(.envFile, "'\(envFile)' must be an absolute path on the host") }
        env = try c.decode(.env, default: [:])
        initProcess = try c.decode(.initProcess, default: true)
        stopTimeout = try c.decode(.stopTimeout, default: ConfigDuration(seconds: 10))
        stopTimeoutIsSet = c.contains(.stopTimeout)
        stopWhenIdle = try c.decode(.stopWhenIdle, default: true)
        volumes = try c.decode(.volumes, default: [])
        for volume in volumes where VolumeSpec(volume) == nil {
            throw c.invalid(.volumes, "'\(volume)' is not SOURCE:TARGET[:ro|rw] with an absolute TARGET")
        }
        labels = try c.decode(.labels, default: [:])
        options = try c.decode(.options, default: ContainerOptions())
        if let format = try c.decodeIfPresent(String.self, forKey: .envFileFormat) {
            guard let parsed = EnvFileFormat(rawValue: format) else { throw c.invalid(.envFileFormat, "'\(format)' is not one of compose, docker") }
            envFileFormat = parsed
        }
    }
}

/// One `SOURCE:TARGET[:OPTIONS]` mount as tmeops.yml and `docker run -v` write it.
public struct VolumeSpec: Equatable, Sendable {
    public let source: String
    public let target: String
    public let options: [String]

    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard (2...3).contains(parts.count), !parts[0].isEmpty, parts[1].hasPrefix("/") else { return nil }
        source = parts[0]
        target = parts[1]
        options = parts.count == 3 ? parts[2].split(separator: ",").map(String.init) : []
        guard options.allSatisfy({ ["ro", "rw", "z", "Z", "nocopy", "consistent", "cached", "delegated"].contains($0) }) else { return nil }
    }

    public init(source: String, target: String, options: [String]) {
        self.source = source
        self.target = target
        self.options = options
    }

    /// The same mount, read-only.
    public var readOnly: VolumeSpec { VolumeSpec(source: source, target: target, options: options.filter { $0 != "rw" && $0 != "ro" } + ["ro"]) }
    public var isReadOnly: Bool { options.contains("ro") }
    public var text: String { ([source, target] + (options.isEmpty ? [] : [options.joined(separator: ",")])).joined(separator: ":") }
}

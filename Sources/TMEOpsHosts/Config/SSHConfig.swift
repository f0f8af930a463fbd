import TMEOpsCore
import TMEOpsSSH

/// `environments.<name>.ssh`: how to reach the environment's host.
public struct SSHConfig: ConfigSection, Equatable {
    public static let key = "ssh"
    public static let scope = ConfigScope.environment
    public static let summary = "Host, port, user, identity file, host-key policy and ciphers of the server."

    /// How an unknown or changed host key is treated (strict by default).
    public typealias HostKeyPolicy = SSHConnectionOptions.HostKeyPolicy

    public var host: String
    public var port: Int
    public var user: String
    public var identity: String?
    public var knownHosts: String
    public var hostKeyPolicy: HostKeyPolicy
    public var connectTimeout: ConfigDuration
    /// Ciphers to offer, most wanted first (default: chacha20-poly1305, AES-GCM, then AES-CTR).
    public var ciphers: [String]?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case host, port, user, identity, ciphers
        case knownHosts = "known_hosts"
        case hostKeyPolicy = "host_key_policy"
        case connectTimeout = "connect_timeout"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        host = try c.decode(String.self, forKey: .host)
        guard !host.isEmpty else { throw c.invalid(.host, "needs a host name or address") }
        port = try c.decode(.port, default: 22)
        guard (1...65535).contains(port) else { throw c.invalid(.port, "\(port) is not a TCP port (1-65535)") }
        user = try c.decode(String.self, forKey: .user)
        identity = try c.decodeIfPresent(String.self, forKey: .identity)
        knownHosts = try c.decode(.knownHosts, default: "~/.ssh/known_hosts")
        let policy = try c.decode(.hostKeyPolicy, default: HostKeyPolicy.strict.rawValue)
        guard let parsed = HostKeyPolicy(rawValue: policy) else {
            throw c.invalid(.hostKeyPolicy, "'\(policy)' is not a host key policy; use strict or accept-new")
        }
        hostKeyPolicy = parsed
        connectTimeout = try c.decode(.connectTimeout, default: ConfigDuration(seconds: 10))
        ciphers = try c.decodeIfPresent([String].self, forKey: .ciphers)
        if let ciphers, ciphers.isEmpty { throw c.invalid(.ciphers, "needs at least one cipher, e.g. [aes256-gcm@openssh.com]") }
    }
}

import Foundation

/// Everything needed to open an SSH session to one host.
public struct SSHConnectionOptions: Sendable, Equatable {
    public enum HostKeyPolicy: String, Codable, Sendable, CaseIterable {
        /// Unknown and changed keys are refused.
        case strict
        /// An unknown key is recorded in known_hosts; a changed key is still refused.
        case acceptNew = "accept-new"
    }

    public var host: String
    public var port: Int
    public var user: String
    /// Private key file; nil tries the agent and then `~/.ssh/id_ed25519`, `~/.ssh/id_ecdsa` and `~/.ssh/id_rsa`.
    public var identity: String?
    /// Passphrase of the identity file (from `TMEOPS_SSH_PASSPHRASE`; never from argv or config).
    public var passphrase: String?
    public var knownHosts: String
    public var hostKeyPolicy: HostKeyPolicy
    public var connectTimeout: TimeInterval
    /// Seconds between keepalive messages; 0 turns them off.
    public var keepaliveInterval: Int
    /// The ssh-agent socket (`SSH_AUTH_SOCK`), if any.
    public var agentSocket: String?
    /// Ciphers to offer, most wanted first; nil: `SSHSession.preferredCiphers`.
    public var ciphers: [String]?
    /// The bastion the host is reached through (`ssh.proxy_jump`): none, or one (an array only because
    /// a struct cannot hold an optional of itself).
    public var jump: [SSHConnectionOptions] = []

    public init(
        host: String, port: Int = 22, user: String, identity: String? = nil, passphrase: String? = nil,
        knownHosts: String = "~/.ssh/known_hosts", hostKeyPolicy: HostKeyPolicy = .strict, connectTimeout: TimeInterval = 10,
        keepaliveInterval: Int = 15, agentSocket: String? = nil, ciphers: [String]? = nil
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.identity = identity
        self.passphrase = passphrase
        self.knownHosts = knownHosts
        self.hostKeyPolicy = hostKeyPolicy
        self.connectTimeout = connectTimeout
        self.keepaliveInterval = keepaliveInterval
        self.agentSocket = agentSocket
        self.ciphers = ciphers
    }

    /// `user@host:port`, for messages.
    public var destination: String { "\(user)@\(host):\(port)" }

    /// `~` expanded against `home`.
    public static func expand(_ path: String, home: String = NSHomeDirectory()) -> String {
        if path == "~" { return home }
        if path.hasPrefix("~/") { return home + path.dropFirst(1) }
        return path
    }
}

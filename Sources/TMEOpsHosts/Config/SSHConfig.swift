import TMEOpsCore
import TMEOpsSSH

/// `environments.<name>.ssh`: how to reach the environment's hosts (`host:` for one, `hosts:` for several).
public struct SSHConfig: ConfigSection, Equatable {
    public static let key = "ssh"
    public static let scope = ConfigScope.environment
    public static let summary = "Host (or hosts), port, user, identity file, host-key policy, ciphers and bastion of the servers."

    /// How an unknown or changed host key is treated (strict by default).
    public typealias HostKeyPolicy = SSHConnectionOptions.HostKeyPolicy

    /// The environment's servers, in the order the config names them (`host: X` is `hosts: [X]`).
    public var hosts: [String]
    public var port: Int
    public var user: String
    public var identity: String?
    public var knownHosts: String
    public var hostKeyPolicy: HostKeyPolicy
    public var connectTimeout: ConfigDuration
    /// Ciphers to offer, most wanted first (default: chacha20-poly1305, AES-GCM, then AES-CTR).
    public var ciphers: [String]?
    /// The bastion every host is reached through (`proxy_jump: [user@]host[:port]`), as OpenSSH's
    /// ProxyJump; its host key is checked in the same known_hosts, with the same identity.
    public var proxyJump: ProxyJump?

    /// `ssh.proxy_jump`: `[user@]host[:port]`.
    public struct ProxyJump: Equatable, Sendable, CustomStringConvertible {
        public var user: String?
        public var host: String
        public var port: Int

        public init?(_ text: String) {
            var rest = Substring(text.trimmingCharacters(in: .whitespaces))
            if let at = rest.lastIndex(of: "@") {
                user = String(rest[..<at])
                rest = rest[rest.index(after: at)...]
                if user?.isEmpty == true { return nil }
            }
            port = 22
            if let colon = rest.lastIndex(of: ":"), !rest.hasPrefix("[") {
                guard let number = Int(rest[rest.index(after: colon)...]), (1...65535).contains(number) else { return nil }
                port = number
                rest = rest[..<colon]
            }
            host = String(rest)
            if host.isEmpty || host.contains(where: { $0 == " " || $0 == "/" }) { return nil }
        }

        public var description: String { "\(user.map { "\($0)@" } ?? "")\(host)\(port == 22 ? "" : ":\(port)")" }
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case host, hosts, port, user, identity, ciphers
        case proxyJump = "proxy_jump"
        case knownHosts = "known_hosts"
        case hostKeyPolicy = "host_key_policy"
        case connectTimeout = "connect_timeout"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        switch (try c.decodeIfPresent(String.self, forKey: .host), try c.decodeIfPresent([String].self, forKey: .hosts)) {
        case (nil, nil): throw c.invalid(.host, "needs host: NAME (or hosts: [NAME, ...] for several servers)")
        case (.some, .some): throw c.invalid(.hosts, "set host (one server) or hosts (several), not both")
        case (let one?, nil): hosts = [one]
        case (nil, let several?): hosts = several
        }
        guard !hosts.isEmpty else { throw c.invalid(.hosts, "needs at least one host") }
        for (index, host) in hosts.enumerated() {
            guard !host.isEmpty else { throw c.invalid(hosts.count == 1 ? .host : .hosts, "needs a host name or address") }
            if hosts[..<index].contains(host) { throw c.invalid(.hosts, "'\(host)' is listed twice") }
        }
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
        if let jump = try c.decodeIfPresent(String.self, forKey: .proxyJump) {
            guard let parsed = ProxyJump(jump) else { throw c.invalid(.proxyJump, "'\(jump)' is not [user@]host[:port]") }
            proxyJump = parsed
        }
    }

    /// The first host: the environment's only one, or where its lock and ledger are kept.
    public var host: String { hosts[0] }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        if hosts.count == 1 { try c.encode(hosts[0], forKey: .host) } else { try c.encode(hosts, forKey: .hosts) }
        try c.encode(port, forKey: .port)
        try c.encode(user, forKey: .user)
        try c.encodeIfPresent(identity, forKey: .identity)
        try c.encode(knownHosts, forKey: .knownHosts)
        try c.encode(hostKeyPolicy.rawValue, forKey: .hostKeyPolicy)
        try c.encode(connectTimeout, forKey: .connectTimeout)
        try c.encodeIfPresent(ciphers, forKey: .ciphers)
        try c.encodeIfPresent(proxyJump?.description, forKey: .proxyJump)
    }
}

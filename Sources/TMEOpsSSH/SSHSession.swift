import CLibSSH2
import Foundation
import Logging
import TMEOpsCrypto

/// One SSH connection to one host, owning its socket and libssh2 session.
///
/// A session is used by one thread at a time (libssh2's rule) and carries many channels in turn, so a
/// command opens one connection, not one per remote step. The session runs non-blocking and waits on
/// its socket itself, which lets a channel read stdout and stderr together and honour timeouts.
public final class SSHSession {
    public let options: SSHConnectionOptions
    let socket: Int32
    let raw: OpaquePointer
    /// The bastion's tunnel the session runs over, with `ssh.proxy_jump`.
    private let tunnel: JumpTunnel?
    public let logger: Logger
    /// Set by `close()`: libssh2 has freed the session and every channel on it.
    public private(set) var isClosed = false
    private var lastKeepalive = Date()
    /// Channels kept open between uses, by what they reach: an app's HTTP connection kept alive, a
    /// command that serves one request after another. Each reuse saves a channel open (a round trip).
    private var kept: [(key: String, stream: SSHChannelStream)] = []
    /// Set when this host could not keep a command runner (`KeptRunner.swift`): captures take a channel each.
    var runnerUnavailable = false

    /// The server's host key as OpenSSH prints it: `ED25519 SHA256:...`.
    public private(set) var hostKeyDescription = ""
    /// How authentication succeeded, e.g. `publickey /root/.ssh/id_ed25519`.
    public private(set) var authentication = ""

    /// Connects, verifies the host key against known_hosts and authenticates, or throws an
    /// ``SSHError`` that names the host and what to do.
    public init(_ options: SSHConnectionOptions, logger: Logger = Logger(label: "tmeops.ssh")) throws {
        try LibSSH2.initialise()
        self.options = options
        self.logger = logger
        if let bastion = options.jump.first {
            let tunnel = try JumpTunnel(bastion: bastion, to: options.host, port: options.port, logger: logger)
            self.tunnel = tunnel
            socket = tunnel.socket
        } else {
            tunnel = nil
            socket = try TCPConnection.connect(host: options.host, port: options.port, timeout: options.connectTimeout)
        }
        guard let session = libssh2_session_init_ex(nil, nil, nil, nil) else {
            Foundation.close(socket)
            tunnel?.stop()
            throw SSHError(.library, "libssh2 could not allocate a session")
        }
        raw = session
        libssh2_session_set_blocking(session, 0)
        // Authenticated encryption first (chacha20-poly1305, then AES-GCM), then AES-CTR with
        // encrypt-then-MAC; libssh2 drops the names it does not know (1.10 knows only the CTR ones).
        let ciphers = (options.ciphers ?? Self.preferredCiphers).joined(separator: ",")
        for direction in [LIBSSH2_METHOD_CRYPT_CS, LIBSSH2_METHOD_CRYPT_SC] {
            if libssh2_session_method_pref(session, direction, ciphers) != 0 {
                shutdown(reason: "tmeops: no cipher")  // (deinit would free the session too: once is enough)
                throw SSHError(
                    .library, "none of ssh.ciphers (\(ciphers)) is known to libssh2 \(LibSSH2.version); it knows \(Self.supported(LIBSSH2_METHOD_CRYPT_CS))")
            }
        }
        libssh2_session_method_pref(session, LIBSSH2_METHOD_MAC_CS, Self.preferredMACs.joined(separator: ","))
        libssh2_session_method_pref(session, LIBSSH2_METHOD_MAC_SC, Self.preferredMACs.joined(separator: ","))
        do {
            let deadline = Date().addingTimeInterval(options.connectTimeout)
            _ = try call("SSH handshake with \(options.host):\(options.port)", deadline: deadline, kind: .handshake) {
                libssh2_session_handshake(session, socket)
            }
            try verifyHostKey()
            try authenticate()
            SSHStatistics.shared.sessionOpened()
            if options.keepaliveInterval > 0 {
                libssh2_keepalive_config(session, 1, UInt32(options.keepaliveInterval))
            }
        } catch {
            shutdown(reason: "tmeops: connection failed")
            throw error
        }
        logger.debug(
            "connected",
            metadata: [
                "host": "\(options.destination)", "via": "\(options.jump.first?.destination ?? "-")", "hostkey": "\(hostKeyDescription)",
                "auth": "\(authentication)",
            ])
    }

    deinit { shutdown(reason: "tmeops: done") }

    /// The ciphers offered unless `ssh.ciphers` says otherwise, most wanted first.
    public static let preferredCiphers = [
        "chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com", "aes128-gcm@openssh.com", "aes128-ctr", "aes256-ctr", "aes192-ctr",
    ]
    /// MACs (for the CTR ciphers; the AEAD ones carry their own): encrypt-then-MAC first.
    public static let preferredMACs = [
        "hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com", "hmac-sha2-256", "hmac-sha2-512", "hmac-sha1",
    ]

    /// The algorithms libssh2 supports for `method` (LIBSSH2_METHOD_*), comma-separated.
    static func supported(_ method: Int32) -> String {
        guard let session = libssh2_session_init_ex(nil, nil, nil, nil) else { return "?" }
        defer { libssh2_session_free(session) }
        var list: UnsafeMutablePointer<UnsafePointer<CChar>?>?
        let count = libssh2_session_supported_algs(session, method, &list)
        guard count > 0, let list else { return "?" }
        defer { libssh2_free(session, list) }
        return (0..<Int(count)).compactMap { list[$0].map { String(cString: $0) } }.joined(separator: ",")
    }

    /// What the connection negotiated: key exchange, host key, cipher and MAC (client to server).
    public var negotiated: (kex: String, hostKey: String, cipher: String, mac: String) {
        func method(_ type: Int32) -> String { libssh2_session_methods(raw, type).map { String(cString: $0) } ?? "?" }
        return (method(LIBSSH2_METHOD_KEX), method(LIBSSH2_METHOD_HOSTKEY), method(LIBSSH2_METHOD_CRYPT_CS), method(LIBSSH2_METHOD_MAC_CS))
    }

    /// Disconnects politely; safe to call more than once.
    public func close() { shutdown(reason: "tmeops: done") }

    /// A channel kept for `key` by ``keep(_:as:)``, taken out of the keeping (nil when there is none).
    public func takeKept(_ key: String) -> SSHChannelStream? {
        guard let index = kept.firstIndex(where: { $0.key == key }) else { return nil }
        return kept.remove(at: index).stream
    }

    /// Keeps `stream` open for the next use of `key`. At most eight are kept; the oldest is closed.
    public func keep(_ stream: SSHChannelStream, as key: String) {
        guard !isClosed else { return }
        kept.append((key, stream))
        while kept.count > 8 { kept.removeFirst().stream.close() }
    }

    private func shutdown(reason: String) {
        guard !isClosed else { return }
        isClosed = true
        // libssh2_session_free frees the kept channels with every other one.
        kept.removeAll()
        libssh2_session_set_blocking(raw, 1)
        // A dead connection must not hang the disconnect; libssh2 cannot time it out itself.
        libssh2_session_set_timeout(raw, 2000)
        libssh2_session_disconnect_ex(raw, SSH_DISCONNECT_BY_APPLICATION, reason, "")
        libssh2_session_free(raw)
        Foundation.close(socket)
        // The bastion's pump sees the socket close, closes its channel and disconnects.
        tunnel?.stop()
    }

    // MARK: - Waiting on the non-blocking session

    /// libssh2's message for the last error, with its code.
    func lastError() -> (code: Int32, message: String) {
        var message: UnsafeMutablePointer<CChar>?
        var length: Int32 = 0
        let code = libssh2_session_last_error(raw, &message, &length, 0)
        return (code, message.map { String(cString: $0) } ?? "unknown error")
    }

    /// Waits until the socket is ready in the direction libssh2 is blocked on, or the deadline passes.
    func waitForSocket(deadline: Date?, what: String) throws {
        let directions = libssh2_session_block_directions(raw)
        var events: Int16 = 0
        if directions & LIBSSH2_SESSION_BLOCK_INBOUND != 0 { events |= Int16(POLLIN) }
        if directions & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 { events |= Int16(POLLOUT) }
        if events == 0 { events = Int16(POLLIN) }
        var timeout: Int32 = 1000
        if let deadline {
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 { throw SSHError(.timeout, "\(what) timed out on \(options.host)") }
            timeout = Int32(min(1000, remaining * 1000 + 1))
        }
        var pfd = pollfd(fd: socket, events: events, revents: 0)
        _ = poll(&pfd, 1, timeout)
        sendKeepaliveIfDue()
    }

    private func sendKeepaliveIfDue() {
        guard options.keepaliveInterval > 0, Date().timeIntervalSince(lastKeepalive) >= Double(options.keepaliveInterval) else { return }
        var next: Int32 = 0
        _ = libssh2_keepalive_send(raw, &next)
        lastKeepalive = Date()
    }

    /// Runs a libssh2 call until it stops answering EAGAIN; a negative result becomes an ``SSHError``.
    /// libssh2 must never see a freed session: that is a use-after-free, not an error.
    func ensureOpen(_ what: String) throws {
        if isClosed { throw SSHError(.closed, "\(what): the SSH session to \(options.host) is closed") }
    }

    @discardableResult
    func call(_ what: String, deadline: Date? = nil, kind: SSHError.Kind = .library, _ body: () -> Int32) throws -> Int32 {
        try ensureOpen(what)
        while true {
            let result = body()
            if result == LIBSSH2_ERROR_EAGAIN {
                try waitForSocket(deadline: deadline, what: what)
                continue
            }
            if result < 0 { throw SSHError(kind, "\(what): \(lastError().message) (libssh2 error \(result))") }
            return result
        }
    }

    /// Runs a libssh2 call that returns a pointer until it stops failing with EAGAIN.
    func pointer<T>(_ what: String, deadline: Date? = nil, kind: SSHError.Kind = .library, channel: SSHStatistics.Channel = .command, _ body: () -> T?)
        throws -> T
    {
        try ensureOpen(what)
        while true {
            if let value = body() {
                if kind == .channel {
                    SSHStatistics.shared.channelOpened(channel)
                    logger.trace("\(options.host): \(channel.rawValue) channel: \(what)")
                }
                return value
            }
            let (code, message) = lastError()
            if code == LIBSSH2_ERROR_EAGAIN {
                try waitForSocket(deadline: deadline, what: what)
                continue
            }
            throw SSHError(kind, "\(what): \(message) (libssh2 error \(code))")
        }
    }

    // MARK: - Host key

    private func verifyHostKey() throws {
        var length = 0
        var type: Int32 = 0
        guard let key = libssh2_session_hostkey(raw, &length, &type) else {
            throw SSHError(.handshake, "\(options.host) sent no host key")
        }
        let blob = Data(bytes: key, count: length)
        let algorithm = HostKeyAlgorithm(libssh2Type: type)
        let fingerprint = SHA256.fingerprint(ofKeyBlob: blob)
        hostKeyDescription = "\(algorithm.displayName) \(fingerprint)"
        let verifier = KnownHostsFile(path: SSHConnectionOptions.expand(options.knownHosts), session: raw)
        try verifier.verify(
            host: options.host, port: options.port, key: blob, algorithm: algorithm, fingerprint: fingerprint,
            policy: options.hostKeyPolicy, logger: logger)
    }

    // MARK: - Authentication

    private func authenticate() throws {
        let user = options.user
        let deadline = Date().addingTimeInterval(max(options.connectTimeout, 10))
        var attempts: [String] = []
        // Asking for the method list also tries "none", which a misconfigured server may accept.
        let methods: String
        if let list = libssh2WithRetry({ libssh2_userauth_list(raw, user, UInt32(user.utf8.count)) }, deadline: deadline) {
            methods = String(cString: list)
        } else if libssh2_userauth_authenticated(raw) == 1 {
            authentication = "none"
            return
        } else {
            throw SSHError(.authentication, "\(options.destination): the server sent no authentication methods: \(lastError().message)")
        }
        guard methods.split(separator: ",").contains("publickey") else {
            throw SSHError(.authentication, "\(options.destination) accepts only \(methods); tmeops logs in with keys (publickey)")
        }

        var identities: [String] = []
        if let identity = options.identity {
            identities = [SSHConnectionOptions.expand(identity)]
        } else {
            if try authenticateWithAgent(deadline: deadline, attempts: &attempts) { return }
            identities = ["~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa"].map { SSHConnectionOptions.expand($0) }
                .filter { FileManager.default.fileExists(atPath: $0) }
        }
        for path in identities {
            guard FileManager.default.isReadableFile(atPath: path) else {
                attempts.append("identity \(path) (missing or unreadable)")
                if options.identity != nil {
                    throw SSHError(.identity, "identity file \(path) does not exist or cannot be read; check ssh.identity in tmeops.yml")
                }
                continue
            }
            let encrypted = IdentityFile.isEncrypted(atPath: path)
            if encrypted, options.passphrase == nil {
                attempts.append("identity \(path) (passphrase-protected, no TMEOPS_SSH_PASSPHRASE)")
                if options.identity != nil {
                    throw SSHError(.identity, "identity file \(path) is protected by a passphrase; set TMEOPS_SSH_PASSPHRASE or load the key into ssh-agent")
                }
                continue
            }
            let result = libssh2WithRetryCode(
                {
                    libssh2_userauth_publickey_fromfile_ex(raw, user, UInt32(user.utf8.count), nil, path, encrypted ? options.passphrase : nil)
                }, deadline: deadline)
            if result == 0 {
                authentication = "publickey \(path)"
                return
            }
            let message = lastError().message
            if result == LIBSSH2_ERROR_FILE || result == LIBSSH2_ERROR_METHOD_NOT_SUPPORTED {
                attempts.append("identity \(path) (unusable: \(message); libssh2 1.10 needs ed25519 or ECDSA keys, or a correct passphrase)")
            } else {
                attempts.append("identity \(path) (rejected by the server)")
            }
        }
        let tried = attempts.isEmpty ? "no identity file or agent key was available" : "tried " + attempts.joined(separator: "; ")
        throw SSHError(.authentication, "cannot log in to \(options.destination) (the server accepts: \(methods)); \(tried)")
    }

    private func authenticateWithAgent(deadline: Date, attempts: inout [String]) throws -> Bool {
        guard let socketPath = options.agentSocket, !socketPath.isEmpty else {
            attempts.append("agent (SSH_AUTH_SOCK not set)")
            return false
        }
        guard let agent = libssh2_agent_init(raw) else { return false }
        defer {
            libssh2_agent_disconnect(agent)
            libssh2_agent_free(agent)
        }
        libssh2_agent_set_identity_path(agent, socketPath)
        guard libssh2_agent_connect(agent) == 0, libssh2_agent_list_identities(agent) == 0 else {
            attempts.append("agent at \(socketPath) (cannot connect)")
            return false
        }
        var previous: UnsafeMutablePointer<libssh2_agent_publickey>?
        var identity: UnsafeMutablePointer<libssh2_agent_publickey>?
        var offered = 0
        while libssh2_agent_get_identity(agent, &identity, previous) == 0, let current = identity {
            offered += 1
            let result = libssh2WithRetryCode({ libssh2_agent_userauth(agent, options.user, current) }, deadline: deadline)
            if result == 0 {
                let comment = current.pointee.comment.map { String(cString: $0) } ?? "key \(offered)"
                authentication = "agent \(comment)"
                return true
            }
            previous = current
        }
        attempts.append(offered == 0 ? "agent at \(socketPath) (no keys)" : "agent at \(socketPath) (\(offered) key(s) rejected)")
        return false
    }

    /// Retries a pointer-returning call on EAGAIN; nil on any other failure.
    private func libssh2WithRetry<T>(_ body: () -> T?, deadline: Date) -> T? {
        while true {
            if let value = body() { return value }
            guard lastError().code == LIBSSH2_ERROR_EAGAIN, (try? waitForSocket(deadline: deadline, what: "authentication")) != nil else { return nil }
        }
    }

    /// Retries a code-returning call on EAGAIN; returns the final code.
    private func libssh2WithRetryCode(_ body: () -> Int32, deadline: Date) -> Int32 {
        while true {
            let result = body()
            guard result == LIBSSH2_ERROR_EAGAIN, (try? waitForSocket(deadline: deadline, what: "authentication")) != nil else { return result }
        }
    }
}

/// Host key algorithms as libssh2 reports them, with their known_hosts names.
enum HostKeyAlgorithm {
    case rsa, dss, ecdsa256, ecdsa384, ecdsa521, ed25519, unknown

    init(libssh2Type: Int32) {
        switch libssh2Type {
        case LIBSSH2_HOSTKEY_TYPE_RSA: self = .rsa
        case LIBSSH2_HOSTKEY_TYPE_DSS: self = .dss
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: self = .ecdsa256
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: self = .ecdsa384
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: self = .ecdsa521
        case LIBSSH2_HOSTKEY_TYPE_ED25519: self = .ed25519
        default: self = .unknown
        }
    }

    var displayName: String {
        switch self {
        case .rsa: return "RSA"
        case .dss: return "DSA"
        case .ecdsa256, .ecdsa384, .ecdsa521: return "ECDSA"
        case .ed25519: return "ED25519"
        case .unknown: return "UNKNOWN"
        }
    }

    /// The name in a known_hosts line.
    var keyName: String {
        switch self {
        case .rsa: return "ssh-rsa"
        case .dss: return "ssh-dss"
        case .ecdsa256: return "ecdsa-sha2-nistp256"
        case .ecdsa384: return "ecdsa-sha2-nistp384"
        case .ecdsa521: return "ecdsa-sha2-nistp521"
        case .ed25519: return "ssh-ed25519"
        case .unknown: return "unknown"
        }
    }

    /// libssh2's known-host key type bits.
    var knownHostBits: Int32 {
        switch self {
        case .rsa: return LIBSSH2_KNOWNHOST_KEY_SSHRSA
        case .dss: return LIBSSH2_KNOWNHOST_KEY_SSHDSS
        case .ecdsa256: return LIBSSH2_KNOWNHOST_KEY_ECDSA_256
        case .ecdsa384: return LIBSSH2_KNOWNHOST_KEY_ECDSA_384
        case .ecdsa521: return LIBSSH2_KNOWNHOST_KEY_ECDSA_521
        case .ed25519: return LIBSSH2_KNOWNHOST_KEY_ED25519
        case .unknown: return LIBSSH2_KNOWNHOST_KEY_UNKNOWN
        }
    }
}

/// Facts about a private key file.
enum IdentityFile {
    /// Whether the key needs a passphrase: an OpenSSH-format key whose cipher is not "none", or a PEM
    /// key marked encrypted.
    static func isEncrypted(atPath path: String) -> Bool {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return false }
        if text.contains("Proc-Type: 4,ENCRYPTED") || text.contains("BEGIN ENCRYPTED PRIVATE KEY") { return true }
        guard text.contains("BEGIN OPENSSH PRIVATE KEY") else { return false }
        let body = text.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        guard let data = Data(base64Encoded: body) else { return false }
        // "openssh-key-v1\0", then the cipher name as a length-prefixed string.
        let magic = Array("openssh-key-v1".utf8) + [0]
        let bytes = [UInt8](data)
        guard bytes.count > magic.count + 4, Array(bytes[0..<magic.count]) == magic else { return false }
        let offset = magic.count
        let length = Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
        guard bytes.count >= offset + 4 + length else { return false }
        return String(decoding: bytes[(offset + 4)..<(offset + 4 + length)], as: UTF8.self) != "none"
    }
}

/// What this process did over SSH, for measuring (a deploy logs it at debug level): sessions opened
/// (each a TCP connection, key exchange and login) and channels opened (each a round trip: a command,
/// a forwarded socket or TCP connection).
public final class SSHStatistics: @unchecked Sendable {
    public static let shared = SSHStatistics()

    /// What a channel was opened for.
    public enum Channel: String, CaseIterable, Sendable {
        /// A command run on the server.
        case command
        /// A TCP connection made by the server (an app's health probe, the database's port).
        case tcp
        /// A Unix socket on the server (the Docker engine's).
        case socket
        /// A forwarded port or a jump host's tunnel.
        case tunnel
    }

    private let lock = NSLock()
    private var sessions = 0
    private var channels: [Channel: Int] = [:]

    func sessionOpened() { lock.withLock { sessions += 1 } }
    func channelOpened(_ kind: Channel) { lock.withLock { channels[kind, default: 0] += 1 } }

    /// (sessions, channels) so far.
    public var counts: (sessions: Int, channels: Int) { lock.withLock { (sessions, channels.values.reduce(0, +)) } }

    /// Channels of one kind opened so far.
    public func count(_ kind: Channel) -> Int { lock.withLock { channels[kind] ?? 0 } }

    /// Channels opened so far by what they were for, e.g. "12 command, 3 tcp, 2 socket".
    public var channelSummary: String {
        let counted = lock.withLock { channels }
        return Channel.allCases.compactMap { kind in counted[kind].map { "\($0) \(kind.rawValue)" } }.joined(separator: ", ")
    }
}

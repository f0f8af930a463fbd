import Foundation

/// Masks every known secret value in text bound for a log line, an error message or printed config.
///
/// One instance is shared by a command's logger, output and error printer, so a secret that becomes
/// known while the config is being read is masked everywhere from then on.
public final class Redactor: @unchecked Sendable {
    /// What a secret is replaced with.
    public static let mask = "********"

    private let lock = NSLock()
    private var secrets: Set<String> = []

    public init(secrets: [String] = []) {
        for secret in secrets { add(secret) }
    }

    /// Remembers `value` as a secret. Empty values are ignored: masking "" would be meaningless.
    public func add(_ value: String) {
        guard !value.isEmpty, value != Self.mask else { return }
        lock.withLock { _ = secrets.insert(value) }
    }

    /// Remembers the password part of every URL in `text` (`scheme://user:PASSWORD@host`).
    public func addURLPasswords(in text: String) {
        for password in Self.urlPasswords(in: text) { add(password) }
    }

    /// The number of distinct secrets known; for tests and `config show`'s summary.
    public var count: Int { lock.withLock { secrets.count } }

    /// `text` with every known secret and every URL password replaced by ``mask``.
    public func redact(_ text: String) -> String {
        // Longest first, so a secret that contains another is masked whole.
        let known = lock.withLock { secrets.sorted { $0.count > $1.count } }
        var result = text
        for secret in known where result.contains(secret) {
            result = result.replacingOccurrences(of: secret, with: Self.mask)
        }
        for password in Self.urlPasswords(in: result) where password != Self.mask {
            result = result.replacingOccurrences(of: ":\(password)@", with: ":\(Self.mask)@")
        }
        return result
    }

    /// Password parts of `scheme://user:password@` URLs in `text`.
    static func urlPasswords(in text: String) -> [String] {
        guard text.contains("://") else { return [] }
        var found: [String] = []
        var rest = Substring(text)
        while let schemeEnd = rest.range(of: "://") {
            rest = rest[schemeEnd.upperBound...]
            // The authority ends at the first '/', '?', '#' or whitespace; its userinfo before the last '@'.
            let authorityEnd = rest.firstIndex { "/?# \t\n\"'".contains($0) } ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@") {
                let userinfo = authority[..<at]
                if let colon = userinfo.firstIndex(of: ":") {
                    let password = userinfo[userinfo.index(after: colon)...]
                    if !password.isEmpty { found.append(String(password)) }
                }
            }
            rest = rest[authorityEnd...]
        }
        return found
    }

    /// Whether a config key or variable name holds a secret by its name alone.
    public static func isSecretName(_ name: String) -> Bool {
        let lowered = name.lowercased()
        return ["password", "passwd", "secret", "token", "passphrase", "private_key", "api_key"]
            .contains { lowered.contains($0) }
    }
}

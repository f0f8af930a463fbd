/// An SSH failure, named by host and carrying libssh2's own message where there is one.
public struct SSHError: Error, CustomStringConvertible, Equatable {
    public enum Kind: String, Sendable {
        case resolve, connect, timeout, handshake, unknownHostKey, changedHostKey, knownHosts
        case authentication, identity, channel, exec, sftp, transfer, verification, library, closed
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

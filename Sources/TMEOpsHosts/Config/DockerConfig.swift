import TMEOpsCore

/// `environments.<name>.docker`: where the environment's Docker engine listens.
public struct DockerConfig: ConfigSection, Equatable {
    public static let key = "docker"
    public static let scope = ConfigScope.environment
    public static let summary = "The Docker engine's socket on the environment's host."

    public var socket: String
    /// Where Docker listens unless `docker.socket` says otherwise.
    public static let defaultSocket = "/var/run/docker.sock"

    enum CodingKeys: String, CodingKey, CaseIterable {
        case socket
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        socket = try c.decode(.socket, default: Self.defaultSocket)
        guard socket.hasPrefix("/") else { throw c.invalid(.socket, "'\(socket)' must be an absolute path on the host") }
    }
}

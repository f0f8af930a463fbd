/// A failure talking to a Docker engine, with the daemon's own message where it sent one.
public enum DockerError: Error, Equatable, CustomStringConvertible {
    /// The engine could not be reached at all.
    case unreachable(String)
    /// The connection failed mid-way.
    case transport(String)
    /// The engine answered with an error status and message.
    case daemon(status: Int, message: String, request: String)
    /// The engine reported an error inside a 200 progress stream (build, load).
    case stream(message: String, request: String)
    /// The engine's answer could not be understood.
    case protocolError(String)

    public var description: String {
        switch self {
        case .unreachable(let message), .transport(let message), .protocolError(let message): return message
        case .daemon(let status, let message, let request): return "\(request): the Docker engine answered \(status): \(message)"
        case .stream(let message, let request): return "\(request): the Docker engine reported: \(message)"
        }
    }

    /// 404 from the engine: no such image, container or network.
    public var isNotFound: Bool {
        if case .daemon(404, _, _) = self { return true }
        return false
    }
}

import Foundation
import TMEOpsCore
import TMEOpsDocker
import TMEOpsSSH

/// Which Docker engine a command talks to: the local one (as the docker CLI finds it), or an
/// environment's, through its SSH host.
public enum DockerEngines {
    /// The local engine: `DOCKER_HOST` (unix://), else /var/run/docker.sock.
    public static func local(_ context: CommandContext) throws -> DockerEngine {
        do {
            return try DockerEngine.local(environment: context.environment)
        } catch let error as DockerError {
            throw TMEOpsError.usage(error.description)
        }
    }

    /// The engine a command talks to: an environment's with `-e`, else the local one. The caller closes
    /// the session (when there is one) when done.
    public static func forCommand(_ context: CommandContext) throws -> (DockerEngine, SSHSession?) {
        guard context.environmentName != nil else { return (try local(context), nil) }
        let (engine, session) = try remote(try context.loadEnvironment().environment, context: context)
        return (engine, session)
    }

    /// An environment's engine over a new SSH session; the caller closes the session when done.
    public static func remote(_ environment: EnvironmentConfig, _ choice: RemoteHost.Choice = .only, context: CommandContext) throws -> (
        DockerEngine, SSHSession
    ) {
        let session = try RemoteHost.connect(environment, choice, context: context)
        let socket = environment.section(DockerConfig.self)?.socket ?? DockerConfig.defaultSocket
        return (DockerEngine.remote(session: session, socket: socket), session)
    }
}

extension DockerError: OperatorError {
    public var exitStatus: ExitStatus { .failure }
}

import Foundation
import TMEOpsCore
import TMEOpsDocker
import TMEOpsPostgres
import TMEOpsSSH

/// A connection to an environment's database, with whatever carries it (an SSH session and forward).
///
/// On a remote host every connection is a channel through the SSH forward and a login, so the session
/// keeps what it opens: its own connection (reopened when a step closed it) and at most one to the
/// server's maintenance database for statements that cannot run on its own.
public final class DatabaseSession: @unchecked Sendable {
    public private(set) var connection: PostgresConnection
    private let forward: LocalPortForward?
    private let session: SSHSession?
    /// The kept connection to `postgres`, opened by ``administration(avoiding:)`` when needed.
    private var maintenance: PostgresConnection?

    public init(connection: PostgresConnection, forward: LocalPortForward? = nil, session: SSHSession? = nil) {
        self.connection = connection
        self.forward = forward
        self.session = session
    }

    /// Where the session's connection goes (through the forward, when there is one).
    public var target: PostgresTarget { connection.target }

    /// Another connection to the same server (through the same forward), to `database`.
    public func connect(database: String) throws -> PostgresConnection {
        try PostgresConnection(target.with(database: database))
    }

    /// The session's own connection, opened again if it was closed (a copy by CREATE DATABASE … TEMPLATE
    /// closes it, as the source may have no other sessions) or lost.
    @discardableResult
    public func reopened() throws -> PostgresConnection {
        if connection.isBroken {
            connection.close()
            connection = try PostgresConnection(target)
        }
        return connection
    }

    /// A connection for statements about another database (CREATE or DROP DATABASE, the sessions on
    /// it): the session's own while it is open, idle and not to `database`; else the kept connection to
    /// the server's maintenance database `postgres`. Belongs to the session: never close it.
    public func administration(avoiding database: String) throws -> PostgresConnection {
        if connection.isIdle, connection.target.database != database { return connection }
        if let maintenance, !maintenance.isBroken { return maintenance }
        maintenance?.close()
        let opened = try PostgresConnection(target.with(database: "postgres"))
        maintenance = opened
        return opened
    }

    public func close() {
        maintenance?.close()
        connection.close()
        try? forward?.stop()
        session?.close()
    }
}

/// How the schema plugin (and those after it) reach a database.
public enum Databases {
    /// Connects to `environment`'s database: by `database.url`, or to `database.container` on the
    /// environment's host through an SSH local forward to the container's address on its network.
    /// `engine`, the database host's engine a command already holds, finds the container's address
    /// without a connection to the engine of its own.
    public static func open(_ environment: EnvironmentConfig, context: CommandContext, engine held: DockerEngine? = nil) throws -> DatabaseSession {
        let database = try environment.require(DatabaseConfig.self, for: "reaching its database")
        let (container, user, name): (String, String, String)
        switch try database.location(environment: environment.name) {
        case .url(let url):
            let target = try PostgresTarget(url: url)
            if let password = target.password { context.redactor.add(password) }
            return DatabaseSession(connection: try PostgresConnection(target))
        case .container(let containerName, let containerUser, let databaseName):
            (container, user, name) = (containerName, containerUser, databaseName)
        }
        guard environment.section(SSHConfig.self) != nil else {
            // A local environment's database container: this machine reaches its bridge address directly.
            let engine = try DockerEngines.local(context)
            guard let details = try engine.container(container), details.state.running else {
                throw TMEOpsError("no running container \(container) in the local Docker engine (\(engine.location)); check database.container")
            }
            guard let address = try engine.hostReachableAddress(of: details) else {
                throw TMEOpsError("the database container \(container) has no network address")
            }
            let target = PostgresTarget(host: address, port: database.port, user: user, password: database.password, database: name)
            if let password = database.password { context.redactor.add(password) }
            return DatabaseSession(connection: try PostgresConnection(target))
        }
        let (forwarded, session) = try DockerEngines.remote(environment, .database, context: context)
        let engine = held ?? forwarded
        do {
            guard let details = try engine.container(container) else {
                throw TMEOpsError("no container \(container) on \(environment.name); check database.container")
            }
            guard details.state.running else {
                throw TMEOpsError("the database container \(container) on \(environment.name) is \(details.state.status), not running")
            }
            guard let address = try engine.hostReachableAddress(of: details) else {
                throw TMEOpsError("the database container \(container) on \(environment.name) has no network address")
            }
            // From here the forward's thread owns the SSH session; nothing else uses it until close(),
            // so the engine's kept channel on it is closed now.
            forwarded.closeIdle()
            let forward = try LocalPortForward(session: session, remoteHost: address, remotePort: database.port)
            do {
                let target = PostgresTarget(host: "127.0.0.1", port: forward.localPort, user: user, password: database.password, database: name)
                let connection = try PostgresConnection(target)
                return DatabaseSession(connection: connection, forward: forward, session: session)
            } catch let error as PostgresError {
                try? forward.stop()
                throw TMEOpsError("cannot connect to \(user)@\(container):\(database.port)/\(name) on \(environment.name) (through SSH): \(error.message)")
            }
        } catch {
            session.close()
            throw error
        }
    }
}

extension PostgresError: OperatorError {
    public var exitStatus: ExitStatus { .failure }
}

extension SchemaError: OperatorError {
    public var exitStatus: ExitStatus { .failure }
}

import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsDocker
import TMEOpsPostgres
import TMEOpsSSH

/// One server of an environment, as a command holds it: how it is reached and the connections to it.
/// Each connection opens on first use and is shared by every part of the command that asks for it
/// (`CommandContext.connections`); the command closes them when it ends, so a caller never closes them.
public final class EnvironmentHost: @unchecked Sendable {
    public let environment: EnvironmentConfig
    /// How this host is reached (its `ssh` section, the passphrase and agent from the process environment).
    public let options: SSHConnectionOptions
    let context: CommandContext

    init(environment: EnvironmentConfig, options: SSHConnectionOptions, context: CommandContext) {
        self.environment = environment
        self.options = options
        self.context = context
    }

    /// The host's name as the operator wrote it (`ssh.host`).
    public var name: String { options.host }

    private var key: String { "host:\(environment.name):\(options.destination)" }

    /// The command's SSH session to this host, opened (host key checked, authenticated) on first use.
    public func session() throws -> SSHSession {
        try context.connections.value("\(key):ssh") {
            let session = try RemoteHost.connect(options, context: context)
            return (session, { session.close() })
        }
    }

    /// The host's Docker engine, over this command's session.
    public func engine() throws -> DockerEngine {
        let session = try session()
        return try context.connections.value("\(key):engine") {
            let engine = DockerEngine.remote(session: session, socket: environment.section(DockerConfig.self)?.socket ?? DockerConfig.defaultSocket)
            return (engine, { engine.closeIdle() })
        }
    }

    /// The host's remote state (lock, journal, ledger, audit) for `app`, over this command's session.
    public func state(app: String) throws -> RemoteState {
        RemoteState(session: try session(), app: app, redactor: context.redactor)
    }

    /// The environment's database (`database.container` on this host, reached through an SSH forward, or
    /// `database.url`): one connection per command, closed with it.
    public func database() throws -> DatabaseSession {
        try context.connections.value("\(key):database") {
            let database = try Databases.open(environment, context: context)
            return (database, { database.close() })
        }
    }

    /// Where this environment's backups are kept on the host (`backups.dir`).
    public var backupsDirectory: String { (environment.section(BackupsConfig.self) ?? BackupsConfig()).dir }

    /// Closes this host's connections (e.g. after a dropped link); the next ask opens new ones.
    public func close() {
        context.connections.discard("\(key):engine")
        context.connections.discard("\(key):ssh")
    }
}

extension CommandContext {
    /// The servers `environment` runs on, in the order its config names them; empty for a local
    /// environment (one without an `ssh` section). A command that acts on an environment acts on each.
    public func hosts(_ environment: EnvironmentConfig) throws -> [EnvironmentHost] {
        guard environment.section(SSHConfig.self) != nil else { return [] }
        return [EnvironmentHost(environment: environment, options: try RemoteHost.options(for: environment, context: self), context: self)]
    }
}

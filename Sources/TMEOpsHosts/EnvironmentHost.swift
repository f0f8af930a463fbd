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

    /// The host's Docker engine, over this command's session. A host's session serves one thread at a
    /// time (libssh2's rule): work that must run beside it opens its own (`RemoteHost.connect`).
    public func engine() throws -> DockerEngine {
        try context.connections.value("\(key):engine") {
            let session = try session()
            let engine = DockerEngine.remote(session: session, socket: environment.section(DockerConfig.self)?.socket ?? DockerConfig.defaultSocket)
            return (engine, { engine.closeIdle() })
        }
    }

    /// This environment's remote state on the host (lock, journal, ledger, audit) for `app`, over this
    /// command's session. The first time a command asks, state an older tmeops kept for every
    /// environment in `~/.tmeops/<app>/` is moved into this environment's folder (and the move logged);
    /// a lock there renewed within `lockTTL` stops the command instead.
    public func state(app: String, lockTTL: TimeInterval = RemoteState.defaultLockTTL) throws -> RemoteState {
        let state = RemoteState(session: try session(), app: app, environment: environment.name, redactor: context.redactor)
        try context.connections.value("\(key):state:\(app)") {
            try state.moveSharedState(lockTTL: lockTTL, context: context)
            return ((), {})
        }
        return state
    }

    /// The environment's database (`database.container` on this host, reached through an SSH forward, or
    /// `database.url`): one connection per command, closed with it.
    public func database() throws -> DatabaseSession {
        try context.connections.value("\(key):database") {
            // The container is found through this host's engine when the database runs here.
            let database = try Databases.open(environment, context: context, engine: runsDatabase ? try engine() : nil)
            return (database, { database.close() })
        }
    }

    /// Whether this host runs the environment's database container (`database.host`, else the first host).
    public var runsDatabase: Bool {
        environment.section(SSHConfig.self) != nil && (try? RemoteHost.host(.database, in: environment)) == name
    }

    /// The TCP ports something listens on in the host's network namespace (its `/proc/net/tcp` and
    /// `tcp6`, read over SSH: no tool needed there; a missing `tcp6` leaves the IPv4 table).
    public func listeningPorts() throws -> Set<Int> {
        SocketTable.listeningPorts(try session().capture(["cat", "/proc/net/tcp", "/proc/net/tcp6"]).stdoutText)
    }

    /// Where this environment's backups are kept on the host (`backups.dir`).
    public var backupsDirectory: String { (environment.section(BackupsConfig.self) ?? BackupsConfig()).dir }

    /// Closes this host's connections (e.g. after a dropped link); the next ask opens new ones.
    public func close() {
        // The session first: a dead link's channels then close at once instead of waiting on it.
        context.connections.discard("\(key):ssh")
        context.connections.discard("\(key):engine")
        context.connections.discard("\(key):database")
    }
}

extension CommandContext {
    /// The servers `environment` runs on, in the order its config names them; empty for a local
    /// environment (one without an `ssh` section). A command that acts on an environment acts on each.
    public func hosts(_ environment: EnvironmentConfig) throws -> [EnvironmentHost] {
        guard let ssh = environment.section(SSHConfig.self) else { return [] }
        return try ssh.hosts.map { name in
            EnvironmentHost(environment: environment, options: try RemoteHost.options(for: environment, .named(name), context: self), context: self)
        }
    }

    /// The hosts of `environment` with every SSH session opened at once, so that one slow host costs
    /// its own timeout, not the sum. One error names every host that could not be reached; a command
    /// calls this before it changes anything.
    public func connectedHosts(_ environment: EnvironmentConfig) throws -> [EnvironmentHost] {
        let hosts = try hosts(environment)
        let slots = ResultSlots<Void>(count: hosts.count)
        DispatchQueue.concurrentPerform(iterations: hosts.count) { index in
            slots.set(index, Result { _ = try hosts[index].session() })
        }
        let failed = zip(hosts, slots.results).compactMap { host, result -> String? in
            if case .failure(let error) = result { return "\(host.name): \(error)" }
            return nil
        }
        guard failed.isEmpty else {
            throw TMEOpsError(
                "cannot reach \(failed.count) of \(hosts.count) hosts of \(environment.name), so nothing was done: \(failed.joined(separator: "; "))")
        }
        return hosts
    }

    /// The host that runs `environment`'s database container (`database.host`, else the first); nil
    /// for a local environment.
    public func databaseHost(_ environment: EnvironmentConfig) throws -> EnvironmentHost? {
        guard environment.section(SSHConfig.self) != nil else { return nil }
        let name = try RemoteHost.host(.database, in: environment)
        return try hosts(environment).first { $0.name == name }
    }
}

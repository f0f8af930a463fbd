import Foundation
import Logging
import TMEOpsCore
import TMEOpsSSH

/// How an environment's host is reached over SSH. Commands hold hosts through `context.hosts(_:)`,
/// which opens one session per host per command; `connect` opens a further one when a part of a
/// command must run beside the others (a background image push, a database forward).
public enum RemoteHost {
    /// Which of an environment's hosts a command reaches.
    public enum Choice: Sendable, Equatable {
        /// The environment's one host; an environment of several is refused (the command acts on one).
        case only
        /// The first host: where the deploy lock and the release ledger are kept.
        case first
        /// The host that runs the database container (`database.host`, else the first).
        case database
        /// One host of `ssh.hosts`, by name (`--host H`).
        case named(String)
    }

    /// The host `choice` names in `environment`; an error naming the key when there is none.
    public static func host(_ choice: Choice, in environment: EnvironmentConfig) throws -> String {
        let ssh = try environment.require(SSHConfig.self, for: "reaching a remote host")
        switch choice {
        case .first: return ssh.host
        case .database: return environment.section(DatabaseConfig.self)?.databaseHost(of: ssh) ?? ssh.host
        case .named(let name):
            guard ssh.hosts.contains(name) else {
                let key = ssh.hosts.count == 1 ? "ssh.host" : "ssh.hosts"
                throw TMEOpsError.usage("'\(name)' is not one of environments.\(environment.name).\(key) (\(ssh.hosts.joined(separator: ", ")))")
            }
            return name
        case .only:
            guard ssh.hosts.count == 1 else {
                throw TMEOpsError.usage(
                    "environments.\(environment.name).ssh.hosts lists \(ssh.hosts.count) hosts (\(ssh.hosts.joined(separator: ", "))), and this command acts on one host; "
                        + "name one with --host H (ssh exec, transfer, validate, logs, image push and prune take it); nothing was changed"
                )
            }
            return ssh.host
        }
    }

    /// The hosts a command that takes `--host H` acts on: that one (checked against `ssh.hosts`), else
    /// every host of the environment (none for an environment without an ssh section).
    public static func hosts(_ named: String?, in environment: EnvironmentConfig) throws -> [String] {
        if let named { return [try host(.named(named), in: environment)] }
        return environment.section(SSHConfig.self)?.hosts ?? []
    }

    /// SSH options for the host `choice` names in `environment`: its `ssh` section, the passphrase from
    /// `TMEOPS_SSH_PASSPHRASE` and the agent from `SSH_AUTH_SOCK`.
    public static func options(for environment: EnvironmentConfig, _ choice: Choice = .only, context: CommandContext) throws -> SSHConnectionOptions {
        // Without an ssh section the environment is local: it has no remote host to reach.
        let ssh = try environment.require(SSHConfig.self, for: "reaching a remote host")
        let host = try host(choice, in: environment)
        let home = context.environment["HOME"] ?? NSHomeDirectory()
        let passphrase = context.environment["TMEOPS_SSH_PASSPHRASE"]
        if let passphrase { context.redactor.add(passphrase) }
        func connection(host: String, port: Int, user: String) -> SSHConnectionOptions {
            SSHConnectionOptions(
                host: host, port: port, user: user,
                identity: ssh.identity.map { SSHConnectionOptions.expand($0, home: home) },
                passphrase: passphrase,
                knownHosts: SSHConnectionOptions.expand(ssh.knownHosts, home: home),
                hostKeyPolicy: ssh.hostKeyPolicy,
                connectTimeout: ssh.connectTimeout.seconds,
                agentSocket: context.environment["SSH_AUTH_SOCK"], ciphers: ssh.ciphers)
        }
        var result = connection(host: host, port: ssh.port, user: ssh.user)
        if let jump = ssh.proxyJump { result.jump = [connection(host: jump.host, port: jump.port, user: jump.user ?? ssh.user)] }
        return result
    }

    /// Connects to the host `choice` names in `environment`; errors name the host and say what to check.
    public static func connect(_ environment: EnvironmentConfig, _ choice: Choice = .only, context: CommandContext) throws -> SSHSession {
        try connect(try options(for: environment, choice, context: context), context: context)
    }

    /// Connects with `options`; errors name the host and say what to check.
    public static func connect(_ options: SSHConnectionOptions, context: CommandContext) throws -> SSHSession {
        context.logger.debug("connecting to \(options.destination)")
        do {
            return try context.services.ssh(options, context.logger)
        } catch let error as SSHError {
            throw TMEOpsError(error.message, exitStatus: .failure)
        }
    }
}

extension SSHError: OperatorError {
    public var exitStatus: ExitStatus { .failure }
}

extension RemoteOutput {
    /// This output, or an error naming `what`, the host and the program's own standard error.
    @discardableResult
    public func checked(_ what: String, on host: String) throws -> RemoteOutput {
        guard exit.succeeded else {
            throw TMEOpsError("\(what) on \(host) failed (\(exit)): \(stderrText.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return self
    }
}

extension SSHSession {
    /// Runs a `sh -c` script tmeops wrote, its operands passed as $1, $2, ... (quoted by ShellQuote, never
    /// spliced into the script); a failure is an error naming `what`, the host and its standard error.
    @discardableResult
    public func script(_ script: String, _ arguments: [String] = [], stdin: Data? = nil, what: String) throws -> RemoteOutput {
        try capture(["sh", "-c", script, "tmeops"] + arguments, stdin: stdin).checked(what, on: options.host)
    }
}

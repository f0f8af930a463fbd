import Foundation
import Logging
import TMEOpsCore
import TMEOpsSSH

/// How an environment's host is reached over SSH. Commands hold hosts through `context.hosts(_:)`,
/// which opens one session per host per command; `connect` opens a further one when a part of a
/// command must run beside the others (a background image push, a database forward).
public enum RemoteHost {
    /// SSH options for `environment`: its `ssh` section, the passphrase from `TMEOPS_SSH_PASSPHRASE`
    /// and the agent from `SSH_AUTH_SOCK`.
    public static func options(for environment: EnvironmentConfig, context: CommandContext) throws -> SSHConnectionOptions {
        // Without an ssh section the environment is local: it has no remote host to reach.
        let ssh = try environment.require(SSHConfig.self, for: "reaching a remote host")
        let home = context.environment["HOME"] ?? NSHomeDirectory()
        let passphrase = context.environment["TMEOPS_SSH_PASSPHRASE"]
        if let passphrase { context.redactor.add(passphrase) }
        return SSHConnectionOptions(
            host: ssh.host, port: ssh.port, user: ssh.user,
            identity: ssh.identity.map { SSHConnectionOptions.expand($0, home: home) },
            passphrase: passphrase,
            knownHosts: SSHConnectionOptions.expand(ssh.knownHosts, home: home),
            hostKeyPolicy: ssh.hostKeyPolicy,
            connectTimeout: ssh.connectTimeout.seconds,
            agentSocket: context.environment["SSH_AUTH_SOCK"], ciphers: ssh.ciphers)
    }

    /// Connects to `environment`'s host; errors name the host and say what to check.
    public static func connect(_ environment: EnvironmentConfig, context: CommandContext) throws -> SSHSession {
        try connect(try options(for: environment, context: context), context: context)
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

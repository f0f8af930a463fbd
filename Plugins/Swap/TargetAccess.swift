import ArgumentParser
import BackupPlugin
import Foundation
import ImagePlugin
import SchemaPlugin
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import TMEOpsPostgres
import TransferPlugin
import ValidatePlugin

/// Opens the deploy target of the command's environment (`loaded`, or loaded here), runs `body` on a thread, closes it.
/// `host` chooses one host of an environment of several (without it, such an environment is refused):
/// `.first` for what lives with the lock (the ledger), `.database` for what lives with the database.
func withTarget<T: Sendable>(
    _ context: CommandContext, _ what: String, loaded: (LoadedConfig, EnvironmentConfig)? = nil, host: RemoteHost.Choice? = nil,
    _ body: @escaping @Sendable (DeployTarget) throws -> T
) async throws -> T {
    let (config, environment) = try loaded ?? context.loadEnvironment()
    let name = try host.flatMap { choice in environment.section(SSHConfig.self) == nil ? nil : try RemoteHost.host(choice, in: environment) }
    return try await runBlocking(what) {
        let target = try DeployTarget(context: context, config: config, environment: environment, host: name)
        defer { target.close() }
        return try body(target)
    }
}

/// The deploy targets of every host of the command's environment, their SSH sessions opened at once (an
/// unreachable host is named before anything changes), and the one that runs the database; `body` runs
/// on a thread, the targets are closed after it.
func withTargets<T: Sendable>(
    _ context: CommandContext, _ what: String, loaded: (LoadedConfig, EnvironmentConfig)? = nil,
    _ body: @escaping @Sendable (_ all: [DeployTarget], _ database: DeployTarget) throws -> T
) async throws -> T {
    let (config, environment) = try loaded ?? context.loadEnvironment()
    guard let ssh = environment.section(SSHConfig.self), ssh.hosts.count > 1 else {
        return try await withTarget(context, what, loaded: (config, environment)) { target in try body([target], target) }
    }
    return try await runBlocking(what) {
        _ = try context.connectedHosts(environment)
        let targets = try ssh.hosts.map { try DeployTarget(context: context, config: config, environment: environment, host: $0) }
        defer {
            for target in targets { target.close() }
        }
        let databaseHost = try RemoteHost.host(.database, in: environment)
        return try body(targets, targets.first { $0.host.name == databaseHost } ?? targets[0])
    }
}

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
func withTarget<T: Sendable>(
    _ context: CommandContext, _ what: String, loaded: (LoadedConfig, EnvironmentConfig)? = nil, _ body: @escaping @Sendable (DeployTarget) throws -> T
) async throws -> T {
    let (config, environment) = try loaded ?? context.loadEnvironment()
    return try await runBlocking(what) {
        let target = try DeployTarget(context: context, config: config, environment: environment)
        defer { target.close() }
        return try body(target)
    }
}

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

/// A local environment's test instance ("test locally first"): the image on this
/// machine's engine against the development database. The database URL reaches the container in an env
/// file mounted read-only (in a 0700 folder beside tmeops.yml), never in its configuration. A database on
/// this machine's loopback is reached with host networking; otherwise the app's port is published.
public enum LocalTestInstance {
    static func name(_ config: LoadedConfig, _ environment: EnvironmentConfig) -> String { "\(config.app)-\(environment.name)-test" }

    static func envFile(_ config: LoadedConfig, _ environment: EnvironmentConfig) -> URL {
        config.url.deletingLastPathComponent().appendingPathComponent(".tmeops/run/\(name(config, environment)).env")
    }

    public static func up(_ environment: EnvironmentConfig, config: LoadedConfig, context: CommandContext, image: String, port: Int?) throws
        -> HealthWait.Outcome
    {
        let engine = try DockerEngines.local(context)
        let health = environment.section(HealthConfig.self) ?? HealthConfig()
        let databaseConfig = try environment.require(DatabaseConfig.self, for: "a test instance's database")
        guard case .url(let url) = try databaseConfig.location(environment: environment.name) else {
            throw TMEOpsError.usage(
                "a local test instance needs environments.\(environment.name).database.url (a database container on this machine is not supported yet)")
        }
        let target = try PostgresTarget(url: url)
        if let password = target.password { context.redactor.add(password) }
        guard let details = try engine.image(image) else {
            throw TMEOpsError("no image \(image) in the local engine (\(engine.location)); build it with `tmeops image build`")
        }
        let container = name(config, environment)
        try AppContainers.removeIfPresent(engine, container)
        let file = envFile(config, environment)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: file.deletingLastPathComponent().path)
        let app = environment.section(AppContainerConfig.self)
        var variables: [(key: String, value: String)] = [("DATABASE_URL", url)] + (app?.env ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        if app?.env["NODE_ENV"] == nil { variables.append(("NODE_ENV", "production")) }
        try AtomicFile.write(Data(DotEnv.shellExports(variables).utf8), to: file, overwrite: true, displayPath: file.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file.path)
        let loopback = ["127.0.0.1", "localhost", "::1"].contains(target.host)
        let published = port ?? health.port
        // Host networking publishes nothing; otherwise the app's port, on this machine's loopback only.
        let ports = loopback ? nil : AppContainers.ports([try PortMapping(parsing: "127.0.0.1:\(published):\(health.port)")])
        let command = (details.config?.entrypoint ?? []) + (details.config?.cmd ?? [])
        let spec = ContainerSpec(
            image: image, entrypoint: ["/bin/sh", "-c", AppContainers.wrapper, "tmeops-env"], cmd: command,
            labels: ["tmeops.app": config.app, "test": "true"], exposedPorts: ports?.exposed,
            hostConfig: .init(
                portBindings: ports?.bindings, networkMode: loopback ? "host" : nil, binds: ["\(file.path):\(AppContainers.envMount):ro"], initProcess: true))
        _ = try engine.createContainer(name: container, spec: spec)
        try engine.startContainer(container)
        var outcome = try HealthWait.wait(
            engine: engine, route: .direct, container: container, network: nil, health: health, fixedAddress: ("127.0.0.1", loopback ? health.port : published),
            log: { context.logger.info("\($0)") })
        if !outcome.healthy && (outcome.logTail ?? []).isEmpty {
            var lines: [String] = []
            try? engine.logs(container, tail: 50) { _, data in lines += String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init) }
            outcome.logTail = lines
        }
        return outcome
    }

    public static func down(_ environment: EnvironmentConfig, config: LoadedConfig, context: CommandContext) throws -> String {
        let engine = try DockerEngines.local(context)
        let container = name(config, environment)
        try? FileManager.default.removeItem(at: envFile(config, environment))
        guard try engine.container(container) != nil else { return "no test instance \(container)" }
        try engine.removeContainer(container, force: true)
        return "removed \(container)"
    }
}

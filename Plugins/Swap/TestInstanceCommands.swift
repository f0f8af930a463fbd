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

/// `tmeops test-instance up|down -e ENV`.
public struct TestInstanceCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "test-instance", abstract: "Run or remove a test container of an image on the test port.",
        subcommands: [TestInstanceUpCommand.self, TestInstanceDownCommand.self])

    public init() {}
}

public struct TestInstanceUpCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "up", abstract: "Start <app.container>-test from an image on the host, on the test port, and wait for its health.",
        discussion: """
            The image must already be on the host (`tmeops image push`). It runs against --database \
            (default: test_instance.database), labelled test=true.

            Examples:
              tmeops test-instance up -e production --image tme-portal-server:latest --database tme_portal_test
            """)

    @OptionGroup public var globals: GlobalOptions

    @Option(help: "The image on the host.")
    public var image: String

    @Option(help: "The database it uses (default: test_instance.database).")
    public var database: String?

    @Option(help: "A local environment's test instance: the port it is published on (default: health.port).")
    public var port: Int?

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let (config, environment) = try context.loadEnvironment()
        if environment.section(SSHConfig.self) == nil {
            let (image, port) = (self.image, self.port)
            let outcome = try await runBlocking("test-instance up") {
                try LocalTestInstance.up(environment, config: config, context: context, image: image, port: port)
            }
            return try report(outcome, context: context)
        }
        let (image, database) = (self.image, self.database)
        let outcome = try await withTarget(context, "test-instance up", host: .database) { target -> HealthWait.Outcome in
            guard let details = try target.engine.image(image) else { throw TMEOpsError("no image \(image) on \(target.environment.name); push it first") }
            try AppContainers.removeIfPresent(target.engine, target.test)
            let plan = AppContainers.Plan(
                name: target.test, image: image, release: "test", publish: try target.testInstance?.publish ?? [PortMapping(parsing: "3001:3000")],
                network: target.app.network, aliases: [], test: true, testDatabase: database ?? target.testInstance?.database)
            _ = try target.createTestContainer(plan: plan, image: details, database: database ?? target.testInstance?.database)
            try target.engine.startContainer(target.test)
            return try target.healthWait(target.test)
        }
        try report(outcome, context: context)
    }

    func report(_ outcome: HealthWait.Outcome, context: CommandContext) throws {
        let out = context.output
        out.line(
            outcome.healthy ? "\(out.green("✓")) test instance healthy: \(outcome.detail)" : "\(out.red("✗")) test instance not healthy: \(outcome.detail)")
        for line in outcome.logTail ?? [] { out.line("    \(line)") }
        if !outcome.healthy { throw ExitCode(ExitStatus.checkFailed.rawValue) }
    }
}

public struct TestInstanceDownCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(commandName: "down", abstract: "Remove the test container.")

    @OptionGroup public var globals: GlobalOptions

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let (config, environment) = try context.loadEnvironment()
        if environment.section(SSHConfig.self) == nil {
            let removed = try await runBlocking("test-instance down") { try LocalTestInstance.down(environment, config: config, context: context) }
            return context.output.line(removed)
        }
        let removed = try await withTarget(context, "test-instance down", host: .database) { target -> String in
            guard try target.engine.container(target.test) != nil else { return "no test instance \(target.test)" }
            try target.engine.removeContainer(target.test, force: true)
            return "removed \(target.test)"
        }
        context.output.line(removed)
    }
}

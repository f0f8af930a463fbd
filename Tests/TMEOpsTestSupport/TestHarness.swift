import ArgumentParser
import Foundation
import Logging
import TMEOpsCore
import TMEOpsHosts

/// A command context for tests: its own registry, a temporary working folder, and buffers in place of
/// standard output and error.
public final class TestHarness: @unchecked Sendable {
    public let registry = PluginRegistry()
    public let directory: URL
    public let stdout = BufferSink()
    public let stderr = BufferSink()
    public let redactor = Redactor()
    public var environment: [String: String]
    public var options: GlobalOptions

    /// - Parameter arguments: global flags, as on a command line (`["--json", "-e", "production"]`).
    public init(registering plugins: [any Plugin.Type] = [], environment: [String: String] = [:], arguments: [String] = []) throws {
        directory = try TemporaryDirectory.make()
        self.environment = environment
        options = try GlobalOptions.parse(arguments)
        // The host layer's sections (ssh, docker, app, database, health, backups) are there in every
        // registry, as in the binary.
        try registry.register(HostLayer.self, origin: .core)
        for plugin in plugins where ObjectIdentifier(plugin) != ObjectIdentifier(HostLayer.self) { try registry.register(plugin, origin: .builtIn) }
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// Writes `text` to `name` inside the working folder.
    public func write(_ name: String, _ text: String) throws {
        let url = directory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    public var context: CommandContext { context(options: options) }

    /// Runs `command` as the binary would, with the global flags it was parsed with.
    public func run<Command: TMEOpsCommand>(_ command: Command) async throws {
        let context = context(options: command.globals)
        defer { context.connections.closeAll() }
        try await command.run(context)
    }

    public func context(options: GlobalOptions) -> CommandContext {
        let sink = stderr
        let redactor = self.redactor
        let level = options.logLevel
        let stdout = self.stdout
        let logger = Logger(label: "tmeops-test") { _ in HumanLogHandler(sink: sink, redactor: redactor, level: level, color: false) }
        return CommandContext(
            options: options, environment: environment, workingDirectory: directory, logger: logger,
            output: Output(sink: stdout, redactor: redactor, json: options.json), errorSink: stderr,
            redactor: redactor, registry: registry)
    }
}

public enum TemporaryDirectory {
    /// A new empty folder under the system's temporary directory.
    public static func make(prefix: String = "tmeops-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.resolvingSymlinksInPath()
    }
}

extension TestHarness {
    /// Runs `command` as the binary would and returns the exit status it would end with (0, an
    /// `ExitCode`'s, or an `OperatorError`'s) with the error's text; standard output is cleared first.
    public func outcome<Command: TMEOpsCommand>(_ command: Command) async -> (status: Int32, error: String) {
        stdout.clear()
        do {
            try await run(command)
            return (0, "")
        } catch let exit as ExitCode {
            return (exit.rawValue, "")
        } catch let error as OperatorError {
            return (error.exitStatus.rawValue, "\(error)")
        } catch {
            return (1, "\(error)")
        }
    }
}

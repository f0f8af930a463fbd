import ArgumentParser
import Foundation
import Logging
import TMEOpsSSH

/// A tmeops command: an argument-parser command that is handed a ``CommandContext``.
///
/// Implement ``run(_:)``; the default `run()` builds the live context from the global flags and
/// the process environment. Tests call ``run(_:)`` with a context of their own.
public protocol TMEOpsCommand: AsyncParsableCommand {
    var globals: GlobalOptions { get }
    func run(_ context: CommandContext) async throws
}

extension TMEOpsCommand {
    public mutating func run() async throws {
        let context = CommandContext.live(options: globals, registry: .shared, command: Self.self)
        defer {
            context.connections.closeAll()
            // For measuring round trips (bench/wan counts a deploy's): each channel is one.
            let (sessions, channels) = SSHStatistics.shared.counts
            if sessions > 0 {
                context.logger.debug(
                    "SSH: \(sessions) session\(sessions == 1 ? "" : "s") and \(channels) channels opened (\(SSHStatistics.shared.channelSummary))")
            }
        }
        do {
            try await run(context)
        } catch {
            throw context.report(error)
        }
    }
}

extension CommandContext {
    /// Logs `error` (redacted) and returns the exit code it maps to. Argument-parser's own errors
    /// (help, usage, explicit exit codes) pass through untouched.
    public func report(_ error: Error) -> Error {
        switch error {
        case let error as OperatorError:
            logger.error("\(error.description)")
            return ExitCode(error.exitStatus.rawValue)
        case is ExitCode, is CleanExit, is ValidationError:
            return error
        default:
            logger.error("\(String(describing: error))")
            return ExitCode(ExitStatus.failure.rawValue)
        }
    }

    /// The context of a real run: standard output and error, the process environment, the shared registry.
    public static func live(options: GlobalOptions, registry: PluginRegistry, command: (any ParsableCommand.Type)?) -> CommandContext {
        let environment = ProcessInfo.processInfo.environment
        let redactor = Redactor()
        let errorSink = FileDescriptorSink.standardError
        let noColor = options.noColor || environment["NO_COLOR"].map { !$0.isEmpty } == true || environment["TERM"] == "dumb"
        let format = options.logFormat ?? environment["TMEOPS_LOG_FORMAT"].flatMap(LogFormat.init(rawValue:)) ?? .text
        let level = options.logLevel
        let colorLogs = errorSink.isTerminal && !noColor
        var logger = Logger(label: "tmeops") { _ in
            switch format {
            case .text: return HumanLogHandler(sink: errorSink, redactor: redactor, level: level, color: colorLogs)
            case .json: return JSONLogHandler(sink: errorSink, redactor: redactor, level: level)
            }
        }
        if let command {
            logger[metadataKey: LogField.command] = .string(command._commandName)
            if let plugin = registry.plugin(owning: command) {
                logger[metadataKey: LogField.plugin] = .string(plugin.description.id)
            }
        }
        if let name = options.environment ?? environment["TMEOPS_ENV"], !name.isEmpty {
            logger[metadataKey: LogField.environment] = .string(name)
        }
        let stdout = FileDescriptorSink.standardOutput
        let output = Output(sink: stdout, redactor: redactor, json: options.json, color: stdout.isTerminal && !noColor)
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
        return CommandContext(
            options: options, environment: environment, workingDirectory: cwd, logger: logger,
            output: output, errorSink: errorSink, redactor: redactor, registry: registry)
    }
}

import ArgumentParser
import Logging

/// The flags every tmeops command accepts (listed in the README and `tmeops --help`).
public struct GlobalOptions: ParsableArguments, Sendable {
    @Option(name: .long, help: ArgumentHelp("Path of the config file.", valueName: "path"), completion: .file(extensions: ["yml", "yaml"]))
    public var config: String?

    @Option(
        name: [.short, .customLong("env")], help: ArgumentHelp("Environment to act on (default: $TMEOPS_ENV).", valueName: "name"),
        completion: .custom(EnvironmentCompletion.candidates))
    public var environment: String?

    @Flag(name: .shortAndLong, help: "More log output (-vv for trace).")
    public var verbose: Int

    @Flag(name: .shortAndLong, help: "Only warnings and errors.")
    public var quiet = false

    @Option(name: .long, help: "Log line format: text or json.")
    public var logFormat: LogFormat?

    @Flag(name: .long, help: "Machine-readable output where the command has a result.")
    public var json = false

    @Flag(name: .long, help: "Print the plan and change nothing.")
    public var dryRun = false

    @Flag(name: .long, help: "Answer yes to every prompt.")
    public var yes = false

    @Flag(name: .long, help: "No colour, even on a terminal.")
    public var noColor = false

    public init() {}

    /// The log level the flags ask for.
    public var logLevel: Logger.Level {
        if quiet { return .warning }
        switch verbose {
        case 0: return .info
        case 1: return .debug
        default: return .trace
        }
    }
}

/// Durations on the command line are written as in tmeops.yml: `90s`, `5m`, `1h30m`.
extension ConfigDuration: ExpressibleByArgument {
    public init?(argument: String) {
        guard let parsed = try? ConfigDuration(parsing: argument) else { return nil }
        self = parsed
    }
}

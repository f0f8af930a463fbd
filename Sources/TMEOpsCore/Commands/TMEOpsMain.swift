import ArgumentParser
import Foundation

/// Runs tmeops: plugin help topics, external plugins, then the argument-parser command tree, and maps
/// every outcome onto the exit codes of `ExitStatus`.
public enum TMEOpsMain {
    public static func main(arguments: [String] = Array(CommandLine.arguments.dropFirst()), registry: PluginRegistry = .shared) async -> Never {
        let plugins = registry.plugins  // freezes the registry before anything reads it
        // A closed pipe or socket must surface as EPIPE, reported with its context, never as a silent death.
        signal(SIGPIPE, SIG_IGN)

        // `tmeops help PLUGIN` shows a plugin's self-description; other `help X` go to argument-parser.
        if arguments.count == 2, arguments[0] == "help", let plugin = plugins.first(where: { $0.description.id == arguments[1] }) {
            FileDescriptorSink.standardOutput.write(PluginHelp.render(plugin))
            exit(0)
        }

        let leading = LeadingOptions(arguments)
        if let name = leading.commandName, name != "help", !reservedNames(registry).keys.contains(name) {
            let environment = ProcessInfo.processInfo.environment
            let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
            let configPath = leading.config ?? environment["TMEOPS_CONFIG"] ?? "tmeops.yml"
            let configURL = ConfigLoader.resolve(configPath, in: cwd)
            let finder = ExternalPluginFinder(
                projectDirectory: configURL.deletingLastPathComponent(), searchPath: environment["PATH"] ?? "", reservedNames: reservedNames(registry))
            if let plugin = finder.runnable(name) {
                let pluginEnvironment = ExternalPluginFinder.environment(
                    base: environment, configURL: configURL,
                    environmentName: leading.environment ?? environment["TMEOPS_ENV"],
                    logFormat: leading.logFormat ?? environment["TMEOPS_LOG_FORMAT"].flatMap(LogFormat.init(rawValue:)) ?? .text,
                    dryRun: leading.dryRun || environment["TMEOPS_DRY_RUN"] == "1")
                let failure = ExternalPluginFinder.exec(plugin, arguments: Array(arguments[(leading.commandIndex + 1)...]), environment: pluginEnvironment)
                FileDescriptorSink.standardError.write("error \(failure.message)\n")
                exit(ExitStatus.failure.rawValue)
            }
        }

        let command: ParsableCommand
        do {
            command = try TMEOpsRoot.parseAsRoot(leading.movedAfterCommand(arguments))
        } catch {
            exitWith(error, parseError: true)
        }
        do {
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                var syncCommand = command
                try syncCommand.run()
            }
        } catch {
            exitWith(error, parseError: false)
        }
        exit(0)
    }

    /// Command names tmeops itself owns, with their owner, for shadowing external plugins.
    static func reservedNames(_ registry: PluginRegistry) -> [String: String] {
        var names: [String: String] = ["help": "core"]
        for command in CoreCommands.all { names[command._commandName] = "core" }
        for plugin in registry.plugins {
            for name in plugin.commandNames { names[name] = plugin.description.id }
        }
        return names
    }

    private static func exitWith(_ error: Error, parseError: Bool) -> Never {
        if let code = error as? ExitCode {
            exit(code.rawValue)
        }
        let status = TMEOpsRoot.exitCode(for: error)
        let message = TMEOpsRoot.fullMessage(for: error)
        if status == .success {
            if !message.isEmpty { FileDescriptorSink.standardOutput.write(message + "\n") }
            exit(0)
        }
        if !message.isEmpty { FileDescriptorSink.standardError.write(message + "\n") }
        // Argument-parser reports usage problems as EX_USAGE (64); tmeops promises 2.
        exit(parseError || status == .validationFailure ? ExitStatus.usage.rawValue : ExitStatus.failure.rawValue)
    }
}

extension LeadingOptions {
    /// `arguments` with the leading global options moved behind the command, where every tmeops command
    /// declares them (and before a `--`, after which words belong to a remote command).
    func movedAfterCommand(_ arguments: [String]) -> [String] {
        guard commandName != nil, !globalWords.isEmpty else { return arguments }
        var rest = Array(arguments[commandIndex...])
        let insertion = rest.firstIndex(of: "--") ?? rest.endIndex
        rest.insert(contentsOf: globalWords, at: insertion)
        return rest
    }
}

/// The global options before the first word that is not one, so that `tmeops -e prod NAME ...`
/// can hand an external plugin its settings.
struct LeadingOptions {
    var config: String?
    var environment: String?
    var logFormat: LogFormat?
    var dryRun = false
    var commandName: String?
    var commandIndex = 0
    /// The global option words before the command name, e.g. `["--config", "x.yml", "-e", "prod"]`.
    var globalWords: [String] = []

    init(_ arguments: [String]) {
        let valued: Set<String> = ["--config", "-e", "--env", "--log-format"]
        let flags: Set<String> = ["-v", "-vv", "-vvv", "--verbose", "-q", "--quiet", "--json", "--dry-run", "--yes", "--no-color"]
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            var name = argument
            var value: String?
            if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                value = String(argument[argument.index(after: equals)...])
            }
            if valued.contains(name) {
                globalWords.append(argument)
                if value == nil {
                    index += 1
                    value = index < arguments.count ? arguments[index] : nil
                    if let value { globalWords.append(value) }
                }
                switch name {
                case "--config": config = value
                case "-e", "--env": environment = value
                default: logFormat = value.flatMap(LogFormat.init(rawValue:))
                }
            } else if flags.contains(argument) {
                globalWords.append(argument)
                if argument == "--dry-run" { dryRun = true }
            } else if argument.hasPrefix("-") {
                return  // Not a global option: argument-parser will explain.
            } else {
                commandName = argument
                commandIndex = index
                return
            }
            index += 1
        }
    }
}

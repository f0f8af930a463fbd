import Foundation
import Yams

/// `secrets.command` in tmeops.yml: a local command (a password manager's CLI, `sops -d`, `pass`) whose
/// standard output, `KEY=value` lines as in `.tmeops/secrets.env`, supplies `${KEY}` values. The output
/// is held in memory only: never written to disk, and every value goes to the redactor before use.
///
/// A string runs through `/bin/sh -c` (pipes and `$VAR` work as in a shell); a list runs as an argument
/// vector. Its standard input and standard error are the operator's (a password manager may ask for a
/// passphrase; its standard input only when that is a terminal), and it runs in the config file's folder.
enum SecretsCommand {
    static let key = "secrets"

    /// The command's `KEY=value` pairs, or nil when tmeops.yml has no `secrets.command`.
    static func values(
        _ node: Node, fileSecrets: [String: String], directory: URL, environment: [String: String], context: DecodeContext
    ) throws -> [String: String]? {
        let path: [CodingKey] = [AnyKey(stringValue: key)]
        guard case .mapping(let mapping) = node else {
            throw context.error(node, path, "expected a mapping with command (e.g. secrets: { command: \"sops -d secrets.env\" })")
        }
        var commandNode: Node?
        for (keyNode, valueNode) in mapping {
            guard keyNode.string == "command" else {
                throw context.error(keyNode, path + [AnyKey(stringValue: keyNode.string ?? "?")], "unknown key '\(keyNode.string ?? "?")'; expected: command")
            }
            commandNode = valueNode
        }
        guard let commandNode else { return nil }
        let commandPath = path + [AnyKey(stringValue: "command")]
        let arguments: [String]
        switch commandNode {
        case .scalar(let scalar) where !scalar.string.trimmingCharacters(in: .whitespaces).isEmpty:
            arguments = ["/bin/sh", "-c", scalar.string]
        case .sequence(let sequence) where !sequence.isEmpty:
            arguments = try sequence.map { item in
                guard case .scalar(let scalar) = item, !scalar.string.isEmpty else {
                    throw context.error(item, commandPath, "each item of the command list must be a word")
                }
                return scalar.string
            }
        default:
            throw context.error(commandNode, commandPath, "expected a command: a string run by /bin/sh, or a list of words")
        }
        // A command loads its config more than once; the password manager is asked once per process.
        let cacheKey = ([directory.path] + arguments).joined(separator: "\u{0}")
        if let known = cache.value(cacheKey) { return known }
        let shown = arguments.count == 3 && arguments[0] == "/bin/sh" ? arguments[2] : arguments.joined(separator: " ")
        let output: Data
        let status: Int32
        do {
            (output, status) = try run(arguments, directory: directory, environment: environment)
        } catch {
            throw context.error(commandNode, commandPath, "could not start `\(shown)`: \(error.localizedDescription)")
        }
        guard status == 0 else {
            throw context.error(
                commandNode, commandPath, "`\(shown)` exited with status \(status) (its own messages are above); no command was run with partial secrets")
        }
        // Its lines are parsed as secrets.env is. A line that is not KEY=value may be a bare secret
        // (`pass show` prints the password first): the error names its number, never its text.
        let pairs: [(key: String, value: String)]
        do {
            pairs = try DotEnv.parse(String(decoding: output, as: UTF8.self), file: "the output of secrets.command")
        } catch let error as ConfigError {
            throw context.error(
                commandNode, commandPath,
                "line \(error.line.map(String.init) ?? "?") of the output of `\(shown)` is not KEY=value (each line must be NAME=value, as in .tmeops/secrets.env)"
            )
        }
        var values: [String: String] = [:]
        for (name, value) in pairs {
            context.redactor.add(value)
            values[name] = value
        }
        if let both = values.keys.sorted().first(where: { fileSecrets[$0] != nil }) {
            throw context.error(commandNode, commandPath, "\(both) comes from both .tmeops/secrets.env and secrets.command; keep it in one")
        }
        cache.store(values, cacheKey)
        return values
    }

    /// The outputs already read by this process, in memory only.
    final class Cache: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [String: [String: String]] = [:]
        func value(_ key: String) -> [String: String]? { lock.withLock { values[key] } }
        func store(_ value: [String: String], _ key: String) { lock.withLock { values[key] = value } }
    }
    static let cache = Cache()

    /// Runs `arguments` with the operator's standard input and error; its standard output is returned.
    static func run(_ arguments: [String], directory: URL, environment: [String: String]) throws -> (Data, Int32) {
        let process = Process()
        let executable = arguments[0]
        if executable.contains("/") {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = Array(arguments.dropFirst())
        } else {
            // A bare name is looked up on PATH, as a shell would.
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = arguments
        }
        process.currentDirectoryURL = directory
        process.environment = environment
        // A terminal is passed on (a password manager may ask for a passphrase); piped input is not
        // the command's to eat (it may be a dump fed to `tmeops exec -i`).
        if isatty(STDIN_FILENO) != 1 { process.standardInput = FileHandle.nullDevice }
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        return (data, LocalProcess.exitStatus(of: process).status)
    }
}

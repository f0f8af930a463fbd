import Foundation

/// An executable `tmeops-NAME` that runs as `tmeops NAME ...`.
public struct ExternalPlugin: Sendable, Equatable, Codable {
    public enum Source: String, Sendable, Codable {
        /// Found in the project's `.tmeops/plugins/`.
        case project
        /// Found on `PATH`.
        case path
    }

    public let name: String
    public let path: String
    public let source: Source
    /// Set when a built-in or team command has the same name and so always wins.
    public let shadowedBy: String?
}

/// Finds external plugins: `.tmeops/plugins/` beside the config first, then `PATH` in order; the first
/// executable of a name wins, as a shell would pick it.
public struct ExternalPluginFinder: Sendable {
    public static let prefix = "tmeops-"

    public let projectDirectory: URL
    public let searchPath: String
    /// Command names that belong to tmeops itself and so shadow an external plugin.
    public let reservedNames: [String: String]

    /// - Parameters:
    ///   - projectDirectory: The directory holding `tmeops.yml` (and so `.tmeops/plugins/`).
    ///   - searchPath: The `PATH` value.
    ///   - reservedNames: Command name → owner (`core`, a plugin id) for every built-in command.
    public init(projectDirectory: URL, searchPath: String, reservedNames: [String: String]) {
        self.projectDirectory = projectDirectory
        self.searchPath = searchPath
        self.reservedNames = reservedNames
    }

    public func all() -> [ExternalPlugin] {
        var found: [ExternalPlugin] = []
        var seen: Set<String> = []
        let projectPlugins = projectDirectory.appendingPathComponent(".tmeops/plugins").path
        let directories =
            [(projectPlugins, ExternalPlugin.Source.project)]
            + searchPath.split(separator: ":").map { (String($0), ExternalPlugin.Source.path) }
        for (directory, source) in directories where !directory.isEmpty {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { continue }
            for file in names.sorted() where file.hasPrefix(Self.prefix) && file.count > Self.prefix.count {
                let name = String(file.dropFirst(Self.prefix.count))
                let path = (directory as NSString).appendingPathComponent(file)
                guard !seen.contains(name), Self.isExecutableFile(path) else { continue }
                seen.insert(name)
                found.append(ExternalPlugin(name: name, path: path, source: source, shadowedBy: reservedNames[name]))
            }
        }
        return found
    }

    /// The external plugin `name` would run, unless a built-in command shadows it.
    public func runnable(_ name: String) -> ExternalPlugin? {
        all().first { $0.name == name && $0.shadowedBy == nil }
    }

    static func isExecutableFile(_ path: String) -> Bool {
        var status = stat()
        guard stat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { return false }
        return access(path, X_OK) == 0
    }

    /// The environment an external plugin receives: the caller's, plus the tmeops settings.
    public static func environment(base: [String: String], configURL: URL, environmentName: String?, logFormat: LogFormat, dryRun: Bool) -> [String: String] {
        var environment = base
        environment["TMEOPS_CONFIG"] = configURL.path
        environment["TMEOPS_ENV"] = environmentName ?? ""
        environment["TMEOPS_LOG_FORMAT"] = logFormat.rawValue
        environment["TMEOPS_DRY_RUN"] = dryRun ? "1" : "0"
        return environment
    }

    /// Replaces this process with the plugin, so its exit status and signals are the caller's to see.
    public static func exec(_ plugin: ExternalPlugin, arguments: [String], environment: [String: String]) -> TMEOpsError {
        let argv = ([plugin.path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        execve(plugin.path, argv, envp)
        let reason = String(cString: strerror(errno))
        return TMEOpsError("cannot run external plugin \(plugin.path): \(reason); check that it is executable and its #! line names an installed interpreter")
    }
}

import ArgumentParser
import Foundation
import Yams

/// `tmeops config`: check and show `tmeops.yml`.
public struct ConfigCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check tmeops.yml or show it resolved, with secrets redacted.",
        subcommands: [ConfigCheckCommand.self, ConfigShowCommand.self])

    public init() {}
}

/// `tmeops config check`: decode and validate; exit 2 with `file:line:column` on the first problem.
public struct ConfigCheckCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate tmeops.yml (every environment, or the one chosen with -e).",
        discussion: """
            Exits 0 when the file is valid and 2 on the first problem, which is reported as \
            FILE:LINE:COLUMN: KEY: MESSAGE. Warns (exit 0) when a value of .tmeops/secrets.env reaches \
            app.env or build.args, where docker inspect or the image's history would show it, and when \
            two environments share a server, a login, backups.dir and a database name (one database \
            that both would migrate, back up and restore).

            Examples:
              tmeops config check
              tmeops config check -e production
              tmeops --config deploy/tmeops.yml config check --json
            """)

    @OptionGroup public var globals: GlobalOptions

    public init() {}

    struct Report: Encodable {
        let file: String
        let valid: Bool
        let app: String
        let image: String
        let environments: [String]
        let checked: [String]
        let warnings: [String]
    }

    public func run(_ context: CommandContext) async throws {
        let selection = context.environmentName.map(EnvironmentSelection.named) ?? .all
        let config = try context.loadConfig(selecting: selection)
        let checked = config.environmentNames.filter { config.environments[$0] != nil }
        let advice = checked.flatMap { name in config.environments[name]?.advice.map { "\(config.displayPath): \($0)" } ?? [] }
        let warnings = try Self.exposedSecrets(config) + (try Self.sharedBackups(config)) + advice
        for warning in warnings { context.logger.warning("\(warning)") }
        let report = Report(
            file: config.displayPath, valid: true, app: config.app, image: config.image, environments: config.environmentNames, checked: checked,
            warnings: warnings)
        if context.json {
            try context.output.writeJSON(report)
        } else {
            context.output.line(
                "\(context.output.green("✓")) \(config.displayPath) is valid: app \(config.app), image \(config.image); checked \(checked.count == 1 ? "environment" : "environments") \(checked.joined(separator: ", "))"
            )
        }
    }
}

extension ConfigCheckCommand {
    /// Values from `.tmeops/secrets.env` or `secrets.command` that the config puts where anyone with
    /// access to the engine reads them: `app.env` (the container's configuration, shown by `docker
    /// inspect`) and `build.args` (kept in the image's history). One warning per place, naming the
    /// secret's key and source, never its value.
    static func exposedSecrets(_ config: LoadedConfig) throws -> [String] {
        // Very short values (a port, "true") would match by chance.
        let secrets = config.secrets.filter { $0.value.count >= 6 }
        guard !secrets.isEmpty,
            let document = try JSONSerialization.jsonObject(with: JSONEncoder().encode(ResolvedConfigDocument(config: config))) as? [String: Any]
        else { return [] }
        var places: [(key: String, value: String, advice: String)] = []
        for (name, value) in ((document["build"] as? [String: Any])?["args"] as? [String: Any] ?? [:]).sorted(by: { $0.key < $1.key }) {
            if let value = value as? String {
                places.append(
                    (
                        "build.args.\(name)", value,
                        "build arguments stay in the image's history (docker history); give the app its secrets at run time through app.env_file"
                    ))
            }
        }
        let environments = document["environments"] as? [String: Any] ?? [:]
        for environment in config.environmentNames {
            let env = ((environments[environment] as? [String: Any])?["app"] as? [String: Any])?["env"] as? [String: Any] ?? [:]
            for (name, value) in env.sorted(by: { $0.key < $1.key }) {
                if let value = value as? String {
                    places.append(
                        (
                            "environments.\(environment).app.env.\(name)", value,
                            "app.env is stored in the container's configuration (docker inspect shows it); put the variable in the host's env file named by app.env_file"
                        ))
                }
            }
        }
        return places.compactMap { place in
            guard let secret = secrets.first(where: { place.value.contains($0.value) }) else { return nil }
            return "\(config.displayPath): \(place.key) holds the value of \(secret.key) from \(secret.source): \(place.advice)"
        }
    }
}

extension ConfigCheckCommand {
    /// Pairs of environments whose backups cannot be told apart: the same server and login, the same
    /// `backups.dir` and the same database name (staging set up beside production by copying its block).
    static func sharedBackups(_ config: LoadedConfig) throws -> [String] {
        guard let document = try JSONSerialization.jsonObject(with: JSONEncoder().encode(ResolvedConfigDocument(config: config))) as? [String: Any]
        else { return [] }
        return sharedBackups(environments: document["environments"] as? [String: Any] ?? [:], order: config.environmentNames, file: config.displayPath)
    }

    /// The same, over the resolved document's `environments` (pure, for the unit test).
    static func sharedBackups(environments: [String: Any], order: [String], file: String) -> [String] {
        func key(_ name: String) -> String? {
            guard let env = environments[name] as? [String: Any] else { return nil }
            let ssh = env["ssh"] as? [String: Any] ?? [:]
            let hosts = (ssh["hosts"] as? [String]) ?? (ssh["host"] as? String).map { [$0] } ?? []
            let dir = (env["backups"] as? [String: Any])?["dir"] as? String
            let database = env["database"] as? [String: Any] ?? [:]
            let name =
                (database["name"] as? String)
                ?? (database["url"] as? String).flatMap { URL(string: $0)?.path.split(separator: "/").last.map(String.init) }
            guard !hosts.isEmpty, let dir, let name else { return nil }
            return [hosts.sorted().joined(separator: ","), ssh["user"] as? String ?? "", dir, name].joined(separator: "\u{1}")
        }
        var warnings: [String] = []
        for (index, first) in order.enumerated() {
            guard let one = key(first) else { continue }
            for second in order.dropFirst(index + 1) where key(second) == one {
                let parts = one.split(separator: "\u{1}", omittingEmptySubsequences: false).map(String.init)
                warnings.append(
                    "\(file): environments \(first) and \(second) share the server \(parts[0]), its login \(parts[1]), backups.dir \(parts[2]) and the database name \(parts[3]): if that is one database, both environments migrate, back up and restore it, and backups made before tmeops recorded each backup's environment count for both; give each its own database and backups.dir"
                )
            }
        }
        return warnings
    }
}

/// `tmeops config show`: the resolved config (interpolated, defaults filled in), secrets masked.
public struct ConfigShowCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print the resolved config with defaults filled in and every secret redacted.",
        discussion: """
            With -e, shows that environment only. Secrets (passwords, tokens, URL passwords and every \
            value from .tmeops/secrets.env) are printed as ********.

            Examples:
              tmeops config show -e production
              tmeops config show -e production --json
            """)

    @OptionGroup public var globals: GlobalOptions

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let selection = context.environmentName.map(EnvironmentSelection.named) ?? .all
        let config = try context.loadConfig(selecting: selection)
        let document = ResolvedConfigDocument(config: config)
        if context.json {
            try context.output.writeJSON(document)
        } else {
            let yaml = try YAMLEncoder().encode(document)
            context.output.line("# \(config.displayPath), resolved; secrets shown as \(Redactor.mask)")
            context.output.sink.write(context.redactor.redact(yaml))
        }
    }
}

/// The resolved config in file order, for `config show`.
struct ResolvedConfigDocument: Encodable {
    let config: LoadedConfig

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: AnyKey.self)
        try container.encode(config.app, forKey: AnyKey(stringValue: "app"))
        try container.encode(config.image, forKey: AnyKey(stringValue: "image"))
        for (key, section) in config.rootSections {
            try container.encode(section, forKey: AnyKey(stringValue: key))
        }
        var environments = container.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey(stringValue: "environments"))
        for name in config.environmentNames {
            guard let environment = config.environments[name] else { continue }
            var sections = environments.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey(stringValue: name))
            for (key, section) in environment.sections {
                try sections.encode(section, forKey: AnyKey(stringValue: key))
            }
        }
    }
}

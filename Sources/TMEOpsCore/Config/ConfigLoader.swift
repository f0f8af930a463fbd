import Foundation
import Yams

/// Reads `tmeops.yml` into a ``LoadedConfig``: YAML via Yams, strict keys, `${VAR}` interpolation from
/// the process environment and `.tmeops/secrets.env`, every secret handed to the ``Redactor``.
public struct ConfigLoader: Sendable {
    /// Top-level keys the core itself owns.
    static let coreRootKeys = ["app", "image", "environments", SecretsCommand.key]

    public let rootSections: [any ConfigSection.Type]
    public let environmentSections: [any ConfigSection.Type]
    public let processEnvironment: [String: String]
    public let redactor: Redactor

    public init(sections: [any ConfigSection.Type], processEnvironment: [String: String], redactor: Redactor) {
        self.rootSections = sections.filter { $0.scope == .root }
        self.environmentSections = sections.filter { $0.scope == .environment }
        self.processEnvironment = processEnvironment
        self.redactor = redactor
    }

    /// Loads the file at `path` (as the operator wrote it, relative to `directory`).
    public func load(path: String, relativeTo directory: URL, selecting selection: EnvironmentSelection) throws -> LoadedConfig {
        let url = Self.resolve(path, in: directory)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) {
                let what = isDirectory.boolValue ? "is a directory" : "cannot be read (check its permissions)"
                throw ConfigError(file: path, message: "\(what); pass --config with the path of a tmeops.yml file")
            }
            throw ConfigError(file: path, message: "no such file; run `tmeops init` to create one, or pass --config PATH")
        }
        let text = String(decoding: data, as: UTF8.self)
        let secrets = try loadSecrets(besides: url)
        return try load(yaml: text, displayPath: path, url: url, secrets: secrets, selecting: selection)
    }

    /// `path` as an absolute file URL: as is when absolute, else inside `directory`.
    public static func resolve(_ path: String, in directory: URL) -> URL {
        let expanded = (path as NSString).expandingTildeInPath
        let url = expanded.hasPrefix("/") ? URL(fileURLWithPath: expanded) : directory.appendingPathComponent(expanded)
        return url.standardizedFileURL
    }

    /// Reads `.tmeops/secrets.env` next to the config file, if there is one.
    func loadSecrets(besides configURL: URL) throws -> [String: String] {
        let secretsURL = configURL.deletingLastPathComponent().appendingPathComponent(".tmeops/secrets.env")
        guard FileManager.default.fileExists(atPath: secretsURL.path) else { return [:] }
        guard let data = FileManager.default.contents(atPath: secretsURL.path) else {
            throw ConfigError(file: ".tmeops/secrets.env", message: "cannot be read; check its permissions (it should be 0600 and yours)")
        }
        var secrets: [String: String] = [:]
        for (key, value) in try DotEnv.parse(String(decoding: data, as: UTF8.self), file: ".tmeops/secrets.env") {
            secrets[key] = value
            redactor.add(value)
        }
        return secrets
    }

    /// Decodes YAML text; `displayPath` is used in messages.
    public func load(yaml text: String, displayPath: String, url: URL, secrets: [String: String] = [:], selecting selection: EnvironmentSelection) throws
        -> LoadedConfig
    {
        for value in secrets.values { redactor.add(value) }
        for (name, value) in processEnvironment where Redactor.isSecretName(name) && name.hasPrefix("TMEOPS_") {
            redactor.add(value)
        }
        let root: Node
        do {
            guard let composed = try Yams.compose(yaml: text) else {
                throw ConfigError(file: displayPath, message: "the file is empty; it needs at least app, image and environments (see `tmeops init`)")
            }
            root = composed
        } catch let error as YamlError {
            throw Self.syntaxError(error, file: displayPath)
        }
        var context = DecodeContext(file: displayPath, interpolator: Interpolator(secrets: secrets, environment: processEnvironment), redactor: redactor)
        guard case .mapping(let mapping) = root else {
            throw context.error(root, [], "the top level must be a mapping with app, image and environments")
        }

        let rootKeys = Self.coreRootKeys + rootSections.map { $0.key }
        let entries = try checkedEntries(mapping, allowed: rootKeys, path: [], context: context, what: "top-level key")
        var secretValues = secrets.sorted { $0.key < $1.key }.map { LoadedConfig.Secret(key: $0.key, value: $0.value, source: ".tmeops/secrets.env") }
        if let node = entries[SecretsCommand.key]?.value,
            let values = try SecretsCommand.values(
                node, fileSecrets: secrets, directory: url.deletingLastPathComponent(), environment: processEnvironment, context: context)
        {
            secretValues += values.filter { secrets[$0.key] == nil }.sorted { $0.key < $1.key }.map {
                LoadedConfig.Secret(key: $0.key, value: $0.value, source: "secrets.command")
            }
            context = DecodeContext(
                file: displayPath, interpolator: Interpolator(secrets: secrets.merging(values) { old, _ in old }, environment: processEnvironment),
                redactor: redactor)
        }

        let app = try decodeCoreString("app", entries: entries, root: root, context: context)
        guard app.range(of: #"^[a-z0-9][a-z0-9_.-]*$"#, options: .regularExpression) != nil else {
            throw context.error(
                entries["app"]?.value, [AnyKey(stringValue: "app")],
                "'\(app)' cannot name containers, locks and labels; use lower-case letters, digits, '-', '_' and '.'")
        }
        let image = try decodeCoreString("image", entries: entries, root: root, context: context)

        var decodedRoot: [(key: String, value: any ConfigSection)] = []
        for (keyNode, valueNode) in mapping {
            guard let key = keyNode.string, let type = rootSections.first(where: { $0.key == key }) else { continue }
            decodedRoot.append((key, try decodeSection(type, node: valueNode, path: [AnyKey(stringValue: key)], root: root, context: context)))
        }

        guard let environmentsEntry = entries["environments"] else {
            throw context.error(root, [], "missing required key 'environments'; add at least one environment (see `tmeops init`)")
        }
        guard case .mapping(let environmentsMapping) = environmentsEntry.value, !environmentsMapping.isEmpty else {
            throw context.error(
                environmentsEntry.value, [AnyKey(stringValue: "environments")], "expected a mapping of environment names (such as production) to their settings"
            )
        }
        let names: [String] = Array(environmentsMapping.keys.compactMap(\.string))
        // Environment names end up in file names, schedule entries and container names on the host.
        for nameNode in environmentsMapping.keys {
            guard let name = nameNode.string, name.range(of: #"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$"#, options: .regularExpression) != nil else {
                throw context.error(
                    nameNode, [AnyKey(stringValue: "environments")],
                    "'\(nameNode.string ?? "?")' cannot name an environment; use letters, digits, '-', '_' and '.' (starting with a letter or digit)")
            }
            // Each environment's state is the folder ~/.tmeops/<app>/<name> on its hosts, beside the app's
            // own files there.
            if let reserved = Self.reservedEnvironmentName(name) {
                throw context.error(nameNode, [AnyKey(stringValue: "environments")], "'\(name)' cannot name an environment: \(reserved); choose another name")
            }
        }
        let wanted: [String]
        switch selection {
        case .none: wanted = []
        case .all: wanted = names
        case .named(let name):
            guard names.contains(name) else { throw Self.unknownEnvironment(name, known: names, file: displayPath) }
            wanted = [name]
        }

        var environments: [String: EnvironmentConfig] = [:]
        for (nameNode, body) in environmentsMapping {
            guard let name = nameNode.string, wanted.contains(name) else { continue }
            let path: [CodingKey] = [AnyKey(stringValue: "environments"), AnyKey(stringValue: name)]
            guard case .mapping(let environmentMapping) = body else {
                throw context.error(body, path, "expected a mapping of sections (ssh, docker, app, database, ...), found \(body.kindDescription)")
            }
            _ = try checkedEntries(environmentMapping, allowed: environmentSections.map { $0.key }, path: path, context: context, what: "key in an environment")
            var sections: [(key: String, value: any ConfigSection)] = []
            for (keyNode, valueNode) in environmentMapping {
                guard let key = keyNode.string, let type = environmentSections.first(where: { $0.key == key }) else { continue }
                sections.append((key, try decodeSection(type, node: valueNode, path: path + [AnyKey(stringValue: key)], root: root, context: context)))
            }
            let environment = EnvironmentConfig(name: name, sections: sections)
            for (key, section) in sections {
                guard let check = section as? ConfigSectionCrossCheck, let problem = check.problem(in: environment) else { continue }
                let keyPath = path + [AnyKey(stringValue: key), AnyKey(stringValue: problem.key)]
                throw context.error(root.descendant(at: keyPath) ?? body, keyPath, problem.message)
            }
            environments[name] = environment
        }
        return LoadedConfig(
            displayPath: displayPath, url: url, app: app, image: image, environmentNames: names, rootSections: decodedRoot, environments: environments,
            secrets: secretValues)
    }

    private func checkedEntries(_ mapping: Node.Mapping, allowed: [String], path: [CodingKey], context: DecodeContext, what: String) throws -> [String: (
        key: Node, value: Node
    )] {
        var entries: [String: (key: Node, value: Node)] = [:]
        for (keyNode, valueNode) in mapping {
            guard let key = keyNode.string, case .scalar = keyNode else {
                throw context.error(keyNode, path, "keys must be plain names, found \(keyNode.kindDescription)")
            }
            let keyPath = path + [AnyKey(stringValue: key)]
            if entries[key] != nil { throw context.error(keyNode, keyPath, "this key appears twice; keep one") }
            guard allowed.contains(key) else {
                var message = "unknown \(what) '\(key)'"
                if let guess = Suggestion.closest(to: key, in: allowed) {
                    message += "; did you mean '\(guess)'?"
                } else {
                    message += "; expected one of: \(allowed.joined(separator: ", "))"
                }
                throw context.error(keyNode, keyPath, message)
            }
            entries[key] = (keyNode, valueNode)
        }
        return entries
    }

    private func decodeCoreString(_ key: String, entries: [String: (key: Node, value: Node)], root: Node, context: DecodeContext) throws -> String {
        guard let entry = entries[key] else {
            throw context.error(root, [], "missing required key '\(key)'")
        }
        let value = try NodeDecoder(node: entry.value, codingPath: [AnyKey(stringValue: key)], context: context).singleValueContainer().decode(String.self)
        guard !value.isEmpty else { throw context.error(entry.value, [AnyKey(stringValue: key)], "needs a value, found nothing") }
        return value
    }

    private func decodeSection<T: ConfigSection>(_ type: T.Type, node: Node, path: [CodingKey], root: Node, context: DecodeContext) throws -> any ConfigSection
    {
        do {
            return try T(from: NodeDecoder(node: node, codingPath: path, context: context))
        } catch let error as DecodingError {
            // Raised by a section's own checks; locate it by its coding path.
            let (codingPath, message): ([CodingKey], String)
            switch error {
            case .dataCorrupted(let c), .keyNotFound(_, let c), .typeMismatch(_, let c), .valueNotFound(_, let c):
                (codingPath, message) = (c.codingPath, c.debugDescription)
            @unknown default:
                (codingPath, message) = (path, "\(error)")
            }
            throw context.error(root.descendant(at: codingPath) ?? node, codingPath, message)
        }
    }

    static func syntaxError(_ error: YamlError, file: String) -> ConfigError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _), .composer(let context, let problem, let mark, _):
            let detail = context.map { "\(problem) \($0.text)" } ?? problem
            return ConfigError(file: file, line: mark.line, column: mark.column, message: "not valid YAML: \(detail)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return ConfigError(
                file: file, line: context.mark.line, column: context.mark.column,
                message: "keys appear twice: \(duplicates.joined(separator: ", ")); keep one of each")
        default:
            return ConfigError(file: file, message: "not valid YAML: \(error)")
        }
    }

    /// Why `name` cannot name an environment, or nil: names the app's state folder on a host already
    /// uses for its own files (the proxy's configuration, scheduled backup scripts, the state files of
    /// releases before each environment had its folder).
    public static func reservedEnvironmentName(_ name: String) -> String? {
        if ["lock", "journals", "proxy"].contains(name) || name.hasSuffix(".jsonl") || name.hasSuffix(".sh") || name.hasPrefix("backup-") {
            return "~/.tmeops/<app>/\(name) on the server is kept for tmeops's own files"
        }
        return nil
    }

    static func unknownEnvironment(_ name: String, known: [String], file: String) -> ConfigError {
        var message = "environment '\(name)' is not defined"
        if let guess = Suggestion.closest(to: name, in: known) { message += "; did you mean '\(guess)'?" }
        message += " Environments here: \(known.joined(separator: ", "))"
        return ConfigError(file: file, keyPath: "environments", message: message)
    }
}

extension Node {
    /// The node at a coding path below this one (mapping keys by name, list entries by index).
    func descendant(at path: [CodingKey]) -> Node? {
        var current: Node? = self
        for key in path {
            switch current {
            case .mapping(let mapping)?: current = mapping[key.stringValue]
            case .sequence(let sequence)? where key.intValue != nil:
                let index = key.intValue!
                current = index < sequence.count ? sequence[index] : nil
            default: return nil
            }
        }
        return current
    }
}

import Foundation
import Yams

/// A team plugin found under `Plugins/NAME/plugin.yml`.
public struct TeamPluginManifest: Codable, Sendable, Equatable {
    /// The plugin id, e.g. `hello-world`.
    public let id: String
    /// The folder under `Plugins/` and the stem of module and type names, e.g. `HelloWorld`.
    public let name: String

    /// The Swift module (target) name.
    public var module: String { "\(name)Plugin" }
    /// The type that conforms to `Plugin`.
    public var type: String { "\(name)Plugin" }
}

/// Scaffolds team plugins and keeps the generated registration files in step with `Plugins/`.
public struct TeamPluginScaffold: Sendable {
    public static let generatedMarker = "GENERATED FILE. DO NOT EDIT!"
    static let beginMarker = "// BEGIN GENERATED TEAM PLUGINS."
    static let endMarker = "// END GENERATED TEAM PLUGINS"

    /// The package root (holding `Package.swift`, `Plugins/` and `Templates/`).
    public let root: URL

    public init(root: URL) { self.root = root }

    var registryFile: URL { root.appendingPathComponent("Sources/tmeops/TeamPlugins.generated.swift") }
    var manifestFile: URL { root.appendingPathComponent("Package.swift") }

    /// `hello-world` → `HelloWorld`.
    public static func typeStem(for id: String) -> String {
        id.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    /// Checks that `id` can name a plugin: lower-case, starts with a letter, not taken.
    public static func validate(id: String, taken: Set<String>) throws {
        guard id.range(of: #"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"#, options: .regularExpression) != nil, id.count <= 40 else {
            throw TMEOpsError.usage(
                "'\(id)' cannot name a plugin; use lower-case letters and digits, words joined by '-', starting with a letter (e.g. notify-slack)")
        }
        if taken.contains(id) {
            throw TMEOpsError.usage("'\(id)' is already a tmeops command or plugin; choose another name")
        }
    }

    /// Renders the plugin, its test and its manifest, then regenerates the registration files.
    /// Returns the files written. On any failure, files already written are removed again.
    @discardableResult
    public func create(id: String, summary: String, templates: Templates, taken: Set<String>) throws -> [String] {
        try Self.validate(id: id, taken: taken)
        guard FileManager.default.fileExists(atPath: manifestFile.path) else {
            throw TMEOpsError.usage("\(root.path) has no Package.swift; run `tmeops plugin new` in the tmeops source tree (or pass --package-root)")
        }
        let name = Self.typeStem(for: id)
        let pluginDirectory = root.appendingPathComponent("Plugins/\(name)")
        let testDirectory = root.appendingPathComponent("Tests/Plugins/\(name)PluginTests")
        for directory in [pluginDirectory, testDirectory] where FileManager.default.fileExists(atPath: directory.path) {
            throw TMEOpsError("\(directory.path) already exists; nothing was changed. Pick another name or remove it first")
        }
        let values = ["id": id, "name": name, "type": "\(name)Plugin", "summary": summary]
        let files: [(String, URL)] = [
            ("plugin/Plugin.swift.template", pluginDirectory.appendingPathComponent("\(name)Plugin.swift")),
            ("plugin/plugin.yml.template", pluginDirectory.appendingPathComponent("plugin.yml")),
            ("plugin/PluginTests.swift.template", testDirectory.appendingPathComponent("\(name)PluginTests.swift")),
        ]
        let rendered = try files.map { (try templates.render($0.0, values), $0.1) }
        let previousManifest = try? Data(contentsOf: manifestFile)
        let previousRegistry = try? Data(contentsOf: registryFile)
        do {
            for (text, url) in rendered {
                try AtomicFile.write(Data(text.utf8), to: url, overwrite: false, displayPath: relative(url))
            }
            try generate()
        } catch {
            try? FileManager.default.removeItem(at: pluginDirectory)
            try? FileManager.default.removeItem(at: testDirectory)
            if let previousManifest { try? AtomicFile.write(previousManifest, to: manifestFile, overwrite: true) }
            if let previousRegistry { try? AtomicFile.write(previousRegistry, to: registryFile, overwrite: true) }
            throw error
        }
        return rendered.map { relative($0.1) } + [relative(manifestFile), relative(registryFile)]
    }

    /// Team plugins under `Plugins/`, sorted by folder name.
    public func manifests() throws -> [TeamPluginManifest] {
        let plugins = root.appendingPathComponent("Plugins")
        let folders = (try? FileManager.default.contentsOfDirectory(atPath: plugins.path)) ?? []
        var found: [TeamPluginManifest] = []
        for folder in folders.sorted() {
            let file = plugins.appendingPathComponent("\(folder)/plugin.yml")
            guard let data = FileManager.default.contents(atPath: file.path) else { continue }
            let manifest: TeamPluginManifest
            do {
                manifest = try YAMLDecoder().decode(TeamPluginManifest.self, from: data)
            } catch {
                throw TMEOpsError("Plugins/\(folder)/plugin.yml is not a valid plugin manifest (needs id and name): \(error)")
            }
            guard manifest.name == folder else {
                throw TMEOpsError("Plugins/\(folder)/plugin.yml says name '\(manifest.name)', but the folder is '\(folder)'; make them match")
            }
            found.append(manifest)
        }
        return found
    }

    /// The two generated files' expected contents: the Package.swift with its team block, and the registry.
    public func expectedFiles() throws -> [(url: URL, text: String)] {
        let manifests = try manifests()
        guard let manifestData = FileManager.default.contents(atPath: manifestFile.path) else {
            throw TMEOpsError("cannot read \(manifestFile.path)")
        }
        let manifestText = String(decoding: manifestData, as: UTF8.self)
        guard let begin = manifestText.range(of: Self.beginMarker), let end = manifestText.range(of: Self.endMarker), begin.upperBound < end.lowerBound else {
            throw TMEOpsError("Package.swift lacks the '\(Self.beginMarker)' … '\(Self.endMarker)' block that lists team plugins")
        }
        let lineStart = manifestText[..<begin.lowerBound].lastIndex(of: "\n").map { manifestText.index(after: $0) } ?? manifestText.startIndex
        let list = manifests.isEmpty ? "[]" : "[\n" + manifests.map { "    \"\($0.name)\",\n" }.joined() + "]"
        let block = "\(Self.beginMarker) \(Self.generatedMarker) Run `make generate`.\nlet teamPlugins: [String] = \(list)\n"
        let newManifest = String(manifestText[..<lineStart]) + block + String(manifestText[end.lowerBound...])

        var registry = "// \(Self.generatedMarker) Regenerate with `make generate` (tmeops plugin generate).\n"
        registry += "// Team plugins compiled into this binary, one per Plugins/*/plugin.yml.\n"
        registry += "import TMEOpsCore\n"
        for manifest in manifests { registry += "import \(manifest.module)\n" }
        registry += "\nlet teamPlugins: [any Plugin.Type] = "
        registry += manifests.isEmpty ? "[]\n" : "[\n" + manifests.map { "    \($0.type).self,\n" }.joined() + "]\n"
        return [(manifestFile, newManifest), (registryFile, registry), (embeddedTemplatesFile, try embeddedTemplates())]
    }

    /// Where the compiled-in copy of `Templates/` is generated.
    var embeddedTemplatesFile: URL { root.appendingPathComponent("Sources/TMEOpsCore/Scaffold/EmbeddedTemplates.generated.swift") }

    /// Every file under `Templates/` as Swift source: a table of raw string literals.
    func embeddedTemplates() throws -> String {
        let folder = root.appendingPathComponent("Templates")
        guard let enumerator = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey]) else {
            throw TMEOpsError("cannot read \(folder.path)")
        }
        var files: [(String, String)] = []
        for case let url as URL in enumerator where (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            let name = String(url.standardizedFileURL.path.dropFirst(folder.standardizedFileURL.path.count + 1))
            guard let data = FileManager.default.contents(atPath: url.path), let text = String(data: data, encoding: .utf8) else {
                throw TMEOpsError("Templates/\(name) is not UTF-8 text")
            }
            guard !text.contains("\"\"\"####") else { throw TMEOpsError("Templates/\(name) holds the delimiter \"\"\"####, which the generated source uses") }
            files.append((name, text))
        }
        var source = "// \(Self.generatedMarker) Regenerate with `make generate` (tmeops plugin generate).\n"
        source += "// Every file under Templates/, compiled in so that an installed binary needs no folder beside it.\n"
        source += "// swift-format-ignore-file\n\n"
        source += "extension Templates {\n    static let embedded: [String: String] = [\n"
        for (name, text) in files.sorted(by: { $0.0 < $1.0 }) {
            source += "        \"\(name)\": ####\"\"\"\n\(text)\n\"\"\"####,\n"
        }
        source += "    ]\n}\n"
        return source
    }

    /// Rewrites the generated files; returns those that changed.
    @discardableResult
    public func generate() throws -> [String] {
        var changed: [String] = []
        for (url, text) in try expectedFiles() {
            let current = FileManager.default.contents(atPath: url.path).map { String(decoding: $0, as: UTF8.self) }
            guard current != text else { continue }
            try AtomicFile.write(Data(text.utf8), to: url, overwrite: true, displayPath: relative(url))
            changed.append(relative(url))
        }
        return changed
    }

    /// The generated files that differ from what `generate()` would write.
    public func staleFiles() throws -> [String] {
        try expectedFiles().compactMap { url, text in
            let current = FileManager.default.contents(atPath: url.path).map { String(decoding: $0, as: UTF8.self) }
            return current == text ? nil : relative(url)
        }
    }

    private func relative(_ url: URL) -> String {
        let base = root.standardizedFileURL.path + "/"
        let path = url.standardizedFileURL.path
        return path.hasPrefix(base) ? String(path.dropFirst(base.count)) : path
    }
}

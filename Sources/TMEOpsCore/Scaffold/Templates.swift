import Foundation

/// Finds and renders the files under `Templates/` that `init`, `plugin new` (and later `migrate new`,
/// `backup schedule`) write.
public struct Templates: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root }

    /// Looks for the templates: `$TMEOPS_TEMPLATES`, a `Templates/` folder above the executable (a
    /// build inside the repository), then `share/tmeops/Templates` beside an installed binary.
    public static func locate(environment: [String: String], executable: URL = URL(fileURLWithPath: CommandLine.arguments[0])) throws -> Templates {
        var candidates: [URL] = []
        if let explicit = environment["TMEOPS_TEMPLATES"], !explicit.isEmpty { candidates.append(URL(fileURLWithPath: explicit)) }
        var directory = executable.resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            candidates.append(directory.appendingPathComponent("Templates"))
            candidates.append(directory.appendingPathComponent("share/tmeops/Templates"))
            directory = directory.deletingLastPathComponent()
        }
        for candidate in candidates where FileManager.default.fileExists(atPath: candidate.appendingPathComponent("tmeops.yml").path) {
            return Templates(root: candidate)
        }
        throw TMEOpsError(
            "cannot find the tmeops templates (looked for Templates/tmeops.yml above \(executable.path) and in share/tmeops); set TMEOPS_TEMPLATES to the Templates folder"
        )
    }

    /// The text of template `name` with every `{{key}}` replaced; an unknown placeholder is an error,
    /// so a template and its caller cannot drift apart silently.
    public func render(_ name: String, _ values: [String: String]) throws -> String {
        let url = root.appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw TMEOpsError("template \(url.path) is missing; reinstall tmeops or set TMEOPS_TEMPLATES")
        }
        return try Self.render(String(decoding: data, as: UTF8.self), values, name: name)
    }

    static func render(_ text: String, _ values: [String: String], name: String) throws -> String {
        var result = ""
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            result += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                throw TMEOpsError("template \(name) has an unclosed '{{'")
            }
            let key = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            guard let value = values[key] else {
                throw TMEOpsError("template \(name) uses {{\(key)}}, which tmeops does not provide")
            }
            result += value
            rest = rest[close.upperBound...]
        }
        return result + rest
    }
}

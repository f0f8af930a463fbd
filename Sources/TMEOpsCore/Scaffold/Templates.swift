import Foundation

/// Finds and renders the files under `Templates/` that `init`, `plugin new`, `migrate new` and
/// `backup schedule` write. Every one of them is compiled into the binary (`Templates.embedded`,
/// generated from `Templates/` by `make generate`), so an installed tmeops needs no folder beside it.
public struct Templates: Sendable {
    /// A folder of templates, when they come from disk.
    public let root: URL?
    private let files: [String: String]?

    public init(root: URL) {
        self.root = root
        files = nil
    }

    /// The templates compiled into this binary.
    public static var builtIn: Templates { Templates(files: embedded) }

    init(files: [String: String]) {
        root = nil
        self.files = files
    }

    /// `$TMEOPS_TEMPLATES` when set (a team's own templates), else the ones compiled in.
    public static func locate(environment: [String: String]) throws -> Templates {
        if let explicit = environment["TMEOPS_TEMPLATES"], !explicit.isEmpty {
            let root = URL(fileURLWithPath: explicit)
            guard FileManager.default.fileExists(atPath: root.appendingPathComponent("tmeops.yml").path) else {
                throw TMEOpsError(
                    "TMEOPS_TEMPLATES is \(explicit), which holds no tmeops.yml template; point it at a copy of the Templates folder, or unset it")
            }
            return Templates(root: root)
        }
        return builtIn
    }

    /// The text of template `name` with every `{{key}}` replaced; an unknown placeholder is an error,
    /// so a template and its caller cannot drift apart silently.
    public func render(_ name: String, _ values: [String: String]) throws -> String {
        if let files {
            guard let text = files[name] else { throw TMEOpsError("template \(name) is not compiled into this tmeops; rebuild it after `make generate`") }
            return try Self.render(text, values, name: name)
        }
        let url = (root ?? URL(fileURLWithPath: ".")).appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw TMEOpsError("template \(url.path) is missing; unset TMEOPS_TEMPLATES to use the built-in templates")
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

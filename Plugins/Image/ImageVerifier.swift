import Foundation
import TMEOpsArchive

/// The checks of `image verify`: nothing forbidden in any layer, every required path present, and
/// NODE_ENV as the build intends.
public struct ImageVerifier: Sendable {
    public struct Problem: Codable, Sendable, Equatable, CustomStringConvertible {
        public let rule: String
        public let detail: String
        public var description: String { "\(rule): \(detail)" }
    }

    public let forbid: [PathPattern]
    public let require: [String]
    public let expectedNodeEnv: String?

    public init(forbid: [String], require: [String], expectedNodeEnv: String?) {
        self.forbid = forbid.map(PathPattern.init)
        self.require = require.map { PathPattern.clean($0) }
        self.expectedNodeEnv = expectedNodeEnv
    }

    /// The image config's `config.Env`, from the archive's config JSON.
    static func environment(fromConfig data: Data) -> [String] {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let config = object["config"] as? [String: Any] ?? object["Config"] as? [String: Any]
        else { return [] }
        return config["Env"] as? [String] ?? []
    }

    /// Every problem with the first image of `archive`; empty when it passes.
    public func problems(in archive: DockerArchive) -> [Problem] {
        guard let image = archive.manifest.first else { return [Problem(rule: "archive", detail: "no image in the archive")] }
        var problems: [Problem] = []
        // Forbidden paths count in every layer: a file deleted by a later layer still ships in the image.
        for (index, layer) in image.layers.enumerated() {
            for path in archive.layers[layer]?.paths ?? [] {
                for pattern in forbid where pattern.matches(path) {
                    problems.append(Problem(rule: "forbidden \(pattern)", detail: "/\(path) (layer \(index + 1) of \(image.layers.count))"))
                }
            }
        }
        let files = archive.fileSystem(of: image)
        for required in require where !files.contains(required) && !files.contains(where: { $0.hasPrefix(required + "/") }) {
            problems.append(Problem(rule: "required", detail: "/\(required) is missing from the image"))
        }
        if let expectedNodeEnv {
            let environment = Self.environment(fromConfig: archive.configs[image.config] ?? Data())
            let value = environment.first { $0.hasPrefix("NODE_ENV=") }.map { String($0.dropFirst("NODE_ENV=".count)) }
            if value != expectedNodeEnv {
                problems.append(
                    Problem(
                        rule: "NODE_ENV",
                        detail: "the image config has \(value.map { "NODE_ENV=\($0)" } ?? "no NODE_ENV"), expected NODE_ENV=\(expectedNodeEnv)"))
            }
        }
        return problems
    }
}

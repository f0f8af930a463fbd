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
    public func problems(in archive: DockerArchive) -> [Problem] { report(on: archive).problems }

    /// Problems (the image fails) and notes (worth knowing, not failing) about the first image of `archive`.
    ///
    /// Paths are judged as the running container sees them: a forbidden file that a later layer deletes
    /// is not in the container (a note says its bytes still ship in the lower layer); a required path
    /// reached through a symbolic link, absolute or relative, counts when the link resolves inside the
    /// image; a forbidden glob matches the paths the image shows, never the text of a link's target.
    public func report(on archive: DockerArchive) -> (problems: [Problem], notes: [Problem]) {
        guard let image = archive.manifest.first else { return ([Problem(rule: "archive", detail: "no image in the archive")], []) }
        var problems: [Problem] = []
        var notes: [Problem] = []
        let files = archive.fileSystem(of: image)
        let layers = image.layers.count
        if !forbid.isEmpty {
            for path in files.nodes.keys.sorted() {
                for pattern in forbid where pattern.matches(path) {
                    problems.append(Problem(rule: "forbidden \(pattern)", detail: "/\(path) (layer \(files.nodes[path]!.layer + 1) of \(layers))"))
                }
            }
            for hidden in files.hidden.sorted(by: { $0.path < $1.path }) {
                for pattern in forbid where pattern.matches(hidden.path) {
                    notes.append(
                        Problem(
                            rule: "forbidden \(pattern)",
                            detail:
                                "/\(hidden.path) is deleted by layer \(hidden.hiddenBy + 1) but its bytes still ship in layer \(hidden.layer + 1) of \(layers)")
                    )
                }
            }
        }
        for required in require where !files.contains(required) {
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
        return (problems, notes)
    }
}

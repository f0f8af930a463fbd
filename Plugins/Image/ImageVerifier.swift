import Foundation
import TMEOpsArchive
import TMEOpsHosts

/// The checks of `image verify`: nothing forbidden in any layer, every required path present, and
/// NODE_ENV as the build intends.
public struct ImageVerifier: Sendable {
    public struct Problem: Codable, Sendable, Equatable, CustomStringConvertible {
        public let rule: String
        public let detail: String
        public var description: String { "\(rule): \(detail)" }
    }

    public let forbid: [PathPattern]
    /// As build.require has them: absolute, or relative to the image's working directory (`WORKDIR`).
    public let require: [String]
    public let expectedNodeEnv: String?

    public init(forbid: [String], require: [String], expectedNodeEnv: String?) {
        self.forbid = forbid.map(PathPattern.init)
        self.require = require
        self.expectedNodeEnv = expectedNodeEnv
    }

    /// The checks tmeops.yml's build section asks for (NODE_ENV: build.args.NODE_ENV, else production).
    public init(_ build: BuildConfig) {
        self.init(forbid: build.forbid, require: build.require, expectedNodeEnv: build.args["NODE_ENV"] ?? "production")
    }

    /// The image config's `config`, from the archive's config JSON.
    static func settings(fromConfig data: Data) -> [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
        return object["config"] as? [String: Any] ?? object["Config"] as? [String: Any] ?? [:]
    }

    /// The image config's `config.Env`, from the archive's config JSON.
    static func environment(fromConfig data: Data) -> [String] { settings(fromConfig: data)["Env"] as? [String] ?? [] }

    /// A required path inside the image: an absolute one as written, a relative one under `workingDir`
    /// (the image's `WORKDIR`; `/` when it has none), as the container's process would look it up.
    static func requiredPath(_ path: String, workingDir: String?) -> String {
        if path.hasPrefix("/") { return PathPattern.clean(path) }
        let base = workingDir.flatMap { $0.isEmpty ? nil : $0 } ?? "/"
        return PathPattern.clean(base + "/" + path)
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
        let workingDir = Self.settings(fromConfig: archive.configs[image.config] ?? Data())["WorkingDir"] as? String
        for written in require {
            let required = Self.requiredPath(written, workingDir: workingDir)
            guard !files.contains(required) else { continue }
            // Written for the image's root (as relative paths were once read): kept, with a note.
            let fromRoot = PathPattern.clean(written)
            if !written.hasPrefix("/"), fromRoot != required, files.contains(fromRoot) {
                notes.append(
                    Problem(
                        rule: "required",
                        detail:
                            "\(written) is at /\(fromRoot), not under WORKDIR \(workingDir ?? "/"); write /\(fromRoot) in build.require (a relative path is looked up under WORKDIR)"
                    ))
                continue
            }
            let relative =
                written.hasPrefix("/") ? "" : " (build.require \(written), relative to WORKDIR \(workingDir.flatMap { $0.isEmpty ? nil : $0 } ?? "/"))"
            problems.append(Problem(rule: "required", detail: "/\(required) is missing from the image\(relative)"))
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

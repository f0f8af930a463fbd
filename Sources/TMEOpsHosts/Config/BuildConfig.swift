import TMEOpsCore

/// `build`: how the app image is built and what it must (not) contain.
public struct BuildConfig: ConfigSection, Equatable {
    public static let key = "build"
    public static let scope = ConfigScope.root
    public static let summary = "Build context, Dockerfile, platform, args, required paths and forbidden globs."

    public var context: String
    public var dockerfile: String
    public var platform: String?
    public var args: [String: String]
    public var require: [String]
    public var forbid: [String]
    /// The build output folder inside the context that `preflight` checks (`.next` for Next.js).
    public var output: String
    /// The team's own build (e.g. `docker buildx build --load -t "$TMEOPS_IMAGE_REF" .` for a
    /// BuildKit-only Dockerfile), run by /bin/sh in the build context instead of the Engine API build;
    /// it must leave `$TMEOPS_IMAGE_REF` in the local engine.
    public var command: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case context, dockerfile, platform, args, require, forbid, output, command
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        context = try c.decode(.context, default: ".")
        dockerfile = try c.decode(.dockerfile, default: "Dockerfile")
        platform = try c.decodeIfPresent(String.self, forKey: .platform)
        if let platform, platform.split(separator: "/").count < 2 {
            throw c.invalid(.platform, "'\(platform)' is not a platform; write OS/ARCH such as linux/amd64")
        }
        args = try c.decode(.args, default: [:])
        require = try c.decode(.require, default: [])
        forbid = try c.decode(.forbid, default: Self.defaultForbid)
        output = try c.decode(.output, default: ".next")
        command = try c.decodeIfPresent(String.self, forKey: .command)
        if let command, command.trimmingCharacters(in: .whitespaces).isEmpty {
            throw c.invalid(.command, "is empty; remove it to build through the Engine API, or write the command")
        }
    }

    /// What the runbook checks for: a development (turbopack) build shipped to production.
    public static let defaultForbid = ["**/*turbopack*"]

    public init(
        context: String = ".", dockerfile: String = "Dockerfile", platform: String? = nil, args: [String: String] = [:],
        require: [String] = [], forbid: [String] = BuildConfig.defaultForbid
    ) {
        self.context = context
        self.dockerfile = dockerfile
        self.platform = platform
        self.args = args
        self.require = require
        self.forbid = forbid
        output = ".next"
    }
}

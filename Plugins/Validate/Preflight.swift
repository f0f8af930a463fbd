import ArgumentParser
import Foundation
import TMEOpsArchive
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts

/// The checks to run on this machine before a build: NODE_ENV, dependency versions against what
/// production runs, the build output present and free of development (turbopack) files.
public enum Preflight {
    /// `dependencies` and `devDependencies` of a package.json: name -> version.
    static func dependencies(_ data: Data, file: String) throws -> [String: String] {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TMEOpsError("\(file) is not a JSON object")
        }
        var all: [String: String] = [:]
        for key in ["dependencies", "devDependencies"] {
            for (name, version) in object[key] as? [String: Any] ?? [:] { all[name] = version as? String ?? "\(version)" }
        }
        return all
    }

    /// The single file a container archive holds, read with libarchive.
    static func fileFromArchive(_ tar: Data, name: String) throws -> Data {
        var offset = 0
        // Read, never written out: a link in it keeps its meaning inside the container.
        let reader = try TarReader(source: name, purpose: .inspect) { buffer in
            let count = min(buffer.count, tar.count - offset)
            if count > 0 { tar.copyBytes(to: buffer.bindMemory(to: UInt8.self), from: offset..<offset + count) }
            offset += count
            return count
        }
        while let entry = try reader.next() {
            if entry.kind == .file { return try reader.readAll(limit: 16 << 20) }
            try reader.skipData()
        }
        throw TMEOpsError("the archive of \(name) holds no file")
    }

    public static func run(_ environment: EnvironmentConfig, config: LoadedConfig, context: CommandContext) throws -> [CheckResult] {
        var results: [CheckResult] = []
        let build = config.section(BuildConfig.self) ?? BuildConfig()
        let root = ConfigLoader.resolve(build.context, in: config.url.deletingLastPathComponent())
        let app = environment.section(AppContainerConfig.self)

        let buildEnv = build.args["NODE_ENV"]
        results.append(CheckResult("NODE_ENV in build.args", ok: buildEnv == "production", "NODE_ENV=\(buildEnv ?? "(unset)")"))
        if let app {
            let runEnv = app.env["NODE_ENV"]
            results.append(
                CheckResult(
                    "NODE_ENV in environments.\(environment.name).app.env", ok: runEnv == nil || runEnv == "production",
                    "NODE_ENV=\(runEnv ?? "(unset: the image's)")"))
        }
        if let local = context.environment["NODE_ENV"], local != "production" {
            results.append(CheckResult("NODE_ENV of this shell", ok: false, "NODE_ENV=\(local): a build from here would not be a production build"))
        }

        let packageFile = root.appendingPathComponent("package.json")
        if let localData = FileManager.default.contents(atPath: packageFile.path) {
            let local = try dependencies(localData, file: "\(build.context)/package.json")
            if let app {
                // Each host's production container, on an environment of several.
                let hosts = environment.section(SSHConfig.self)?.hosts ?? []
                for host in hosts.count > 1 ? hosts.map(Optional.some) : [nil] {
                    let name = "package.json matches production" + (host.map { " on \($0)" } ?? "")
                    do {
                        let (engine, session) = try DockerEngines.remote(environment, host.map { .named($0) } ?? .only, context: context)
                        defer { session.close() }
                        let tar = try engine.containerArchive(app.container, path: "/app/package.json")
                        let remote = try dependencies(try fileFromArchive(tar, name: "/app/package.json"), file: "/app/package.json in \(app.container)")
                        let differing = Set(local.keys).union(remote.keys).sorted().filter { local[$0] != remote[$0] }
                        results.append(
                            CheckResult(
                                name, ok: differing.isEmpty,
                                differing.isEmpty
                                    ? "\(local.count) dependencies, same versions as /app/package.json in \(app.container)"
                                    : "\(differing.count) dependencies differ from /app/package.json in \(app.container)",
                                details: differing.map { "\($0): here \(local[$0] ?? "absent"), production \(remote[$0] ?? "absent")" }))
                    } catch {
                        results.append(CheckResult(name, ok: false, "cannot read /app/package.json from \(app.container): \(error)"))
                    }
                }
            }
        } else {
            results.append(CheckResult("package.json", ok: false, "no package.json in the build context \(build.context)"))
        }

        let output = root.appendingPathComponent(build.output)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: output.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            results.append(
                CheckResult("build output \(build.output)", ok: false, "\(build.output) does not exist in \(build.context); run the production build first"))
            return results
        }
        results.append(CheckResult("build output \(build.output)", ok: true, "present"))
        let patterns = build.forbid.map(PathPattern.init)
        var forbidden: [String] = []
        if let walker = FileManager.default.enumerator(atPath: output.path) {
            while let path = walker.nextObject() as? String {
                let relative = "\(build.output)/\(path)"
                if patterns.contains(where: { $0.matches(relative) || $0.matches(path) }) { forbidden.append(relative) }
            }
        }
        results.append(
            CheckResult(
                "no forbidden files in \(build.output)", ok: forbidden.isEmpty,
                forbidden.isEmpty ? "none of \(build.forbid.joined(separator: ", "))" : "\(forbidden.count) match \(build.forbid.joined(separator: ", "))",
                details: Array(forbidden.prefix(20))))
        return results
    }
}

/// `tmeops preflight -e ENV`.
public struct PreflightCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "preflight",
        abstract: "Before a build, here: NODE_ENV, dependency versions against production, the build output; exit 3 on a failure.",
        discussion: """
            package.json in the build context is compared with /app/package.json inside the running \
            production container (copied out through the Engine API's archive endpoint, read with \
            libarchive); the build output (build.output, .next) must exist and hold nothing matching \
            build.forbid (turbopack files by default).

            Examples:
              tmeops preflight -e production
              tmeops preflight -e production --json
            """)

    @OptionGroup public var globals: GlobalOptions

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let (config, environment) = try context.loadEnvironment()
        let results = try await runBlocking("preflight") { try Preflight.run(environment, config: config, context: context) }
        if context.json {
            try context.output.writeJSON(results)
        } else {
            ValidationService.print(results, title: "preflight \(environment.name):", output: context.output)
        }
        if results.contains(where: { !$0.ok }) { throw ExitCode(ExitStatus.checkFailed.rawValue) }
    }
}

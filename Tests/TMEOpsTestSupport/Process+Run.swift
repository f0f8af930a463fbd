import Foundation
import TMEOpsCore

/// What a finished process printed and how it ended.
public struct ProcessResult: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

public enum ProcessRunner {
    /// Runs `executable` with `arguments`, collecting both streams without deadlocking on large output
    /// (through ``LocalProcess``, as tmeops runs its own helpers).
    @discardableResult
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        directory: URL? = nil, stdin: String? = nil
    ) throws -> ProcessResult {
        let result = try LocalProcess.run(
            [executable] + arguments, environment: environment, directory: directory, stdin: stdin.map { Data($0.utf8) })
        return ProcessResult(
            status: result.status, stdout: String(decoding: result.stdout, as: UTF8.self), stderr: String(decoding: result.stderr, as: UTF8.self))
    }
}

/// The built `tmeops` binary and the source tree it came from.
public enum TMEOpsBinary {
    /// `$TMEOPS_BINARY`, else `tmeops` beside the test bundle in the build folder.
    public static var url: URL {
        if let explicit = ProcessInfo.processInfo.environment["TMEOPS_BINARY"] { return URL(fileURLWithPath: explicit) }
        var directory = Bundle.main.bundleURL
        if directory.pathExtension == "xctest" { directory.deleteLastPathComponent() }
        for candidate in [directory, URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()] {
            let binary = candidate.appendingPathComponent("tmeops")
            if FileManager.default.isExecutableFile(atPath: binary.path) { return binary }
        }
        return directory.appendingPathComponent("tmeops")
    }

    /// The repository root: the first folder above this source file holding Package.swift.
    public static var packageRoot: URL {
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while directory.path != "/" {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) { return directory }
            directory.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }

    /// Runs `tmeops ARGS` in `directory` with a clean environment plus `environment`.
    @discardableResult
    public static func run(_ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:], stdin: String? = nil) throws -> ProcessResult {
        var base = [
            "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": ProcessInfo.processInfo.environment["HOME"] ?? "/root",
            "TMEOPS_TEMPLATES": packageRoot.appendingPathComponent("Templates").path,
        ]
        // Under `make asan` the binary is instrumented too: it must get the same sanitizer options (leak
        // detection off: the Swift runtime's own allocations would fail every command at exit).
        if let sanitizer = ProcessInfo.processInfo.environment["ASAN_OPTIONS"] { base["ASAN_OPTIONS"] = sanitizer }
        base.merge(environment) { _, new in new }
        return try ProcessRunner.run(url.path, arguments, environment: base, directory: directory, stdin: stdin)
    }
}

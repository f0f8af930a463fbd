import ArgumentParser
import TMEOpsArchive
import TMEOpsPostgres
import TMEOpsSSH

/// `tmeops version`: the tool's version and the C libraries it runs against.
public struct VersionCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print the tmeops version and the libssh2, libpq and libarchive it uses.",
        discussion: "Examples:\n  tmeops version\n  tmeops version --json")

    @OptionGroup public var globals: GlobalOptions

    public init() {}

    struct Report: Encodable {
        let tmeops: String
        let libssh2: String
        let libpq: String
        let libarchive: String
    }

    public func run(_ context: CommandContext) async throws {
        let report = Report(tmeops: TMEOpsVersion.version, libssh2: LibSSH2.version, libpq: LibPQ.version, libarchive: LibArchive.version)
        if context.json {
            try context.output.writeJSON(report)
        } else {
            context.output.line("tmeops \(report.tmeops) (libssh2 \(report.libssh2), libpq \(report.libpq), libarchive \(report.libarchive))")
        }
    }
}

/// `tmeops completion SHELL`: a completion script for bash, zsh or fish.
public struct CompletionCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "completion",
        abstract: "Print a shell completion script.",
        discussion: """
            Examples:
              tmeops completion bash > /etc/bash_completion.d/tmeops
              tmeops completion zsh > "${fpath[1]}/_tmeops"
            """)

    @OptionGroup public var globals: GlobalOptions

    @Argument(help: "bash, zsh or fish.")
    public var shell: String

    public init() {}

    public func run(_ context: CommandContext) async throws {
        guard let kind = CompletionShell(rawValue: shell) else {
            throw TMEOpsError.usage("'\(shell)' is not a supported shell; use bash, zsh or fish")
        }
        context.output.sink.write(TMEOpsRoot.completionScript(for: kind))
    }
}

import ArgumentParser
import BackupPlugin
import Foundation
import ImagePlugin
import SchemaPlugin
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import TMEOpsPostgres
import TransferPlugin
import ValidatePlugin

/// `tmeops releases -e ENV`.
public struct ReleasesCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "releases",
        abstract: "List the release ledger of an environment.",
        discussion: """
            --diff R1 R2 shows how the app container of release R2 differs from R1's: image, names of \
            environment variables (never their values), mounts, limits, restart and log settings, labels.

            Examples:
              tmeops releases -e production
              tmeops releases -e production --json
              tmeops releases -e production --diff r-20261126-101500 r-20261201-093000
              tmeops releases -e production --show r-20261201-093000
            """)

    @OptionGroup public var globals: GlobalOptions

    @Option(
        name: .customLong("diff"), parsing: .upToNextOption,
        help: ArgumentHelp("Two releases: show how the second's container settings differ from the first's.", valueName: "release"))
    public var diff: [String] = []

    @Option(
        help: ArgumentHelp(
            "One release in full (or `latest`): its steps, container settings and, if it failed, the failing container's last log lines.",
            valueName: "release"))
    public var show: String?

    public init() {}

    public func validate() throws {
        if !diff.isEmpty && diff.count != 2 { throw ValidationError("--diff takes two releases, e.g. --diff r-20261126-101500 r-20261201-093000") }
    }

    public func run(_ context: CommandContext) async throws {
        let releases = try await withTarget(context, "releases", host: .first) { target in try target.state.releases() }
        let out = context.output
        if diff.count == 2 {
            let pair = try diff.map { id -> RemoteState.Release in
                guard let release = releases.first(where: { $0.id == id }) else {
                    throw TMEOpsError.usage("no release \(id) in the ledger; `tmeops releases` lists them")
                }
                return release
            }
            guard let first = pair[0].container, let second = pair[1].container else {
                let missing = pair.first { $0.container == nil }!.id
                throw TMEOpsError("release \(missing) has no container settings in the ledger (it was recorded by an older tmeops, or never swapped in)")
            }
            let lines = first.differences(to: second)
            if context.json { return try out.writeJSON(["from": pair[0].id, "to": pair[1].id, "differences": lines.joined(separator: "\n")]) }
            out.line(
                "\(pair[0].id) -> \(pair[1].id): \(lines.isEmpty ? "the same container settings" : "\(lines.count) difference\(lines.count == 1 ? "" : "s")")")
            for line in lines { out.line("  \(line)") }
            return
        }
        if let show {
            guard let release = show == "latest" ? releases.last : releases.first(where: { $0.id == show }) else {
                throw TMEOpsError.usage("no release \(show) in the ledger; `tmeops releases` lists them")
            }
            if context.json { return try out.writeJSON(release) }
            out.line(
                "\(release.id)  \(release.outcome)  at \(release.at)  by \(release.operatorName)\(release.message.isEmpty ? "" : "  \"\(release.message)\"")")
            out.line("  image       \(release.image) (\(release.imageID.prefix(19)))")
            out.line("  previous    \(release.previous ?? "-")")
            out.line("  backup      \(release.backup ?? "-")")
            out.line("  migrations  \(release.migrations.isEmpty ? "none" : release.migrations.joined(separator: ", "))")
            out.line(
                "  steps       "
                    + DeployPipeline.steps.compactMap { step in release.steps[step].map { "\(step) \(String(format: "%.1f", $0)) s" } }.joined(separator: ", "))
            if let seconds = release.unavailableSeconds { out.line("  unavailable \(String(format: "%.2f s", seconds))") }
            if let container = release.container {
                out.line("  container   \(container.mounts.count) mounts, env keys \(container.envKeys.joined(separator: " "))")
                for (_, value) in container.settings.sorted(by: { $0.key < $1.key }) { out.line("              \(value)") }
            }
            if let detail = release.detail { out.line("  error       \(detail)") }
            if let evidence = release.evidence, !evidence.isEmpty {
                out.line("  the failing container's last log lines:")
                for line in evidence { out.line("    \(line)") }
            }
            return
        }
        if context.json { return try out.writeJSON(releases) }
        if releases.isEmpty { out.line("no releases recorded yet") }
        for release in releases {
            let mark = release.outcome == "deployed" || release.outcome == "rollback" || release.outcome == "recovered" ? out.green("✓") : out.red("✗")
            out.line(
                "\(mark) \(release.id)  \(release.outcome)  \(release.image) (\(release.imageID.replacingOccurrences(of: "sha256:", with: "").prefix(12)))"
                    + "  backup \(release.backup ?? "-")  migrations \(release.migrations.count)"
                    + (release.unavailableSeconds.map { String(format: "  unavailable %.2f s", $0) } ?? "")
                    + (release.message.isEmpty ? "" : "  \"\(release.message)\""))
            if let detail = release.detail, release.outcome != "deployed" { out.line("    \(detail.split(separator: "\n").first ?? "")") }
        }
    }
}

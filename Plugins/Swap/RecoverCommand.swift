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

/// `tmeops recover -e ENV`.
public struct RecoverCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "recover",
        abstract: "Finish or undo an interrupted deploy from its journal.",
        discussion: """
            Reads the deploy journal on the host, looks at the real containers, and leaves exactly one \
            healthy app container: the new release when it is healthy, else the old one; removes the test \
            container and the staging database, releases the lock, and records what it did. On an \
            environment of several hosts it reads every host's journal and brings all of them to one \
            release: the new one only when every host already serves it, else the previous one everywhere.

            It holds the deploy lock while it works. A deploy that still runs (its process on this \
            machine, or one elsewhere that renewed the lock within deploy.lock_ttl) is left alone and \
            named; --force takes over from one on another machine that is known to be dead.

            Examples:
              tmeops recover -e production
              tmeops recover -e production --force
            """)

    @OptionGroup public var globals: GlobalOptions

    @Flag(help: "Take over the lock of a deploy on another machine that renewed it within deploy.lock_ttl (it must be dead).")
    public var force = false

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let force = self.force
        let outcome = try await withTargets(context, "recover") { all, database -> Recovery.Outcome in
            let lead = all[0]
            let last = try lead.state.journal().last
            lead.out.line(
                "recover \(lead.environment.name)\(all.count > 1 ? " (\(all.count) hosts)" : ""): "
                    + (last.map { "deploy \($0.release) stopped at \($0.step) \($0.phase) (\($0.at))" } ?? "no unfinished deploy"))
            if lead.strategy is SwarmStrategy { return try Recovery.recoverSwarm(all, database: database, force: force) }
            return try Recovery.recover(all, database: database, force: force)
        }
        let out = context.output
        if context.json { return try out.writeJSON(outcome) }
        out.line(outcome.healthy ? "\(out.green("✓")) production has one healthy app container" : "\(out.red("✗")) production is not healthy")
        if !outcome.healthy { throw ExitCode(ExitStatus.failure.rawValue) }
    }
}

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

/// `tmeops rollback -e ENV`.
public struct RollbackCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Return an environment to an earlier release's image, through the same health gate.",
        discussion: """
            Without --to, the newest earlier release with another image. --with-database also restores \
            that release's pre-deployment backup (after a fresh safety backup) and needs --yes.

            Examples:
              tmeops rollback -e production
              tmeops rollback -e production --to r-20261126-101500 --with-database --yes
              tmeops rollback -e production --lock-wait 10m
            """)

    @OptionGroup public var globals: GlobalOptions

    @Option(help: "The release to return to (see `tmeops releases`).")
    public var to: String?

    @Flag(help: "Also restore the release's pre-deployment database backup.")
    public var withDatabase = false

    @Option(help: "Why: kept in the ledger and the audit log.")
    public var message: String = ""

    @Option(help: ArgumentHelp("Wait this long for a deploy lock someone else holds (e.g. 10m) instead of refusing at once.", valueName: "duration"))
    public var lockWait: ConfigDuration?

    public init() {}

    public func run(_ context: CommandContext) async throws {
        if withDatabase && !globals.yes {
            throw TMEOpsError.usage("--with-database replaces the database with the release's backup (after a safety backup); pass --yes to confirm")
        }
        let (to, withDatabase, message, lockWait) = (self.to, self.withDatabase, self.message, self.lockWait?.seconds ?? 0)
        if context.dryRun {
            context.output.line("would roll back to \(to ?? "the previous release")\(withDatabase ? " and restore its database backup" : "")")
            return
        }
        let entry = try await withTargets(context, "rollback") { all, database in
            try Rollback.run(database, hosts: all, to: to, withDatabase: withDatabase, message: message, lockWait: lockWait)
        }
        let out = context.output
        if context.json { return try out.writeJSON(entry) }
        out.line(
            "\(out.green("✓")) rolled back: \(entry.id) runs \(entry.image) (\(entry.imageID.prefix(19))); unavailable \(String(format: "%.2f", entry.unavailableSeconds ?? 0)) s"
        )
    }
}

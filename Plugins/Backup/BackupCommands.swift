import ArgumentParser
import Foundation
import TMEOpsArchive
import TMEOpsCore
import TMEOpsHosts

/// `tmeops backup`: create, list, verify, restore and prune database backups.
public struct BackupCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Create, list, verify, restore, prune and schedule database backups.",
        subcommands: [
            BackupCreateCommand.self, BackupListCommand.self, BackupVerifyCommand.self, BackupRestoreCommand.self, BackupPruneCommand.self,
            BackupScheduleCommand.self,
        ])

    public init() {}
}

func formatBytes(_ bytes: UInt64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}

/// `tmeops backup create -e ENV`.
public struct BackupCreateCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "pg_dump inside the database container, streamed to backups.dir with a checksum and metadata.",
        discussion: """
            pg_dump runs in the database container through the Docker Engine API and reads the same \
            snapshot the row counts and schema hash in the metadata come from. Its output streams through \
            this machine into <backups.dir>/<id>.dump.part on the host (mode 0600), hashed on the way, \
            and is renamed into place with <id>.json beside it. A failure leaves no .part behind.

            Examples:
              tmeops backup create -e production --label pre-deploy
              tmeops backup create -e production --format plain --compress zstd --download ./backups
            """)

    @OptionGroup public var globals: GlobalOptions

    @Option(help: "A label kept in the metadata and the id (e.g. pre-deploy).")
    public var label: String?

    @Option(help: "custom (pg_dump -Fc, default) or plain (SQL, compressed).")
    public var format: String = "custom"

    @Option(help: "Compression of a plain backup: gzip (default) or zstd.")
    public var compress: String = "gzip"

    @Option(help: "Also keep a copy in this local folder.", completion: .directory)
    public var download: String?

    public init() {}

    public func validate() throws {
        guard BackupService.Format(rawValue: format) != nil else { throw ValidationError("--format \(format): expected custom or plain") }
        guard ["gzip", "zstd"].contains(compress) else { throw ValidationError("--compress \(compress): expected gzip or zstd") }
    }

    public func run(_ context: CommandContext) async throws {
        let (_, environment) = try context.loadEnvironment()
        var options = BackupService.CreateOptions(
            label: label, format: BackupService.Format(rawValue: format)!, compression: compress == "zstd" ? .zstd : .gzip)
        if let download {
            let url = ConfigLoader.resolve(download, in: context.workingDirectory)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw TMEOpsError.usage("--download \(download): no such folder here")
            }
            options.download = url
        }
        if context.dryRun {
            context.output.line(
                "would back up \(environment.name)'s database into \(environment.section(BackupsConfig.self)?.dir ?? "backups.dir") (\(format))")
            return
        }
        let chosen = options
        let metadata = try await runBlocking("backup create") { try BackupService.create(environment, context: context, options: chosen) }
        if context.json { return try context.output.writeJSON(metadata) }
        let out = context.output
        out.line(
            "\(out.green("✓")) backup \(metadata.id): \(metadata.file), \(formatBytes(metadata.size)), sha256 \(metadata.sha256.prefix(12))…, "
                + "\(metadata.tableRows.count) tables, \(metadata.tableRows.values.reduce(0, +)) rows, \(metadata.durationMs) ms")
    }
}

/// `tmeops backup list -e ENV`.
public struct BackupListCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Backups on the host, newest first: id, label, time, size, verified, pinned.",
        discussion: """
            Examples:
              tmeops backup list -e production
              tmeops backup list -e production --json
            """)

    @OptionGroup public var globals: GlobalOptions

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let (_, environment) = try context.loadEnvironment()
        let (backups, damaged, pins, lastJob) = try await runBlocking("backup list") { () -> ([BackupMetadata], [String], [String: String], String?) in
            let opened = try BackupService.openStore(environment, context: context)
            defer { opened.close() }
            let store = opened.store
            let (backups, damaged) = try store.list()
            let log = try store.sh(#"[ -f "$1/scheduled.log" ] && tail -n 1 -- "$1/scheduled.log" || true"#, [store.dir], what: "reading scheduled.log")
            let last = log.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
            return (backups, damaged, try store.pins(), last.isEmpty ? nil : last)
        }
        let out = context.output
        if context.json {
            struct Listing: Encodable {
                let backups: [BackupMetadata]
                let pins: [String: String]
                let damaged: [String]
            }
            return try out.writeJSON(Listing(backups: backups, pins: pins, damaged: damaged))
        }
        if backups.isEmpty { out.line("no backups on \(environment.name) yet") }
        for backup in backups {
            let verified = backup.verified.map { $0.ok ? out.green("verified \($0.at)") : out.red("FAILED \($0.at): \($0.detail)") } ?? "not verified"
            out.line(
                "\(backup.id)  \(backup.createdAt)  \(formatBytes(backup.size))  \(backup.format)  \(verified)"
                    + (pins[backup.id].map { "  pinned by \($0)" } ?? "") + (backup.source == "scheduled job" ? "  (scheduled)" : ""))
        }
        for name in damaged { out.line("\(out.red("✗")) \(name): unreadable metadata") }
        if let lastJob { out.line("scheduled job, last run: \(lastJob)") }
    }
}

/// `tmeops backup verify ID -e ENV`.
public struct BackupVerifyCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a backup's SHA-256, read its table of contents, restore it into a scratch database and compare row counts.",
        discussion: """
            The scratch database is <name>_tmeops_verify on the same server, dropped afterwards; the result \
            is recorded in the backup's metadata. Exit 3 when a check fails, naming it.

            Examples:
              tmeops backup verify latest -e production
              tmeops backup verify 20261126-030000-pre-deploy -e production
            """)

    @OptionGroup public var globals: GlobalOptions

    @Argument(help: "The backup id, or latest.")
    public var id: String

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let (config, environment) = try context.loadEnvironment()
        let id = self.id
        let compression = config.section(TransferConfig.self)?.compression ?? .auto
        let report = try await runBlocking("backup verify") {
            try BackupService.verify(id, environment: environment, context: context, compression: compression)
        }
        let out = context.output
        if context.json {
            try out.writeJSON(report)
        } else {
            for check in report.checks { out.line("\(check.ok ? out.green("✓") : out.red("✗")) \(check.name): \(check.detail)") }
            out.line(report.ok ? "\(out.green("✓")) backup \(report.id) is restorable" : "\(out.red("✗")) backup \(report.id) failed verification")
        }
        if !report.ok { throw ExitCode(ExitStatus.checkFailed.rawValue) }
    }
}

/// `tmeops backup restore ID -e ENV --yes [--to-db NAME]`.
public struct BackupRestoreCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a backup alongside (--to-db) or in place of the current database, after a safety backup.",
        discussion: """
            In place: a safety backup of the current database is taken, the backup is restored into \
            <name>_tmeops_restore, and only then are the names swapped (the old database is kept as \
            <name>_tmeops_previous), so a failed restore leaves the current database untouched. A backup \
            from a newer PostgreSQL major version than the server's is refused.

            Examples:
              tmeops backup restore latest -e production --to-db tme_portal_staging
              tmeops backup restore 20261126-030000-pre-deploy -e production --yes
            """)

    @OptionGroup public var globals: GlobalOptions

    @Argument(help: "The backup id, or latest.")
    public var id: String

    @Option(help: "Restore into this new database instead of replacing the current one.")
    public var toDb: String?

    @Option(help: "Allow a backup of this other database (one another environment made in a shared backups folder).")
    public var fromDatabase: String?

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let (config, environment) = try context.loadEnvironment()
        let compression = config.section(TransferConfig.self)?.compression ?? .auto
        guard toDb != nil || globals.yes else {
            throw TMEOpsError.usage(
                "restoring \(id) replaces the database of \(environment.name) (after a safety backup); pass --yes to do it, or --to-db NAME to restore alongside"
            )
        }
        let (id, toDb, fromDatabase) = (self.id, self.toDb, self.fromDatabase)
        if context.dryRun {
            context.output.line("would restore \(id) into \(toDb ?? "the current database (after a safety backup)") on \(environment.name)")
            return
        }
        let outcome = try await runBlocking("backup restore") {
            try BackupService.restore(
                id, environment: environment, context: context, toDatabase: toDb, compression: compression, fromDatabase: fromDatabase,
                log: { context.logger.info("\($0)") })
        }
        let out = context.output
        if context.json { return try out.writeJSON(outcome) }
        out.line("\(out.green("✓")) restored \(outcome.id) into \(outcome.database) on \(environment.name)")
        if let safety = outcome.safetyBackup { out.line("  safety backup of the replaced database: \(safety)") }
        if let previous = outcome.previousDatabase { out.line("  the replaced database is kept as \(previous) (drop it when you no longer need it)") }
    }
}

/// `tmeops backup prune -e ENV`.
public struct BackupPruneCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Remove backups no keep rule (keep_last/daily/weekly/monthly, restic's semantics) keeps.",
        discussion: """
            The newest backup of each of the last N days / ISO weeks / months that have backups is kept, \
            and the newest keep_last; the rules are OR'ed. The newest verified backup, backups pinned by a \
            release and backups whose time cannot be trusted (dated in the future, name and time disagree) \
            are never removed. Each backup is printed with why it is kept or removed.

            Examples:
              tmeops backup prune -e production --dry-run
              tmeops backup prune -e production
            """)

    @OptionGroup public var globals: GlobalOptions

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let (_, environment) = try context.loadEnvironment()
        let dryRun = context.dryRun
        let outcome = try await runBlocking("backup prune") { try BackupService.prune(environment, context: context, dryRun: dryRun) }
        let out = context.output
        if context.json { return try out.writeJSON(outcome) }
        for item in outcome.items {
            out.line(
                item.keep
                    ? "keep    \(item.id)  (\(item.reasons.joined(separator: ", ")))"
                    : "\(dryRun ? "would remove" : "removed")  \(item.id)  (\(item.reasons.joined(separator: ", ")))")
        }
        out.line("\(outcome.items.filter(\.keep).count) kept, \(outcome.removed.count) \(dryRun ? "would be removed" : "removed")")
    }
}

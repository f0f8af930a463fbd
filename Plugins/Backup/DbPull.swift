import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import TMEOpsPostgres

/// `db pull`: production's data into development (the runbook's Option A), restored beside the target
/// and swapped in by name, after a backup of the target, so a failed pull leaves development as it was.
public enum DbPull {
    public struct Options: Sendable {
        public var backup: String?
        public var fresh = false
        public var schemaOnly = false
        public var excludeTableData: [String] = []
        public var force = false
        /// The config's `transfer.compression`, for fetching the backup.
        public var compression: TransferConfig.Compression = .auto

        public init(backup: String? = nil, fresh: Bool = false, schemaOnly: Bool = false, excludeTableData: [String] = [], force: Bool = false) {
            self.backup = backup
            self.fresh = fresh
            self.schemaOnly = schemaOnly
            self.excludeTableData = excludeTableData
            self.force = force
        }
    }

    public struct Outcome: Codable, Sendable {
        public var source: String
        public var targetDatabase: String
        public var safetyBackup: String
        public var previousDatabase: String
        public var seconds: Double
    }

    /// A fresh custom-format dump of `environment`'s database into a private temporary file here.
    static func freshDump(_ environment: EnvironmentConfig, context: CommandContext, options: Options, into file: URL) throws {
        let database = try environment.require(DatabaseConfig.self, for: "dumping its database")
        var flags = ["-Fc"]
        if options.schemaOnly { flags.append("--schema-only") }
        for table in options.excludeTableData { flags.append("--exclude-table-data=\(table)") }
        guard FileManager.default.createFile(atPath: file.path, contents: nil, attributes: [.posixPermissions: 0o600]),
            let handle = try? FileHandle(forWritingTo: file)
        else { throw TMEOpsError("cannot write \(file.path)") }
        defer { try? handle.close() }
        switch try database.location(environment: environment.name) {
        case .container(let container, let user, let name):
            let opened = try BackupService.openStore(environment, context: context)
            defer { opened.close() }
            guard let engine = opened.engine else {
                throw TMEOpsError.usage("environment '\(environment.name)' names a database container but has no ssh section")
            }
            var errors = Data()
            let script = PostgresTools.containerScript(port: database.port, #"u="$1"; d="$2"; shift 2; exec pg_dump "$@" -U "$u" -d "$d""#)
            let status = try engine.execStreaming(
                container, ["sh", "-c", script, "tmeops", user, name] + flags, onStdout: { try handle.write(contentsOf: $0) },
                onStderr: { if errors.count < 65536 { errors.append($0) } })
            guard status == 0 else {
                throw TMEOpsError("pg_dump in \(container) on \(environment.name) failed (exit \(status)): \(String(decoding: errors, as: UTF8.self))")
            }
        case .url(let url):
            let target = try PostgresTarget(url: url)
            let result = try PostgresTools.streamLocal("pg_dump", flags + ["-d", target.database], target: target, context: context) {
                try handle.write(contentsOf: $0)
            }
            guard result.status == 0 else { throw TMEOpsError("pg_dump of \(target.description) failed: \(String(decoding: result.stderr, as: UTF8.self))") }
        }
    }

    public static func run(
        from source: EnvironmentConfig, to target: EnvironmentConfig, context: CommandContext, options: Options, log: (String) -> Void
    ) throws -> Outcome {
        let started = Date()
        try ProtectedConfig.refuseIfProtected(target, command: "db pull")
        let database = try Databases.open(target, context: context)
        defer { database.close() }
        let name = database.target.database
        let admin = try database.connect(database: "postgres")
        let others = try DatabaseCopy.otherSessions(admin, name).filter { !$0.hasPrefix("tmeops") }
        admin.close()
        if !others.isEmpty && !options.force {
            throw TMEOpsError(
                "database \(name) of \(target.name) is in use by \(others.count) other session\(others.count == 1 ? "" : "s"): \(others.joined(separator: "; ")); stop them, or pass --force to end them; nothing was changed"
            )
        }

        // Where the data comes from: a named backup, the newest verified one, or a fresh dump.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tmeops-pull-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: folder) }
        var file: URL
        var sourceText: String
        var metadata: BackupMetadata?
        let wantsBackup = options.backup != nil || !(options.fresh || options.schemaOnly || !options.excludeTableData.isEmpty)
        var chosen: BackupMetadata?
        var opened: BackupService.OpenStore?
        if wantsBackup {
            opened = try BackupService.openStore(source, context: context)
            if let id = options.backup {
                chosen = try opened!.store.find(id)
            } else {
                chosen = try opened!.store.list().backups.first { $0.verified?.ok == true && $0.format == "custom" }
            }
        }
        defer { opened?.close() }
        if let chosen, let opened {
            guard chosen.format == "custom" else { throw TMEOpsError.usage("backup \(chosen.id) is plain SQL; db pull restores custom-format backups") }
            var report = BackupService.VerifyReport(id: chosen.id)
            guard let fetched = try BackupService.fetch(chosen, store: opened.store, report: &report, compression: options.compression, context: context)
            else {
                throw TMEOpsError(
                    "backup \(chosen.id) failed its checks: \(report.checks.filter { !$0.ok }.map(\.detail).joined(separator: "; ")); nothing was changed")
            }
            file = fetched
            metadata = chosen
            sourceText = "backup \(chosen.id) of \(source.name)"
            log("using \(sourceText)")
            // A backup from before the source's last schema change is old news: say so.
            if let hash = chosen.schemaHash, let live = try? Databases.open(source, context: context) {
                defer { live.close() }
                if let current = try? SchemaIntrospector.snapshot(live.connection).schemaHash, current != hash {
                    context.logger.warning("\(source.name)'s schema has changed since backup \(chosen.id) was taken; pass --fresh for its current state")
                }
            }
        } else {
            file = folder.appendingPathComponent("fresh.dump")
            log(wantsBackup ? "\(source.name) has no verified backup: dumping its database now" : "dumping \(source.name)'s database now")
            try freshDump(source, context: context, options: options, into: file)
            sourceText = "a fresh dump of \(source.name)" + (options.schemaOnly ? " (schema only)" : "")
        }
        defer { if metadata != nil { try? FileManager.default.removeItem(at: file.deletingLastPathComponent()) } }

        log("backing up \(target.name)'s database first")
        let safety = try BackupService.create(target, context: context, options: .init(label: "pre-pull"))

        let staging = "\(name)_tmeops_pull"
        try DatabaseCopy.createEmpty(database, staging)
        do {
            var arguments = ["--exit-on-error", "--no-owner", "--no-privileges", "-d", staging]
            if options.schemaOnly { arguments.append("--schema-only") }
            if metadata != nil && !options.excludeTableData.isEmpty {
                // A backup has every table's data: leave the excluded tables' TABLE DATA out of its list.
                let toc = String(decoding: try PostgresTools.runLocal("pg_restore", ["-l", file.path], target: nil, context: context), as: UTF8.self)
                let kept = toc.split(separator: "\n").filter { line in
                    !(line.contains(" TABLE DATA ")
                        && options.excludeTableData.contains { table in line.hasSuffix(" \(table) \(database.target.user)") || line.contains(" \(table) ") })
                }
                let list = folder.appendingPathComponent("restore.list")
                try kept.joined(separator: "\n").write(to: list, atomically: true, encoding: .utf8)
                arguments += ["-L", list.path]
            }
            log("restoring \(sourceText) into \(staging)")
            _ = try PostgresTools.runLocal("pg_restore", arguments + [file.path], target: database.target.with(database: staging), context: context)
        } catch {
            try? DatabaseCopy.drop(database, staging)
            throw TMEOpsError("restoring \(sourceText) into \(staging) failed, so \(name) of \(target.name) was left as it was: \(error)")
        }
        let previous = "\(name)_tmeops_previous"
        try DatabaseCopy.swapIn(database, name: name, staging: staging, previous: previous, terminate: true)
        return Outcome(
            source: sourceText, targetDatabase: name, safetyBackup: safety.id, previousDatabase: previous, seconds: Date().timeIntervalSince(started))
    }
}

/// `tmeops db`: development alignment.
public struct DbCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "db", abstract: "Pull a database into development.", subcommands: [DbPullCommand.self])
    public init() {}
}

/// `tmeops db pull --from production --to development`.
public struct DbPullCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Replace a development database with production's (newest verified backup, or a fresh dump).",
        discussion: """
            The target's database is backed up first (a local environment keeps it in .tmeops/backups), the \
            data is restored into <name>_tmeops_pull, and only then swapped in by name (the old database \
            is kept as <name>_tmeops_previous), so a failed pull leaves the target as it was. A protected \
            environment (protected: true, or any environment with ssh unless it says protected: false) is \
            never written to.

            Examples:
              tmeops db pull --from production --to development --yes
              tmeops db pull --from production --to development --schema-only --yes
              tmeops db pull --from production --to development --fresh --exclude-table-data audit_events --yes
            """)

    @OptionGroup public var globals: GlobalOptions

    @Option(help: "The environment to copy from.")
    public var from: String

    @Option(help: "The environment whose database is replaced.")
    public var to: String

    @Option(help: "Use this backup of the source (default: its newest verified one).")
    public var backup: String?

    @Flag(help: "Dump the source now instead of using a backup.")
    public var fresh = false

    @Flag(help: "The schema only, no data.")
    public var schemaOnly = false

    @Option(parsing: .upToNextOption, help: "Tables whose data stays behind (schema-qualified or not).")
    public var excludeTableData: [String] = []

    @Flag(help: "End other sessions on the target database instead of refusing.")
    public var force = false

    public init() {}

    public func run(_ context: CommandContext) async throws {
        // Each environment is loaded on its own, so only its own ${VARS} need to be set.
        let sourceConfig = try context.loadConfig(selecting: .named(from))
        let source = try sourceConfig.environment(from)
        let target = try context.loadConfig(selecting: .named(to)).environment(to)
        try ProtectedConfig.refuseIfProtected(target, command: "db pull")
        if context.dryRun {
            context.output.line(
                "would back up \(to)'s database, then replace it with \(backup.map { "backup \($0)" } ?? (fresh || schemaOnly ? "a fresh dump" : "the newest verified backup")) of \(from)"
            )
            return
        }
        try context.confirm("Replace the database of \(to) with \(from)'s (after a backup of it)?")
        var pull = DbPull.Options(backup: backup, fresh: fresh, schemaOnly: schemaOnly, excludeTableData: excludeTableData, force: force)
        pull.compression = sourceConfig.section(TransferConfig.self)?.compression ?? .auto
        let options = pull
        let outcome = try await runBlocking("db pull") {
            try DbPull.run(from: source, to: target, context: context, options: options, log: { context.logger.info("\($0)") })
        }
        let out = context.output
        if context.json { return try out.writeJSON(outcome) }
        out.line("\(out.green("✓")) \(to)'s database \(outcome.targetDatabase) now holds \(outcome.source) (\(String(format: "%.1f", outcome.seconds)) s)")
        out.line("  backup of what it held before: \(outcome.safetyBackup); the old database is kept as \(outcome.previousDatabase)")
    }
}

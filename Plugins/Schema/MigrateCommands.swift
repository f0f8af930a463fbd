import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsHosts
import TMEOpsPostgres

/// `tmeops migrate`: inspect, write, adopt, test and apply migrations.
public struct MigrateCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Inspect, write, adopt, test and apply migrations.",
        subcommands: [
            MigrateStatusCommand.self, MigrateNewCommand.self, MigrateAdoptCommand.self, MigrateTestCommand.self, MigrateApplyCommand.self,
        ])

    public init() {}
}

/// `tmeops migrate status -e ENV`.
public struct MigrateStatusCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Applied, pending, gaps, edited files and unknown versions; exit 3 when anything is off.",
        discussion: """
            A gap is a file that was never applied while a later version was (the runbook's missing \
            010-014). A changed file was edited after it was applied (its SHA-256 differs from the ledger's).

            Examples:
              tmeops migrate status -e production
              tmeops migrate status -e production --json
            """)

    @OptionGroup public var globals: GlobalOptions

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let (config, environment) = try context.loadEnvironment()
        let files = try MigrationSetup(config).files
        let (ledger, tables) = try await runBlocking("migrate status") { () -> ([MigrationLedger.Entry], Int) in
            let database = try Databases.open(environment, context: context)
            defer { database.close() }
            let entries = try MigrationLedger.entries(database.connection)
            // Tables of the app's own (not tmeops's ledger, not the system's).
            let tables = try database.connection.query(
                """
                SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'tmeops') AND n.nspname NOT LIKE 'pg\\_%'
                """
            ).scalar
            return (entries, Int(tables ?? "") ?? 0)
        }
        if ledger.isEmpty && tables > 0 && !files.isEmpty {
            // Migrated by hand (or by another tool): listing every file as pending would be wrong.
            let message =
                "\(environment.name) has \(tables) table\(tables == 1 ? "" : "s") but no migration ledger: it was migrated by hand or by another tool, so tmeops cannot tell which of the \(files.count) files it already has. Run `tmeops migrate adopt -e \(environment.name) --dry-run` to see which files its schema already reflects, then without --dry-run to record them."
            if context.json {
                try context.output.writeJSON(["environment": environment.name, "state": "no ledger", "tables": "\(tables)", "message": message])
            } else {
                context.output.line(message)
            }
            throw ExitCode(ExitStatus.checkFailed.rawValue)
        }
        let status = MigrationStatus(files: files, ledger: ledger)
        if context.json {
            try context.output.writeJSON(status)
        } else {
            let out = context.output
            let counts = Dictionary(grouping: status.items, by: \.state).mapValues(\.count)
            out.line(
                "\(environment.name): "
                    + ["applied", "pending", "gap", "changed", "failed", "unknown"].compactMap { state in counts[state].map { "\($0) \(state)" } }.joined(
                        separator: ", "))
            for item in status.items where item.state != "applied" {
                let mark = item.state == "pending" ? "·" : out.red("✗")
                out.line("  \(mark) \(String(format: "%03d", item.version))_\(item.name)  \(item.state)\(item.detail.map { ": \($0)" } ?? "")")
            }
        }
        if status.hasProblems { throw ExitCode(ExitStatus.checkFailed.rawValue) }
    }
}

/// `tmeops migrate new NAME`.
public struct MigrateNewCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "new",
        abstract: "Write the next NNN_name.sql from Templates/migration.sql.",
        discussion: """
            Examples:
              tmeops migrate new add_revision_number
            """)

    @OptionGroup public var globals: GlobalOptions

    @Argument(help: "What the migration does, in lower-case words joined by _ (e.g. add_revision_number).")
    public var name: String

    public init() {}

    public func run(_ context: CommandContext) async throws {
        guard name.range(of: #"^[a-z0-9]+(_[a-z0-9]+)*$"#, options: .regularExpression) != nil else {
            throw TMEOpsError.usage("'\(name)' cannot name a migration; use lower-case words joined by _, e.g. add_revision_number")
        }
        let config = try context.loadConfig()
        let (folderText, folder) = MigrationsConfig.folder(of: config)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let next = (try MigrationFile.load(folder: folder, displayFolder: folderText).map(\.version).max() ?? 0) + 1
        let file = String(format: "%03d", next) + "_\(name).sql"
        let text = try Templates.locate(environment: context.environment).render(
            "migration.sql", ["name": name, "version": String(format: "%03d", next), "file": file])
        if context.dryRun {
            context.output.line("would write \(folderText)/\(file)")
            return
        }
        try AtomicFile.write(Data(text.utf8), to: folder.appendingPathComponent(file), overwrite: false, displayPath: "\(folderText)/\(file)")
        context.output.line("wrote \(folderText)/\(file)")
    }
}

/// `tmeops migrate apply -e ENV`.
public struct MigrateApplyCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Apply tested migrations, each in a transaction, under an advisory lock.",
        discussion: """
            Pending migrations (and gaps) run in version order, each in its own transaction with its ledger \
            row, unless the file says -- tmeops:no-transaction. Each needs a proof from `migrate test` that \
            matches its checksum and the database's current schema hash. Statements wait at most \
            migrations.lock_timeout for a lock and the migration is retried migrations.lock_retries times. \
            On an error the failing migration is rolled back, later ones are not run, and the error names \
            the file, line and SQLSTATE. On a protected environment (see `protected` in the config \
            reference) it first takes the deploy lock and a backup, as `deploy` does.

            Examples:
              tmeops migrate test -e production && tmeops migrate apply -e production
              tmeops migrate apply -e development --untested
              tmeops migrate apply -e production --dry-run
            """)

    @OptionGroup public var globals: GlobalOptions

    @Flag(help: "Apply migrations that have no matching test proof (a warning is recorded in the ledger).")
    public var untested = false

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let (config, environment) = try context.loadEnvironment()
        let setup = try MigrationSetup(config)
        let out = context.output
        let untested = self.untested
        if untested { context.logger.warning("--untested: migrations without a test proof will be applied and recorded as untested") }
        let outcome = try await runBlocking("migrate apply") { () -> MigrationService.ApplyOutcome? in
            let database = try Databases.open(environment, context: context)
            defer { database.close() }
            if context.dryRun {
                let pending = try MigrationService.toApply(
                    files: setup.files, ledger: try MigrationLedger.entries(database.connection), environment: environment.name)
                out.line(pending.isEmpty ? "nothing to apply on \(environment.name)" : "would apply on \(environment.name):")
                for file in pending { out.line("  \(file.fileName)") }
                return nil
            }
            // A protected environment is locked and backed up before anything is applied (and only
            // when something is to be applied): protect, act, then record.
            let pending = try MigrationService.toApply(
                files: setup.files, ledger: try MigrationLedger.entries(database.connection), environment: environment.name)
            let held = pending.isEmpty ? nil : try ProtectedChange.protect(config, environment, context: context, purpose: "migrate apply")
            if let held {
                context.logger.info("deploy lock held\(held.lockHost.map { " on \($0)" } ?? ""); backed up \(environment.name) first: \(held.backup)")
            }
            do {
                var outcome = try MigrationService.apply(
                    database, files: setup.files, settings: setup.settings, environment: environment.name, untested: untested,
                    log: { context.logger.debug("\($0)") }, warn: { context.logger.warning("\($0)") })
                held?.finish("applied", outcome.applied.map { String(format: "%03d_%@", $0.version, $0.name) }.joined(separator: ", "))
                outcome.backup = held?.backup
                return outcome
            } catch {
                held?.finish("failed", "backup \(held?.backup ?? "-") taken first")
                throw error
            }
        }
        guard let outcome else { return }
        if context.json { return try out.writeJSON(outcome) }
        if let backup = outcome.backup { out.line("backup taken first: \(backup)") }
        if outcome.applied.isEmpty {
            out.line("\(out.green("✓")) \(environment.name) is up to date: nothing to apply")
        }
        for applied in outcome.applied {
            let warning = outcome.untested.contains(applied.version) ? out.yellow(" (untested)") : ""
            out.line(
                "\(out.green("✓")) \(String(format: "%03d", applied.version))_\(applied.name)  \(applied.milliseconds) ms"
                    + (applied.transactional ? "" : ", no transaction") + (applied.attempts > 1 ? ", \(applied.attempts) attempts" : "") + warning)
        }
    }
}

/// `tmeops migrate test -e ENV`.
public struct MigrateTestCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Apply pending migrations to a copy of the database and record a proof.",
        discussion: """
            The copy is <name>_tmeops_test on the same server: CREATE DATABASE … TEMPLATE when nobody is \
            connected, else pg_dump | pg_restore inside the database container. With --expect (or \
            migrations.expect) the migrated copy must equal that schema. The proof (file checksums and the \
            hash of the schema they were tested against) is what `migrate apply` requires.

            Examples:
              tmeops migrate test -e production
              tmeops migrate test -e production --expect development --keep
            """)

    @OptionGroup public var globals: GlobalOptions

    @Option(help: "The schema the migrated copy must equal: an environment, URL or snapshot file (default: migrations.expect).")
    public var expect: String?

    @Option(help: "Name of the copy (default: <database>_tmeops_test).")
    public var copyName: String?

    @Flag(help: "Keep the migrated copy instead of dropping it.")
    public var keep = false

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let (config, environment) = try context.loadEnvironment()
        let setup = try MigrationSetup(config)
        let expectSource = expect ?? setup.config.expect
        let (copyName, keep) = (self.copyName, self.keep)
        if context.dryRun {
            context.output.line("would copy \(environment.name)'s database, apply pending migrations to the copy, and record a proof")
            return
        }
        let outcome = try await runBlocking("migrate test") { () -> MigrationService.TestOutcome in
            let expected = try expectSource.map { try SchemaSource.snapshot($0, context: context) }
            let database = try Databases.open(environment, context: context)
            defer { database.close() }
            return try MigrationService.test(
                database, environment: environment, context: context, files: setup.files, settings: setup.settings, expect: expected,
                copyName: copyName, keep: keep, log: { context.logger.debug("\($0)") }, warn: { context.logger.warning("\($0)") })
        }
        let out = context.output
        if context.json {
            try out.writeJSON(outcome)
        } else {
            out.line("copy: \(outcome.copy) (\(outcome.method))\(outcome.kept ? ", kept" : ", dropped")")
            for applied in outcome.applied {
                out.line("  \(out.green("✓")) \(String(format: "%03d", applied.version))_\(applied.name)  \(applied.milliseconds) ms")
            }
            if outcome.applied.isEmpty { out.line("  nothing pending") }
            if let diff = outcome.expectedDiff, !diff.isEmpty {
                out.line("\(out.red("✗")) the migrated copy differs from \(expectSource ?? "the expected schema") in \(diff.count) places:")
                for table in diff.tables { for change in table.changes { out.line("    \(table.table): \(change)") } }
                for change in diff.other { out.line("    \(change)") }
            } else {
                out.line(
                    "\(out.green("✓")) proof recorded for schema \(outcome.schemaHash.prefix(12))"
                        + (expectSource.map { "; the migrated copy equals \($0)" } ?? ""))
            }
        }
        if !outcome.passed { throw ExitCode(ExitStatus.checkFailed.rawValue) }
    }
}

/// `tmeops migrate adopt -e ENV`.
public struct MigrateAdoptCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "adopt",
        abstract: "Record pending migrations already reflected in a hand-changed database.",
        discussion: """
            The applied migrations are replayed into a scratch database, then each pending one; a pending \
            migration whose every schema change the real database already has is recorded as applied \
            (note: adopted), without running it. Nothing else is changed.

            Examples:
              tmeops migrate adopt -e production --dry-run
              tmeops migrate adopt -e production
            """)

    @OptionGroup public var globals: GlobalOptions

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let (config, environment) = try context.loadEnvironment()
        let setup = try MigrationSetup(config)
        let outcome = try await runBlocking("migrate adopt") { () -> MigrationService.AdoptOutcome in
            let database = try Databases.open(environment, context: context)
            defer { database.close() }
            return try MigrationService.adopt(
                database, environment: environment.name, files: setup.files, settings: setup.settings, dryRun: context.dryRun,
                log: { context.logger.debug("\($0)") }, warn: { context.logger.warning("\($0)") })
        }
        let out = context.output
        if context.json { return try out.writeJSON(outcome) }
        let verb = context.dryRun ? "would record" : "recorded"
        for file in setup.files where outcome.adopted.contains(file.version) {
            out.line("\(out.green("✓")) \(file.fileName): already in the schema; \(verb) as applied")
        }
        for (label, reason) in outcome.notReflected.sorted(by: { $0.key < $1.key }) {
            out.line("· \(label).sql: still pending (\(reason))")
        }
        if outcome.adopted.isEmpty && outcome.notReflected.isEmpty { out.line("nothing pending on \(environment.name)") }
    }
}

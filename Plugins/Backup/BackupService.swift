import Foundation
import TMEOpsArchive
import TMEOpsCore
import TMEOpsCrypto
import TMEOpsDocker
import TMEOpsHosts
import TMEOpsPostgres
import TMEOpsSSH

/// The library API of the backup plugin: create, verify, restore and prune, for the commands and the deploy.
public enum BackupService {
    public enum Format: String, Sendable, CaseIterable {
        case custom, plain
    }

    public struct CreateOptions: Sendable {
        public var label: String?
        public var format: Format = .custom
        public var compression: ArchiveCompression = .gzip
        public var download: URL?

        public init(label: String? = nil, format: Format = .custom, compression: ArchiveCompression = .gzip, download: URL? = nil) {
            self.label = label
            self.format = format
            self.compression = compression
            self.download = download
        }
    }

    /// Exact row counts of every table, in the caller's transaction.
    static func tableRows(_ connection: PostgresConnection) throws -> [String: Int64] {
        // Exact counts of big tables would otherwise start LLVM JIT compilation, which costs more than it saves.
        try connection.query("SELECT pg_catalog.set_config('jit', 'off', false)")
        let tables = try connection.query(
            """
            SELECT n.nspname, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%' ORDER BY 1, 2
            """
        ).rows
        var counts: [String: Int64] = [:]
        for row in tables {
            let (schema, table) = (row[0]!, row[1]!)
            let count = try connection.query("SELECT count(*) FROM \(try connection.quoteIdentifier(schema)).\(try connection.quoteIdentifier(table))").scalar
            counts["\(schema).\(table)"] = Int64(count ?? "") ?? -1
        }
        return counts
    }

    public static func containerLocation(_ environment: EnvironmentConfig) throws -> (database: DatabaseConfig, container: String, user: String, name: String) {
        let database = try environment.require(DatabaseConfig.self, for: "backing up its database")
        guard case .container(let container, let user, let name) = try database.location(environment: environment.name) else {
            throw TMEOpsError.usage(
                "environment '\(environment.name)' reaches its database by URL; a scheduled backup runs on the host, inside the database container (database.container). For this environment run `tmeops backup create -e \(environment.name)` from a machine that reaches the URL (its backups are kept in .tmeops/backups)"
            )
        }
        return (database, container, user, name)
    }

    /// An open backup store: on the environment's host (with the engine on the same SSH connection), or
    /// for a local environment (no ssh section) a folder here, `.tmeops/backups` unless backups.dir says.
    public struct OpenStore {
        public let store: BackupStore
        public let engine: DockerEngine?
        public let session: SSHSession?
        public func close() { session?.close() }

        public init(store: BackupStore, engine: DockerEngine?, session: SSHSession?) {
            self.store = store
            self.engine = engine
            self.session = session
        }
    }

    public static func openStore(_ environment: EnvironmentConfig, context: CommandContext) throws -> OpenStore {
        let backups = environment.section(BackupsConfig.self)
        guard environment.section(SSHConfig.self) != nil else {
            let dir = ConfigLoader.resolve(backups?.dir ?? ".tmeops/backups", in: context.workingDirectory).path
            return OpenStore(store: BackupStore(localDirectory: dir), engine: nil, session: nil)
        }
        let config = try environment.require(BackupsConfig.self, for: "keeping backups")
        let (engine, session) = try DockerEngines.remote(environment, .database, context: context)
        return OpenStore(store: BackupStore(session: session, dir: config.dir, host: session.options.host), engine: engine, session: session)
    }

    /// The database of `environment`: its location and name.
    static func databaseName(_ environment: EnvironmentConfig) throws -> String {
        let database = try environment.require(DatabaseConfig.self, for: "backing up its database")
        switch try database.location(environment: environment.name) {
        case .container(_, _, let name): return name
        case .url(let url): return try PostgresTarget(url: url).database
        }
    }

    // MARK: create

    /// pg_dump in the database container (through the Engine API's exec), streamed through this machine
    /// into `<dir>/<id>.<ext>.part` on the host with its SHA-256 computed on the way; metadata (row counts
    /// and schema hash from the same snapshot pg_dump reads) is written, then both are renamed into place.
    /// Any failure removes the `.part` files and touches no other backup.
    public static func create(
        _ environment: EnvironmentConfig, context: CommandContext, options: CreateOptions, database shared: DatabaseSession? = nil,
        store sharedStore: OpenStore? = nil
    ) throws -> BackupMetadata {
        let databaseConfig = try environment.require(DatabaseConfig.self, for: "backing up its database")
        let location = try databaseConfig.location(environment: environment.name)
        let started = Date()
        // A deploy passes the connections it already holds; a command opens its own.
        let database = try shared ?? Databases.open(environment, context: context)
        defer { if shared == nil { database.close() } }
        let connection = database.connection
        try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        defer { _ = try? connection.execute("COMMIT") }
        guard let snapshotID = try connection.query("SELECT pg_catalog.pg_export_snapshot()").scalar else {
            throw TMEOpsError("PostgreSQL did not export a snapshot for the backup")
        }
        let rows = try tableRows(connection)
        let schemaHash = try SchemaIntrospector.snapshot(connection).schemaHash
        let name = database.target.database

        let opened = try sharedStore ?? openStore(environment, context: context)
        defer { if sharedStore == nil { opened.close() } }
        let store = opened.store
        try store.ensureDirectory()
        let existing = Set(try store.list().backups.map(\.id))
        var id = BackupMetadata.makeID(at: started, label: options.label)
        var suffix = 2
        while existing.contains(id) {
            id = BackupMetadata.makeID(at: started, label: options.label) + "-\(suffix)"
            suffix += 1
        }
        let compression: String? = options.format == .plain ? (options.compression == .zstd ? "zstd" : "gzip") : nil
        let file = "\(id)." + (options.format == .custom ? "dump" : compression == "zstd" ? "sql.zst" : "sql.gz")
        let part = store.path(file + ".part")

        let hasher = SHA256()
        var size: UInt64 = 0
        var localPart: String?
        var localFD: Int32 = -1
        if let download = options.download {
            localPart = download.appendingPathComponent(file + ".part").path
            localFD = open(localPart!, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard localFD >= 0 else { throw TMEOpsError("cannot write \(localPart!): \(String(cString: strerror(errno)))") }
        }
        let writer = try BackupWriter(store: store, part: part)
        var dumpErrors = Data()
        // Bytes and rate as the dump is written (its size is not known ahead).
        let progress = ProgressReporter(
            label: "backup \(name) to \(store.host)", sink: context.errorSink, logger: context.logger, quiet: context.options.quiet || context.json)
        func cleanUp() {
            progress.finish()
            writer.abort()
            _ = try? store.sh(#"rm -f -- "$1" "$2""#, [part, store.path("\(id).json.part")], what: "removing \(file).part")
            if localFD >= 0 { close(localFD) }
            if let localPart { unlink(localPart) }
        }
        do {
            let emit: (UnsafeRawBufferPointer) throws -> Void = { bytes in
                guard bytes.count > 0 else { return }
                hasher.update(bytes)
                size += UInt64(bytes.count)
                progress.update(size, 0)
                try writer.write(bytes)
                if localFD >= 0, let code = Descriptor.writeAll(bytes, to: localFD) {
                    throw TMEOpsError("writing \(localPart!) failed: \(String(cString: strerror(code)))")
                }
            }
            let compressor = try compression.map { kind in
                try CompressedStreamWriter(destination: part, compression: kind == "zstd" ? .zstd : .gzip, sink: emit)
            }
            let onChunk: (Data) throws -> Void = { chunk in
                if let compressor { try compressor.write(chunk) } else { try chunk.withUnsafeBytes { try emit($0) } }
            }
            let formatFlag = options.format == .custom ? "-Fc" : "-Fp"
            let exitCode: Int
            let dumpedWhere: String
            switch location {
            case .container(let container, let user, _):
                guard let engine = opened.engine else {
                    throw TMEOpsError.usage("environment '\(environment.name)' names a database container but has no ssh section")
                }
                let script = PostgresTools.containerScript(port: databaseConfig.port, #"exec pg_dump "$4" --snapshot="$3" -U "$1" -d "$2""#)
                exitCode = try engine.execStreaming(
                    container, ["sh", "-c", script, "tmeops", user, name, snapshotID, formatFlag], onStdout: onChunk,
                    onStderr: { if dumpErrors.count < 65536 { dumpErrors.append($0) } })
                dumpedWhere = "in \(container) on \(environment.name)"
            case .url:
                let result = try PostgresTools.streamLocal(
                    "pg_dump", [formatFlag, "--snapshot=\(snapshotID)", "-d", name], target: database.target, context: context, onStdout: onChunk)
                exitCode = result.status
                dumpErrors = result.stderr
                dumpedWhere = "here for \(database.target.description)"
            }
            guard exitCode == 0 else {
                throw TMEOpsError(
                    "pg_dump \(dumpedWhere) failed (exit \(exitCode)): \(String(decoding: dumpErrors, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)); no backup was written"
                )
            }
            try compressor?.close()
            try writer.finish()
            progress.finish()
            let metadata = BackupMetadata(
                id: id, file: file, database: name, serverVersion: connection.serverVersion, format: options.format.rawValue, compression: compression,
                size: size, sha256: hasher.finishHex(), durationMs: Int(Date().timeIntervalSince(started) * 1000), label: options.label,
                createdAt: BackupMetadata.timeText(started), tmeopsVersion: TMEOpsVersion.version, schemaHash: schemaHash, tableRows: rows,
                source: "tmeops backup create", verified: nil, environment: environment.name)
            // The file first, its metadata last: a backup is listed only once both are in place.
            try store.sh(
                #"umask 077 && cat > "$3.part" && mv -f -- "$1" "$2" && mv -f -- "$3.part" "$3""#, [part, store.path(file), store.path("\(id).json")],
                stdin: try metadata.encoded(), what: "moving \(file) into place")
            if localFD >= 0 {
                fsync(localFD)
                close(localFD)
                localFD = -1
                rename(localPart!, options.download!.appendingPathComponent(file).path)
                try Data(try metadata.encoded()).write(to: options.download!.appendingPathComponent("\(id).json"))
            }
            return metadata
        } catch {
            cleanUp()
            throw error
        }
    }

    static func databasePort(_ environment: EnvironmentConfig) throws -> Int {
        try environment.require(DatabaseConfig.self, for: "backing up its database").port
    }

    // MARK: verify

    public struct VerifyReport: Codable, Sendable, Equatable {
        public struct Check: Codable, Sendable, Equatable {
            public let name: String
            public let ok: Bool
            public let detail: String
        }
        public var id: String
        public var checks: [Check] = []
        public var ok: Bool { !checks.isEmpty && checks.allSatisfy(\.ok) }

        /// Records the size check of the fetched file; false when it differs from the metadata's.
        mutating func checkSize(_ size: UInt64, of path: String, expected: UInt64) -> Bool {
            guard size == expected else {
                checks.append(
                    .init(name: "size", ok: false, detail: "\(path) has \(size) bytes, the metadata says \(expected)\(size < expected ? " (truncated)" : "")"))
                return false
            }
            checks.append(.init(name: "size", ok: true, detail: "\(size) bytes"))
            return true
        }

        /// Records the SHA-256 check of the fetched file; false when it differs from the metadata's.
        mutating func checkSHA256(_ hash: String, expected: String) -> Bool {
            guard hash == expected else {
                checks.append(
                    .init(name: "sha256", ok: false, detail: "the file's SHA-256 is \(hash.prefix(16))…, the metadata says \(expected.prefix(16))… (corrupted)")
                )
                return false
            }
            checks.append(.init(name: "sha256", ok: true, detail: String(expected.prefix(16)) + "…"))
            return true
        }
    }

    /// Fetches a backup to a private temporary file here, checking size and SHA-256 against its metadata.
    /// `compression` is the config's `transfer.compression`, which the caller has loaded already.
    static func fetch(
        _ metadata: BackupMetadata, store: BackupStore, report: inout VerifyReport, compression: TransferConfig.Compression, context: CommandContext
    ) throws -> URL? {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tmeops-backup-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let local = folder.appendingPathComponent(metadata.file)
        let remote = store.path(metadata.file)
        guard let session = store.session else { return try fetchLocal(metadata, store: store, to: local, report: &report) }
        let sftp = try SFTPClient(session)
        guard let info = try sftp.stat(remote) else {
            report.checks.append(.init(name: "file", ok: false, detail: "\(remote) is missing on \(store.host)"))
            return nil
        }
        guard report.checkSize(info.size, of: remote, expected: metadata.size) else { return nil }
        let progress = ProgressReporter(
            label: "fetch \(metadata.file)", sink: context.errorSink, logger: context.logger, quiet: context.options.quiet || context.json)
        defer { progress.finish() }
        var download = FileTransfer(session: session, progress: progress.update)
        // Custom-format dumps are compressed already (auto measures and sends them as they are); plain
        // SQL ones shrink several-fold.
        download.encoding = { size in TransferCompression.forDownload(compression, remote: remote, size: size, session: session, logger: context.logger) }
        let transfer = try download.download(remote, to: local.path, mode: 0o600)
        return report.checkSHA256(transfer.sha256, expected: metadata.sha256) ? local : nil
    }

    /// A local store's backup: size and SHA-256 checked while it is copied to `local`.
    static func fetchLocal(_ metadata: BackupMetadata, store: BackupStore, to local: URL, report: inout VerifyReport) throws -> URL? {
        let path = store.path(metadata.file)
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path), let size = attributes[.size] as? UInt64 else {
            report.checks.append(.init(name: "file", ok: false, detail: "\(path) is missing"))
            return nil
        }
        guard report.checkSize(size, of: path, expected: metadata.size) else { return nil }
        try FileManager.default.copyItem(atPath: path, toPath: local.path)
        return report.checkSHA256(try SHA256.hexOfFile(atPath: local.path), expected: metadata.sha256) ? local : nil
    }

    /// Restores `file` (a fetched backup) into the existing empty database `target`.
    static func restoreFile(_ file: URL, metadata: BackupMetadata, into target: PostgresTarget, context: CommandContext) throws {
        if metadata.format == "custom" {
            _ = try PostgresTools.runLocal(
                "pg_restore", ["--exit-on-error", "--no-owner", "--no-privileges", "-d", target.database, file.path], target: target, context: context)
        } else {
            let decompress = metadata.compression == "zstd" ? "zstd -dc" : "gzip -dc"
            _ = try PostgresTools.runLocal(
                "sh", ["-c", "\(decompress) -- \"$1\" | psql -X -q -v ON_ERROR_STOP=1 -d \"$2\"", "tmeops", file.path, target.database],
                target: target, context: context, connectionFlags: false)
        }
    }

    /// The checks of `backup verify`: checksum, table of contents, restore into `<name>_tmeops_verify`, row
    /// counts; the result is recorded in the metadata.
    public static func verify(
        _ id: String, environment: EnvironmentConfig, context: CommandContext, compression: TransferConfig.Compression = .auto
    ) throws -> VerifyReport {
        let name = try databaseName(environment)
        let opened = try openStore(environment, context: context)
        defer { opened.close() }
        let store = opened.store
        var metadata = try store.find(id)
        var report = VerifyReport(id: metadata.id)
        guard let file = try fetch(metadata, store: store, report: &report, compression: compression, context: context) else {
            try record(&metadata, report: report, store: store)
            return report
        }
        defer { try? FileManager.default.removeItem(at: file.deletingLastPathComponent()) }
        if metadata.format == "custom" {
            do {
                let toc = try PostgresTools.runLocal("pg_restore", ["-l", file.path], target: nil, context: context)
                let entries = String(decoding: toc, as: UTF8.self).split(separator: "\n").filter { !$0.hasPrefix(";") && !$0.isEmpty }
                report.checks.append(.init(name: "table of contents", ok: true, detail: "\(entries.count) entries"))
            } catch {
                report.checks.append(.init(name: "table of contents", ok: false, detail: "\(error)"))
                try record(&metadata, report: report, store: store)
                return report
            }
        }
        let database = try Databases.open(environment, context: context)
        defer { database.close() }
        guard metadata.serverMajor <= database.connection.serverVersion / 10000 else {
            throw TMEOpsError(
                "backup \(metadata.id) was taken from PostgreSQL \(metadata.serverMajor); the server of \(environment.name) runs \(database.connection.serverVersion / 10000) and cannot restore it"
            )
        }
        let scratch = "\(name)_tmeops_verify"
        try DatabaseCopy.createEmpty(database, scratch)
        defer { try? DatabaseCopy.drop(database, scratch) }
        do {
            try restoreFile(file, metadata: metadata, into: database.target.with(database: scratch), context: context)
            report.checks.append(.init(name: "restore", ok: true, detail: "restored into \(scratch) with --exit-on-error"))
        } catch {
            report.checks.append(.init(name: "restore", ok: false, detail: "\(error)"))
            try record(&metadata, report: report, store: store)
            return report
        }
        let restored = try database.connect(database: scratch)
        defer { restored.close() }
        let counts = try tableRows(restored)
        let differing = metadata.tableRows.filter { counts[$0.key] != $0.value }.keys.sorted()
        report.checks.append(
            metadata.tableRows.isEmpty
                ? .init(
                    name: "row counts", ok: true,
                    detail: "none recorded (a scheduled backup); \(counts.count) tables, \(counts.values.reduce(0, +)) rows restored")
                : differing.isEmpty
                    ? .init(
                        name: "row counts", ok: true, detail: "\(metadata.tableRows.count) tables, \(metadata.tableRows.values.reduce(0, +)) rows as recorded")
                    : .init(
                        name: "row counts", ok: false,
                        detail: differing.prefix(5).map { "\($0): \(counts[$0].map(String.init) ?? "missing") restored, \(metadata.tableRows[$0]!) recorded" }
                            .joined(
                                separator: "; ")))
        try record(&metadata, report: report, store: store)
        return report
    }

    static func record(_ metadata: inout BackupMetadata, report: VerifyReport, store: BackupStore) throws {
        let failed = report.checks.first { !$0.ok }
        metadata.verified = BackupMetadata.Verification(
            at: BackupMetadata.timeText(Date()), method: "restore", ok: report.ok,
            detail: failed.map { "\($0.name): \($0.detail)" } ?? report.checks.map(\.name).joined(separator: ", "))
        try store.writeMetadata(metadata)
    }

    // MARK: restore

    public struct RestoreOutcome: Codable, Sendable, Equatable {
        public var id: String
        public var database: String
        public var safetyBackup: String?
        public var previousDatabase: String?
    }

    /// Restores backup `id` into `toDatabase` (created; must not exist), or, without it, in place of the
    /// current database: a safety backup first, then a restore into a new database and a swap of names,
    /// so a failed restore leaves the current database as it was.
    public static func restore(
        _ id: String, environment: EnvironmentConfig, context: CommandContext, toDatabase: String?, compression: TransferConfig.Compression = .auto,
        fromDatabase: String? = nil, pinSafetyTo release: String? = nil, log: (String) -> Void
    ) throws -> RestoreOutcome {
        let name = try databaseName(environment)
        let opened = try openStore(environment, context: context)
        defer { opened.close() }
        let store = opened.store
        let metadata = try store.find(id)
        // Another environment's backup (a shared backups folder) is never restored by mistake.
        if !metadata.belongs(toDatabase: name, environment: environment.name), fromDatabase != metadata.database {
            throw TMEOpsError.usage(
                "backup \(metadata.id) is of database \(metadata.database)\(metadata.environment.map { " (environment \($0))" } ?? ""), not \(environment.name)'s \(name); nothing was restored. To restore it into \(environment.name) all the same, pass --from-database \(metadata.database)"
            )
        }
        let database = try Databases.open(environment, context: context)
        defer { database.close() }
        guard metadata.serverMajor <= database.connection.serverVersion / 10000 else {
            throw TMEOpsError(
                "backup \(metadata.id) was taken from PostgreSQL \(metadata.serverMajor); the server of \(environment.name) runs \(database.connection.serverVersion / 10000) and cannot restore it; restore it into a server of version \(metadata.serverMajor) or later"
            )
        }
        var report = VerifyReport(id: metadata.id)
        guard let file = try fetch(metadata, store: store, report: &report, compression: compression, context: context) else {
            throw TMEOpsError(
                "backup \(metadata.id) failed its checks, nothing was restored: \(report.checks.filter { !$0.ok }.map(\.detail).joined(separator: "; "))")
        }
        defer { try? FileManager.default.removeItem(at: file.deletingLastPathComponent()) }
        let admin = try database.connect(database: "postgres")
        defer { admin.close() }
        if let toDatabase {
            if try admin.query("SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1", [toDatabase]).scalar != nil {
                throw TMEOpsError.usage("database \(toDatabase) already exists on \(environment.name); choose another --to-db or drop it first")
            }
            try admin.execute("CREATE DATABASE \(try admin.quoteIdentifier(toDatabase)) TEMPLATE template0")
            do {
                try restoreFile(file, metadata: metadata, into: database.target.with(database: toDatabase), context: context)
            } catch {
                try? DatabaseCopy.drop(database, toDatabase)
                throw error
            }
            return RestoreOutcome(id: metadata.id, database: toDatabase, safetyBackup: nil, previousDatabase: nil)
        }
        log("taking a safety backup of \(name) first")
        let safety = try create(environment, context: context, options: CreateOptions(label: "pre-restore"))
        // Kept as long as that release is (a rollback's): the way back from this restore.
        if let release { try store.pin(safety.id, release: release) }
        let staging = "\(name)_tmeops_restore"
        let previous = "\(name)_tmeops_previous"
        try DatabaseCopy.createEmpty(database, staging)
        do {
            log("restoring \(metadata.id) into \(staging)")
            try restoreFile(file, metadata: metadata, into: database.target.with(database: staging), context: context)
        } catch {
            try? DatabaseCopy.drop(database, staging)
            throw TMEOpsError("restoring \(metadata.id) failed, so \(name) was left as it was: \(error)")
        }
        try DatabaseCopy.swapIn(database, name: name, staging: staging, previous: previous, terminate: true)
        return RestoreOutcome(id: metadata.id, database: name, safetyBackup: safety.id, previousDatabase: previous)
    }

    // MARK: prune

    public struct PruneOutcome: Codable, Sendable, Equatable {
        public struct Item: Codable, Sendable, Equatable {
            public let id: String
            public let keep: Bool
            public let reasons: [String]
        }
        public var items: [Item] = []
        public var removed: [String] = []
    }

    public static func prune(_ environment: EnvironmentConfig, context: CommandContext, dryRun: Bool) throws -> PruneOutcome {
        let config = environment.section(BackupsConfig.self) ?? BackupsConfig()
        let opened = try openStore(environment, context: context)
        defer { opened.close() }
        let store = opened.store
        let (listed, damaged) = try store.list()
        if !damaged.isEmpty { context.logger.warning("unreadable backup metadata, left alone: \(damaged.joined(separator: ", "))") }
        // Only this environment's backups: another environment may share the folder (staging beside production).
        let name = try databaseName(environment)
        let backups = listed.filter { $0.belongs(toDatabase: name, environment: environment.name) }
        let policy = RetentionPolicy(last: config.keepLast, daily: config.keepDaily, weekly: config.keepWeekly, monthly: config.keepMonthly)
        let decisions = policy.decide(backups, pinned: try store.pins(), now: Date())
        var outcome = PruneOutcome(items: decisions.map { .init(id: $0.id, keep: $0.keep, reasons: $0.reasons) })
        for decision in decisions where !decision.keep {
            guard let metadata = backups.first(where: { $0.id == decision.id }) else { continue }
            if !dryRun { try store.remove(metadata) }
            outcome.removed.append(decision.id)
        }
        return outcome
    }
}

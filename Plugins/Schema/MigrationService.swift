import Foundation
import TMEOpsCore
import TMEOpsHosts
import TMEOpsPostgres

/// The library API behind `migrate apply`, `migrate test` and `migrate adopt`, for the deploy to compose.
public enum MigrationService {
    /// Files that still have to run, in version order: pending ones, gaps and failed ones. Edited files and
    /// applied versions without a file are refused: the folder is not what the database went through.
    public static func toApply(files: [MigrationFile], ledger: [MigrationLedger.Entry], environment: String) throws -> [MigrationFile] {
        let status = MigrationStatus(files: files, ledger: ledger)
        let wrong = status.items.filter { $0.state == "changed" || $0.state == "unknown" }
        if !wrong.isEmpty {
            throw SchemaError(
                "migrations on \(environment) do not match the folder: "
                    + wrong.map { "\(String(format: "%03d", $0.version))_\($0.name) \($0.state) (\($0.detail ?? ""))" }.joined(separator: "; ")
                    + "; restore the applied files as they were (git log) before migrating")
        }
        let versions = Set(status.items.filter { ["pending", "gap", "failed"].contains($0.state) }.map(\.version))
        return files.filter { versions.contains($0.version) }
    }

    // MARK: apply

    public struct ApplyOutcome: Codable, Sendable, Equatable {
        /// The schema hash the proofs were checked against; nil when nothing was pending.
        public var schemaHashBefore: String?
        public var applied: [MigrationRunner.Applied] = []
        public var untested: [Int] = []
        /// The backup `migrate apply` took first on a protected environment.
        public var backup: String?
    }

    /// Applies what is pending under the advisory lock, each file only with a proof that matches its
    /// checksum and the database's current schema hash (or, with `untested`, with a warning in the ledger).
    public static func apply(
        _ session: DatabaseSession, files: [MigrationFile], settings: MigrationRunner.Settings, environment: String, untested: Bool,
        log: @escaping (String) -> Void, warn: @escaping (String) -> Void = { _ in }, onApplied: (MigrationRunner.Applied) -> Void = { _ in }
    ) throws -> ApplyOutcome {
        // Nothing pending, nothing to lock: a run that starts meanwhile applies the same files.
        if try toApply(files: files, ledger: try MigrationLedger.entries(session.connection), environment: environment).isEmpty {
            return ApplyOutcome()
        }
        let lock: AdvisoryLock
        do {
            lock = try AdvisoryLock(session.target, key: MigrationRunner.advisoryLockKey, timeout: settings.lockTimeout)
        } catch let error as PostgresError where error.isLockNotAvailable {
            throw SchemaError(
                "another migration run holds the migration lock on \(environment) (\(error.message)); wait for it to finish, or find it in pg_stat_activity (application_name 'tmeops lock')"
            )
        }
        defer { lock.release() }
        let connection = session.connection
        let pending = try toApply(files: files, ledger: try MigrationLedger.entries(connection), environment: environment)
        guard !pending.isEmpty else { return ApplyOutcome() }
        let hash = try SchemaIntrospector.snapshot(connection).schemaHash
        var outcome = ApplyOutcome(schemaHashBefore: hash)
        let proofs = try MigrationLedger.proofs(connection)
        let unproven = pending.filter { file in
            !proofs.contains { $0.version == file.version && $0.checksum == file.checksum && $0.schemaHash == hash && $0.result == "passed" }
        }
        if !unproven.isEmpty && !untested {
            let stale = unproven.filter { file in proofs.contains { $0.version == file.version } }
            throw SchemaError(
                "no passing test proof for \(unproven.map(\.fileName).joined(separator: ", ")) against \(environment)'s current schema (hash \(hash.prefix(12)))"
                    + (stale.isEmpty ? "" : "; the proofs there are for another file content or an older schema")
                    + "; run `tmeops migrate test -e \(environment)` first, or pass --untested to apply anyway (recorded in the ledger)")
        }
        outcome.untested = unproven.map(\.version)
        let runner = MigrationRunner(connection: connection, settings: settings, log: warn)
        for file in pending {
            let note = outcome.untested.contains(file.version) ? "applied untested (--untested)" : "tested against schema \(hash.prefix(12))"
            do {
                let applied = try runner.apply(file, note: note)
                outcome.applied.append(applied)
                onApplied(applied)
            } catch let error as MigrationError {
                let before = outcome.applied.map { String(format: "%03d", $0.version) + "_\($0.name)" }
                let laterOnes = pending.drop { $0.version != file.version }.dropFirst().map(\.fileName)
                throw SchemaError(
                    "\(error)"
                        + (before.isEmpty ? "" : "; applied before it: \(before.joined(separator: ", "))")
                        + (laterOnes.isEmpty ? "" : "; not run: \(laterOnes.joined(separator: ", "))"))
            }
            log("applied \(file.fileName)")
        }
        return outcome
    }

    // MARK: test

    public struct TestOutcome: Codable, Sendable, Equatable {
        public var copy: String
        public var method: String
        public var schemaHash: String
        public var applied: [MigrationRunner.Applied] = []
        /// How the migrated copy differs from the expected schema; nil when none is configured.
        public var expectedDiff: SchemaDiff?
        public var kept: Bool
        public var passed: Bool { expectedDiff?.isEmpty ?? true }
    }

    /// A staging copy made ahead of its test, with what the test needs to know of the source at that
    /// moment (a deploy makes it while the host loads the image).
    public struct PreparedCopy: Sendable {
        public let copy: String
        public let method: String
        /// The source's schema hash when it was copied: what the proofs are recorded against.
        public let schemaHash: String
        public let pending: [MigrationFile]
    }

    /// Copies the database to `copyName` (default `<db>_tmeops_test`). When nobody else uses the source,
    /// `session`'s connection is closed for CREATE DATABASE … TEMPLATE (``DatabaseSession/reopened()``
    /// opens it again).
    public static func prepareCopy(
        _ session: DatabaseSession, environment: EnvironmentConfig, context: CommandContext, files: [MigrationFile], copyName: String?
    ) throws -> PreparedCopy {
        let source = session.target.database
        let pending = try toApply(files: files, ledger: try MigrationLedger.entries(session.connection), environment: environment.name)
        let hash = try SchemaIntrospector.snapshot(session.connection).schemaHash
        let copy = copyName ?? "\(source)_tmeops_test"
        let method = try DatabaseCopy.copy(session, environment: environment, context: context, source: source, copy: copy)
        return PreparedCopy(copy: copy, method: method, schemaHash: hash, pending: pending)
    }

    /// Copies the database to `copyName` (or takes the `prepared` copy), applies what is pending there,
    /// compares the result with `expect`, and records a proof for each file on the real database.
    public static func test(
        _ session: DatabaseSession, environment: EnvironmentConfig, context: CommandContext, files: [MigrationFile], settings: MigrationRunner.Settings,
        expect: SchemaSnapshot?, copyName: String?, keep: Bool, prepared: PreparedCopy? = nil, log: @escaping (String) -> Void,
        warn: @escaping (String) -> Void = { _ in }
    ) throws -> TestOutcome {
        let source = session.target.database
        let prepared = try prepared ?? prepareCopy(session, environment: environment, context: context, files: files, copyName: copyName)
        let (copy, method, hash, pending) = (prepared.copy, prepared.method, prepared.schemaHash, prepared.pending)
        log("copied \(source) to \(copy) (\(method))")
        var outcome = TestOutcome(copy: copy, method: method, schemaHash: hash, kept: keep)
        do {
            let copyConnection = try session.connect(database: copy)
            defer { copyConnection.close() }
            let runner = MigrationRunner(connection: copyConnection, settings: settings, log: warn)
            for file in pending {
                do {
                    outcome.applied.append(try runner.apply(file, note: "migrate test"))
                } catch let error as MigrationError {
                    throw SchemaError("on the staging copy \(copy): \(error)")
                }
                log("applied \(file.fileName) to \(copy)")
            }
            if let expect {
                outcome.expectedDiff = SchemaDiff(from: try SchemaIntrospector.snapshot(copyConnection), to: expect)
            }
        } catch {
            if !keep { try? DatabaseCopy.drop(session, copy) }
            throw error
        }
        let real = try session.reopened()
        let result = outcome.passed ? "passed" : "failed: \(outcome.expectedDiff?.count ?? 0) differences from the expected schema"
        let host = ProcessInfo.processInfo.hostName
        for file in pending {
            try MigrationLedger.recordProof(real, file: file, schemaHash: hash, testedOn: "\(copy) on \(environment.name) (from \(host))", result: result)
        }
        if !keep { try DatabaseCopy.drop(session, copy) }
        return outcome
    }

    // MARK: adopt

    public struct AdoptOutcome: Codable, Sendable, Equatable {
        public var adopted: [Int] = []
        /// Pending versions the database does not reflect, with the first difference found.
        public var notReflected: [String: String] = [:]
    }

    /// For a database changed by hand: replays the applied migrations into a scratch database, then each
    /// pending one, and records as applied (without running it) every pending migration whose changes the
    /// real schema already has.
    public static func adopt(
        _ session: DatabaseSession, environment: String, files: [MigrationFile], settings: MigrationRunner.Settings, dryRun: Bool,
        log: @escaping (String) -> Void, warn: @escaping (String) -> Void = { _ in }
    ) throws -> AdoptOutcome {
        let source = session.target.database
        let ledger = try MigrationLedger.entries(session.connection)
        let pending = try toApply(files: files, ledger: ledger, environment: environment)
        var outcome = AdoptOutcome()
        guard !pending.isEmpty else { return outcome }
        let real = try SchemaIntrospector.snapshot(session.connection)
        let scratch = "\(source)_tmeops_adopt"
        try DatabaseCopy.createEmpty(session, scratch)
        defer { try? DatabaseCopy.drop(session, scratch) }
        let scratchConnection = try session.connect(database: scratch)
        defer { scratchConnection.close() }
        let runner = MigrationRunner(connection: scratchConnection, settings: settings)
        let applied = Set(ledger.filter(\.success).map(\.version))
        for file in files where applied.contains(file.version) {
            do { try runner.apply(file) } catch let error as MigrationError { throw SchemaError("replaying applied migrations into \(scratch): \(error)") }
        }
        for file in pending {
            let before = try SchemaIntrospector.snapshot(scratchConnection)
            do { try runner.apply(file) } catch let error as MigrationError {
                throw SchemaError("replaying \(file.fileName) into \(scratch): \(error)")
            }
            let after = try SchemaIntrospector.snapshot(scratchConnection)
            let touched = Set(SchemaDiff(from: before, to: after).keyedChanges.map(\.key))
            let missing = SchemaDiff(from: real, to: after).keyedChanges.filter { touched.contains($0.key) }
            if touched.isEmpty || !missing.isEmpty {
                outcome.notReflected[file.label] = missing.first.map { "\($0.key): \($0.change)" } ?? "it changes no schema object"
                log("\(file.fileName): not reflected in \(source)")
            } else {
                outcome.adopted.append(file.version)
                log("\(file.fileName): reflected in \(source)\(dryRun ? "; would record it as applied" : "; recorded as applied")")
            }
        }
        if !dryRun {
            for file in pending where outcome.adopted.contains(file.version) {
                try MigrationLedger.ensure(session.connection)
                try MigrationLedger.record(
                    session.connection, file: file, milliseconds: 0, success: true, note: "adopted: already reflected in the schema, not run")
            }
        }
        return outcome
    }
}

extension SchemaDiff {
    /// Every change with a key that names its object across diffs: `table|object|name`.
    var keyedChanges: [(key: String, change: Change)] {
        tables.flatMap { table in table.changes.map { ("\(table.table)|\($0.object)|\($0.name)", $0) } } + other.map { ("|\($0.object)|\($0.name)", $0) }
    }
}

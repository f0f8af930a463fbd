import Foundation
import TMEOpsPostgres

/// A migration that failed, with the file, line and SQLSTATE at fault and what state it left.
public struct MigrationError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let line: Int
    public let sqlState: String?
    public let message: String
    public let detail: String?
    public let hint: String?
    /// What the database is left with: "rolled back", or for a no-transaction file which statements ran.
    public let outcome: String

    public var description: String {
        var text = "\(file):\(line): \(message)"
        if let sqlState { text += " (SQLSTATE \(sqlState))" }
        if let detail { text += "; \(detail)" }
        if let hint { text += "; hint: \(hint)" }
        return text + "; \(outcome)"
    }
}

/// Applies migration files to one connection: each in its own transaction (the ledger row in the same
/// transaction) unless the file says `-- tmeops:no-transaction`; statement by statement so that an error
/// names its line; `lock_timeout` per statement with whole-migration retries when a lock is not available.
public struct MigrationRunner {
    public struct Settings: Sendable {
        public var lockTimeout: TimeInterval
        public var lockRetries: Int
        public var statementTimeout: TimeInterval?
        public var retryDelay: TimeInterval
        /// The search_path migrations run with (tmeops's own connections have an empty one).
        public var searchPath: String

        public init(
            lockTimeout: TimeInterval = 5, lockRetries: Int = 3, statementTimeout: TimeInterval? = nil, retryDelay: TimeInterval = 1,
            searchPath: String = "\"$user\", public"
        ) {
            self.searchPath = searchPath
            self.lockTimeout = lockTimeout
            self.lockRetries = lockRetries
            self.statementTimeout = statementTimeout
            self.retryDelay = retryDelay
        }

        public init(_ config: MigrationsConfig) {
            self.init(
                lockTimeout: config.lockTimeout.seconds, lockRetries: config.lockRetries, statementTimeout: config.statementTimeout?.seconds,
                searchPath: config.searchPath)
        }
    }

    public struct Applied: Codable, Sendable, Equatable {
        public let version: Int
        public let name: String
        public let milliseconds: Int
        public let attempts: Int
        public let transactional: Bool
    }

    /// The key of the session advisory lock `migrate apply` holds: "tmeops" in ASCII.
    public static let advisoryLockKey: Int64 = 0x746D_656F_7073

    public let connection: PostgresConnection
    public let settings: Settings
    public var log: (String) -> Void = { _ in }

    public init(connection: PostgresConnection, settings: Settings, log: @escaping (String) -> Void = { _ in }) {
        self.connection = connection
        self.settings = settings
        self.log = log
    }

    /// Applies `file` and records it in the ledger with `note`.
    @discardableResult
    public func apply(_ file: MigrationFile, note: String? = nil) throws -> Applied {
        let text = try file.text()
        let script = SQLScript(text)
        try MigrationLedger.ensure(connection)
        let started = Date()
        if MigrationFile.isNoTransaction(text) {
            try runOutsideTransaction(file, script)
            let milliseconds = Int(Date().timeIntervalSince(started) * 1000)
            try MigrationLedger.record(connection, file: file, milliseconds: milliseconds, success: true, note: note)
            return Applied(version: file.version, name: file.name, milliseconds: milliseconds, attempts: 1, transactional: false)
        }
        let statements = try Self.transactionBody(script, file: file)
        var attempt = 0
        while true {
            attempt += 1
            do {
                try runInTransaction(file, statements, started: started, note: note)
                return Applied(
                    version: file.version, name: file.name, milliseconds: Int(Date().timeIntervalSince(started) * 1000), attempts: attempt, transactional: true)
            } catch let error as MigrationError where error.sqlState == "55P03" && attempt <= settings.lockRetries {
                log("\(file.fileName): \(error.message); retrying in \(settings.retryDelay) s (attempt \(attempt + 1) of \(settings.lockRetries + 1))")
                Thread.sleep(forTimeInterval: settings.retryDelay)
            }
        }
    }

    /// The file's statements without its own BEGIN/COMMIT: the migration's transaction is tmeops's, so that
    /// the ledger row commits with it. A ROLLBACK or SAVEPOINT juggling inside is refused.
    static func transactionBody(_ script: SQLScript, file: MigrationFile) throws -> [SQLScript.Statement] {
        var body: [SQLScript.Statement] = []
        for statement in script.statements {
            let words = SQLScript.stripComments(statement.text).lowercased().split(whereSeparator: { $0.isWhitespace })
            let first = words.first.map(String.init) ?? ""
            if first == "rollback" || first == "abort" {
                throw SchemaError(
                    "\(file.fileName):\(statement.line): a migration that runs in a transaction cannot ROLLBACK; remove it, or mark the file \(MigrationFile.noTransactionMarker)"
                )
            }
            let control = (["begin", "commit", "end"].contains(first) && words.count <= 2) || (first == "start" && words.dropFirst().first == "transaction")
            if !control { body.append(statement) }
        }
        return body
    }

    private func runInTransaction(_ file: MigrationFile, _ statements: [SQLScript.Statement], started: Date, note: String?) throws {
        do {
            try connection.execute("BEGIN")
            try connection.query("SELECT pg_catalog.set_config('lock_timeout', $1, true)", ["\(Int(settings.lockTimeout * 1000))ms"])
            try connection.query("SELECT pg_catalog.set_config('search_path', $1, true)", [settings.searchPath])
            if let timeout = settings.statementTimeout {
                try connection.query("SELECT pg_catalog.set_config('statement_timeout', $1, true)", ["\(Int(timeout * 1000))ms"])
            }
        } catch let error as PostgresError {
            throw failure(file, line: 1, error, outcome: "nothing was applied")
        }
        for statement in statements {
            do {
                try connection.execute(statement.text)
            } catch let error as PostgresError {
                _ = try? connection.execute("ROLLBACK")
                throw failure(file, statement: statement, error, outcome: "its transaction was rolled back; nothing of \(file.fileName) is applied")
            }
        }
        do {
            try MigrationLedger.record(connection, file: file, milliseconds: Int(Date().timeIntervalSince(started) * 1000), success: true, note: note)
            try connection.execute("COMMIT")
        } catch let error as PostgresError {
            _ = try? connection.execute("ROLLBACK")
            throw failure(file, line: 1, error, outcome: "its transaction was rolled back; nothing of \(file.fileName) is applied")
        }
    }

    private func runOutsideTransaction(_ file: MigrationFile, _ script: SQLScript) throws {
        try connection.query("SELECT pg_catalog.set_config('search_path', $1, false)", [settings.searchPath])
        defer { _ = try? connection.query("SELECT pg_catalog.set_config('search_path', '', false)") }
        try connection.withTimeouts(statement: settings.statementTimeout, lock: settings.lockTimeout) {
            for (index, statement) in script.statements.enumerated() {
                do {
                    try connection.execute(statement.text)
                } catch let error as PostgresError {
                    _ = try? connection.execute("ROLLBACK")
                    let outcome =
                        index == 0
                        ? "nothing of \(file.fileName) ran"
                        : "\(file.fileName) has no transaction: its first \(index) statement\(index == 1 ? "" : "s") (to line \(script.statements[index - 1].line)) stay applied, and any BEGIN … COMMIT group open at the error was rolled back; it is recorded as failed"
                    _ = try? MigrationLedger.record(connection, file: file, milliseconds: 0, success: false, note: "failed at line \(statement.line)")
                    throw failure(file, statement: statement, error, outcome: outcome)
                }
            }
        }
    }

    private func failure(_ file: MigrationFile, statement: SQLScript.Statement, _ error: PostgresError, outcome: String) -> MigrationError {
        var line = statement.line
        if let position = error.position {
            // The server's position is a 1-based character offset into the statement as sent.
            let prefix = statement.text.prefix(max(0, position - 1))
            // `line` is the statement's first token, after any comment lines the text starts with.
            line = statement.line + prefix.filter { $0 == "\n" }.count - Self.leadingCommentLines(statement.text)
        }
        return failure(file, line: line, error, outcome: outcome)
    }

    /// Lines of comments before a statement's first token (its `line` already points past them).
    static func leadingCommentLines(_ text: String) -> Int {
        var count = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("--") || trimmed.isEmpty { count += 1 } else { break }
        }
        return count
    }

    private func failure(_ file: MigrationFile, line: Int, _ error: PostgresError, outcome: String) -> MigrationError {
        let lost = error.sqlState == nil || connection.isBroken
        return MigrationError(
            file: file.fileName, line: line, sqlState: error.sqlState, message: error.message, detail: error.detail, hint: error.hint,
            outcome: lost ? "the connection was lost; the server rolls back an unfinished transaction, so check `tmeops migrate status`" : outcome)
    }
}

import CLibPQ
import Foundation

/// The rows a query returned, as text (libpq's text format), with column names.
public struct QueryResult: Sendable, Equatable {
    public let columns: [String]
    public let rows: [[String?]]
    /// Rows a command touched (`UPDATE 3` → 3).
    public let affected: Int

    public init(columns: [String], rows: [[String?]], affected: Int) {
        self.columns = columns
        self.rows = rows
        self.affected = affected
    }

    /// The first column of the first row.
    public var scalar: String? { rows.first?.first ?? nil }
}

/// Where and as whom to connect. The password travels to libpq as a connection parameter, never in
/// a connection string that could be logged or in any process's argv.
public struct PostgresTarget: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var connectTimeout: Int
    /// Further libpq connection parameters from the URL's query (`sslmode`, `sslrootcert`, ...).
    public var parameters: [String: String]

    /// Query parameters of a URL that libpq takes as connection parameters.
    public static let urlParameters: Set<String> = [
        "sslmode", "sslrootcert", "sslcert", "sslkey", "sslcrl", "sslcompression", "sslsni", "requiressl", "gssencmode", "krbsrvname",
        "target_session_attrs", "application_name", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout",
        "channel_binding", "require_auth", "options", "service", "hostaddr",
    ]

    public init(host: String, port: Int, user: String, password: String?, database: String, connectTimeout: Int = 10, parameters: [String: String] = [:]) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.connectTimeout = connectTimeout
        self.parameters = parameters
    }

    /// Whether the server is on this machine: a Unix socket folder, `localhost`, or a loopback address.
    /// A database reached any other way is someone's real server until the config says otherwise.
    public var isLocal: Bool {
        let host = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        return host.isEmpty || host.hasPrefix("/") || host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// Parses `postgresql://user:password@host:port/database?sslmode=require&...`: percent-encoding is
    /// decoded once (a password may hold `%`), and the query's libpq parameters are kept; an unknown
    /// one is an error naming it.
    public init(url: String) throws {
        guard let components = URLComponents(string: url), ["postgresql", "postgres"].contains(components.scheme ?? ""), let host = components.host else {
            throw PostgresError(sqlState: nil, message: "not a postgresql://user:password@host:port/database URL", context: "database.url")
        }
        self.host = host
        port = components.port ?? 5432
        // URLComponents decodes user, password and path itself.
        user = components.user ?? "postgres"
        password = components.password
        database = String(components.path.dropFirst()).isEmpty ? user : String(components.path.dropFirst())
        connectTimeout = 10
        parameters = [:]
        for item in components.queryItems ?? [] {
            if item.name == "connect_timeout" {
                guard let seconds = item.value.flatMap(Int.init), seconds >= 0 else {
                    throw PostgresError(sqlState: nil, message: "connect_timeout=\(item.value ?? "") is not a number of seconds", context: "database.url")
                }
                connectTimeout = seconds
            } else if Self.urlParameters.contains(item.name) {
                parameters[item.name] = item.value ?? ""
            } else {
                throw PostgresError(
                    sqlState: nil,
                    message: "the URL's parameter \(item.name) is not a libpq connection parameter (such as sslmode, sslrootcert, application_name)",
                    context: "database.url")
            }
        }
    }

    /// `user@host:port/database`, for messages (no password).
    public var description: String { "\(user)@\(host):\(port)/\(database)" }

    /// The same server, another database.
    public func with(database: String) -> PostgresTarget {
        var copy = self
        copy.database = database
        return copy
    }
}

/// One connection to PostgreSQL, owning its `PGconn`.
///
/// Calls block; commands run them off Swift's cooperative pool. ``cancel()`` may be called from another
/// thread to stop a running statement.
public final class PostgresConnection: @unchecked Sendable {
    public let target: PostgresTarget
    private let connection: OpaquePointer
    private var closed = false
    private let cancelLock = NSLock()
    private var cancelHandle: OpaquePointer?

    public init(_ target: PostgresTarget, applicationName: String = "tmeops") throws {
        self.target = target
        var pairs: [(String, String)] = [
            ("host", target.host), ("port", String(target.port)), ("user", target.user), ("dbname", target.database),
            ("connect_timeout", String(target.connectTimeout)), ("application_name", applicationName),
            ("client_encoding", "UTF8"),
            // An empty search_path, so every name tmeops uses is schema-qualified and nothing resolves by accident.
            ("options", "-c search_path="),
            // No GSS encryption unless the URL asks for it (`?gssencmode=prefer`): libpq's default looks for
            // a Kerberos credential cache on every connect, through an SSH forward where it cannot apply,
            // and runs Kerberos's library on the connecting thread, which was seen to abort the process
            // (an assertion on a destroyed mutex) when it exited while a connection was being opened.
            ("gssencmode", "disable"),
        ]
        if let password = target.password { pairs.append(("password", password)) }
        for (key, value) in target.parameters.sorted(by: { $0.key < $1.key }) {
            pairs.removeAll { $0.0 == key }
            pairs.append((key, value))
        }
        let keywords = pairs.map { strdup($0.0) } + [nil]
        let values = pairs.map { strdup($0.1) } + [nil]
        defer {
            for pointer in keywords + values { free(pointer) }
        }
        let raw = keywords.withUnsafeBufferPointer { keywordPointer in
            values.withUnsafeBufferPointer { valuePointer in
                PQconnectdbParams(
                    UnsafeRawPointer(keywordPointer.baseAddress!).assumingMemoryBound(to: UnsafePointer<CChar>?.self),
                    UnsafeRawPointer(valuePointer.baseAddress!).assumingMemoryBound(to: UnsafePointer<CChar>?.self), 0)
            }
        }
        guard let raw else { throw PostgresError(sqlState: nil, message: "libpq could not allocate a connection", context: target.description) }
        connection = raw
        guard PQstatus(raw) == CONNECTION_OK else {
            let message = Self.message(raw)
            PQfinish(raw)
            closed = true
            throw PostgresError(sqlState: nil, message: message, context: "cannot connect to \(target.description)")
        }
        cancelHandle = PQgetCancel(raw)
        // libpq prints NOTICEs ("… does not exist, skipping") to stderr by default; tmeops's output is its own.
        PQsetNoticeProcessor(raw, { _, _ in }, nil)
    }

    deinit { close() }

    public func close() {
        cancelLock.withLock {
            if let cancelHandle { PQfreeCancel(cancelHandle) }
            cancelHandle = nil
        }
        guard !closed else { return }
        closed = true
        PQfinish(connection)
    }

    static func message(_ connection: OpaquePointer) -> String {
        PQerrorMessage(connection).map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "unknown libpq error"
    }

    /// The server's version number, e.g. 150020.
    public var serverVersion: Int { Int(PQserverVersion(connection)) }

    /// The connection to the server is gone (closed by us, or lost).
    public var isBroken: Bool { closed || PQstatus(connection) == CONNECTION_BAD }

    /// Open, and not inside a transaction block (where CREATE and DROP DATABASE are refused).
    public var isIdle: Bool { !isBroken && PQtransactionStatus(connection) == PQTRANS_IDLE }

    // MARK: - Queries

    /// Runs one statement with `$1`-style parameters sent separately (never spliced into the SQL).
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws -> QueryResult {
        try ensureOpen(sql)
        let values = parameters.map { $0.map { strdup($0) } ?? nil }
        defer { for value in values { free(value) } }
        let result = values.withUnsafeBufferPointer { pointer in
            PQexecParams(
                connection, sql, Int32(parameters.count), nil,
                UnsafeRawPointer(pointer.baseAddress).map { $0.assumingMemoryBound(to: UnsafePointer<CChar>?.self) }, nil, nil, 0)
        }
        return try consume(result, statement: sql)
    }

    /// Runs SQL that may hold several statements (a migration file), without parameters.
    @discardableResult
    public func execute(_ sql: String) throws -> QueryResult {
        try ensureOpen(sql)
        return try consume(PQexec(connection, sql), statement: sql)
    }

    /// libpq must never see a finished connection: that is a use-after-free, not an error.
    private func ensureOpen(_ statement: String) throws {
        if closed { throw PostgresError(sqlState: nil, message: "the connection to \(target.description) is closed", context: Self.excerpt(statement)) }
    }

    /// Runs `body` with `statement_timeout` and `lock_timeout` set for its statements, then restores them.
    public func withTimeouts<T>(statement: TimeInterval?, lock: TimeInterval?, _ body: () throws -> T) throws -> T {
        let previous = try query("SELECT current_setting('statement_timeout'), current_setting('lock_timeout')")
        func set(_ name: String, _ value: String) throws { try query("SELECT pg_catalog.set_config($1, $2, false)", [name, value]) }
        if let statement { try set("statement_timeout", "\(Int(statement * 1000))ms") }
        if let lock { try set("lock_timeout", "\(Int(lock * 1000))ms") }
        defer {
            try? set("statement_timeout", previous.rows[0][0] ?? "0")
            try? set("lock_timeout", previous.rows[0][1] ?? "0")
        }
        return try body()
    }

    /// Asks the server to cancel the statement running on this connection; safe from any thread.
    public func cancel() {
        cancelLock.withLock {
            guard let cancelHandle else { return }
            var buffer = [CChar](repeating: 0, count: 256)
            _ = PQcancel(cancelHandle, &buffer, Int32(buffer.count))
        }
    }

    /// `name` quoted as an identifier by libpq itself (`"user"`, `"odd""name"`).
    public func quoteIdentifier(_ name: String) throws -> String {
        try ensureOpen("quoting an identifier")
        guard let quoted = PQescapeIdentifier(connection, name, name.utf8.count) else {
            throw PostgresError(sqlState: nil, message: Self.message(connection), context: "quoting the identifier \(name)")
        }
        defer { PQfreemem(quoted) }
        return String(cString: quoted)
    }

    /// `text` quoted as a string literal by libpq (for statements that cannot take parameters).
    public func quoteLiteral(_ text: String) throws -> String {
        try ensureOpen("quoting a literal")
        guard let quoted = PQescapeLiteral(connection, text, text.utf8.count) else {
            throw PostgresError(sqlState: nil, message: Self.message(connection), context: "quoting a literal")
        }
        defer { PQfreemem(quoted) }
        return String(cString: quoted)
    }

    // MARK: - COPY

    /// Runs `COPY … TO STDOUT` and streams its rows to `onData`.
    public func copyOut(_ sql: String, onData: (Data) throws -> Void) throws {
        try ensureOpen(sql)
        let start = PQexec(connection, sql)
        guard PQresultStatus(start) == PGRES_COPY_OUT else {
            _ = try consume(start, statement: sql)
            return
        }
        PQclear(start)
        while true {
            var buffer: UnsafeMutablePointer<CChar>?
            let count = PQgetCopyData(connection, &buffer, 0)
            if count > 0, let buffer {
                defer { PQfreemem(buffer) }
                try onData(Data(bytes: buffer, count: Int(count)))
                continue
            }
            if count == -1 { break }
            throw PostgresError(sqlState: nil, message: Self.message(connection), context: sql)
        }
        _ = try consume(PQgetResult(connection), statement: sql)
        while let extra = PQgetResult(connection) { PQclear(extra) }
    }

    /// Runs `COPY … FROM STDIN`, feeding it what `next` returns until nil.
    public func copyIn(_ sql: String, next: () throws -> Data?) throws {
        try ensureOpen(sql)
        let start = PQexec(connection, sql)
        guard PQresultStatus(start) == PGRES_COPY_IN else {
            _ = try consume(start, statement: sql)
            return
        }
        PQclear(start)
        var failure: Error?
        do {
            while let chunk = try next() {
                let sent = chunk.withUnsafeBytes { raw in PQputCopyData(connection, raw.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(raw.count)) }
                guard sent == 1 else { throw PostgresError(sqlState: nil, message: Self.message(connection), context: sql) }
            }
        } catch {
            failure = error
        }
        if let failure {
            PQputCopyEnd(connection, "tmeops: \(failure)")
        } else {
            PQputCopyEnd(connection, nil)
        }
        let result = PQgetResult(connection)
        while let extra = PQgetResult(connection) { PQclear(extra) }
        if let failure {
            PQclear(result)
            throw failure
        }
        _ = try consume(result, statement: sql)
    }

    // MARK: - Results

    private func consume(_ result: OpaquePointer?, statement: String) throws -> QueryResult {
        guard let result else { throw PostgresError(sqlState: nil, message: Self.message(connection), context: Self.excerpt(statement)) }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY else {
            func field(_ code: Int32) -> String? { PQresultErrorField(result, code).map { String(cString: $0) } }
            return try {
                throw PostgresError(
                    sqlState: field(Int32(UInt8(ascii: "C"))), message: field(Int32(UInt8(ascii: "M"))) ?? Self.message(connection),
                    detail: field(Int32(UInt8(ascii: "D"))), hint: field(Int32(UInt8(ascii: "H"))),
                    position: field(Int32(UInt8(ascii: "P"))).flatMap(Int.init), context: Self.excerpt(statement))
            }()
        }
        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        var rows: [[String?]] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            rows.append(
                (0..<columnCount).map { column in
                    PQgetisnull(result, Int32(row), Int32(column)) == 1 ? nil : String(cString: PQgetvalue(result, Int32(row), Int32(column)))
                })
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return QueryResult(columns: columns, rows: rows, affected: affected)
    }

    /// The first line of a statement, for messages.
    static func excerpt(_ statement: String) -> String {
        let line = statement.split(separator: "\n").first.map(String.init) ?? statement
        return line.count > 80 ? String(line.prefix(77)) + "..." : line
    }
}

/// A session-level advisory lock held on a connection of its own, so that the work it guards may use
/// other connections, open and close transactions, or fail without releasing it by accident.
public final class AdvisoryLock {
    public let key: Int64
    private let connection: PostgresConnection
    private var released = false

    /// Takes the lock, waiting at most `timeout` (nil: do not wait); throws when another session holds it.
    public init(_ target: PostgresTarget, key: Int64, timeout: TimeInterval? = nil) throws {
        self.key = key
        connection = try PostgresConnection(target, applicationName: "tmeops lock")
        let deadline = Date().addingTimeInterval(timeout ?? 0)
        while true {
            if try connection.query("SELECT pg_catalog.pg_try_advisory_lock($1)", [String(key)]).scalar == "t" { return }
            guard Date() < deadline else {
                let holder = try? connection.query(
                    "SELECT a.application_name, a.client_addr::text, a.backend_start::text FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a USING (pid) "
                        + "WHERE l.locktype = 'advisory' AND l.granted AND (l.classid::bigint << 32 | l.objid::bigint) = $1", [String(key)]
                ).rows.first
                let who = holder.map { " by \($0[0] ?? "a session") since \($0[2] ?? "unknown")" } ?? ""
                released = true  // never held: deinit has nothing to release
                connection.close()
                throw PostgresError(sqlState: "55P03", message: "advisory lock \(key) is held\(who)", context: target.description)
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
    }

    /// Releases the lock (closing its connection also would); later calls do nothing.
    public func release() {
        guard !released else { return }
        released = true
        _ = try? connection.query("SELECT pg_catalog.pg_advisory_unlock($1)", [String(key)])
        connection.close()
    }

    deinit { release() }
}

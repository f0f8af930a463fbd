/// A PostgreSQL failure with the server's own fields: SQLSTATE, message, detail, hint, and the position
/// in the statement.
public struct PostgresError: Error, CustomStringConvertible, Equatable {
    public let sqlState: String?
    public let message: String
    public let detail: String?
    public let hint: String?
    /// 1-based character position in the statement, when the server reported one.
    public let position: Int?
    /// The statement (or the connection target) it concerns.
    public let context: String

    public init(sqlState: String?, message: String, detail: String? = nil, hint: String? = nil, position: Int? = nil, context: String) {
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.hint = hint
        self.position = position
        self.context = context
    }

    public var description: String {
        var text = "\(context): \(message)"
        if let sqlState { text += " (SQLSTATE \(sqlState))" }
        if let detail { text += "; \(detail)" }
        if let hint { text += "; hint: \(hint)" }
        return text
    }

    /// The statement was cancelled or hit statement_timeout.
    public var isCancelled: Bool { sqlState == "57014" }
    /// lock_timeout expired (or NOWAIT found the lock taken).
    public var isLockNotAvailable: Bool { sqlState == "55P03" }
}

import TMEOpsCore

/// `environments.<name>.health`: how the app's health endpoint is probed.
public struct HealthConfig: ConfigSection, Equatable {
    public static let key = "health"
    public static let scope = ConfigScope.environment
    public static let summary = "Health endpoint path and port, attempts, interval and expected status."

    public var path: String
    public var port: Int
    public var attempts: Int
    public var interval: ConfigDuration
    public var expectStatus: Int

    enum CodingKeys: String, CodingKey, CaseIterable {
        case path, port, attempts, interval
        case expectStatus = "expect_status"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        path = try c.decode(.path, default: "/api/health")
        guard path.hasPrefix("/") else { throw c.invalid(.path, "'\(path)' must start with /") }
        port = try c.decode(.port, default: 3000)
        guard (1...65535).contains(port) else { throw c.invalid(.port, "\(port) is not a TCP port (1-65535)") }
        attempts = try c.decode(.attempts, default: 30)
        guard attempts >= 1 else { throw c.invalid(.attempts, "needs at least 1 attempt") }
        interval = try c.decode(.interval, default: ConfigDuration(seconds: 2))
        expectStatus = try c.decode(.expectStatus, default: 200)
        guard (100...599).contains(expectStatus) else { throw c.invalid(.expectStatus, "\(expectStatus) is not an HTTP status") }
    }
}

/// `environments.<name>.validate`: log patterns and smoke checks.
public struct ValidateConfig: ConfigSection, Equatable {
    public static let key = "validate"
    public static let scope = ConfigScope.environment
    public static let summary = "Error patterns to scan logs for, and smoke checks (name, path, status)."

    /// One HTTP check against the app.
    public struct SmokeCheck: Codable, Sendable, Equatable {
        public var name: String
        public var path: String
        public var method: String
        public var status: Int
        public var contains: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, path, method, status, contains
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            path = try c.decode(String.self, forKey: .path)
            guard path.hasPrefix("/") else { throw c.invalid(.path, "'\(path)' must start with /") }
            method = try c.decode(.method, default: "GET")
            status = try c.decode(.status, default: 200)
            contains = try c.decodeIfPresent(String.self, forKey: .contains)
        }
    }

    public var logErrors: [String]
    public var smoke: [SmokeCheck]

    enum CodingKeys: String, CodingKey, CaseIterable {
        case logErrors = "log_errors"
        case smoke
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        logErrors = try c.decode(.logErrors, default: [])
        smoke = try c.decode(.smoke, default: [])
    }
}

import Foundation
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts

/// A log pattern: a case-insensitive substring, or a regular expression written `/…/`.
public struct LogPattern: Codable, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    private let regex: String?

    public init(_ text: String) throws {
        description = text
        if text.count >= 2, text.hasPrefix("/"), text.hasSuffix("/") {
            let body = String(text.dropFirst().dropLast())
            do {
                _ = try NSRegularExpression(pattern: body, options: [.caseInsensitive])
            } catch {
                throw ConfigValueError("'\(text)' is not a valid regular expression")
            }
            regex = body
        } else {
            regex = nil
        }
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(text) } catch let error as ConfigValueError {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    public func matches(_ line: String) -> Bool {
        if let regex { return line.range(of: regex, options: [.regularExpression, .caseInsensitive]) != nil }
        return line.range(of: description, options: .caseInsensitive) != nil
    }

    public static func == (a: LogPattern, b: LogPattern) -> Bool { a.description == b.description }
}

struct ConfigValueError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `environments.<name>.validate`: log patterns, smoke checks, database checks.
public struct ValidateConfig: ConfigSection, Equatable {
    public static let key = "validate"
    public static let scope = ConfigScope.environment
    public static let summary = "Log error patterns, smoke checks, connection limit, SQL checks and the expected schema."

    /// One HTTP check against the app.
    public struct SmokeCheck: Codable, Sendable, Equatable {
        public var name: String
        public var path: String
        public var method: String
        public var status: Int
        public var contains: String?
        public var headers: [String: String]
        /// JSON path -> expected value.
        public var json: [String: String]

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, path, method, status, contains, headers, json
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            path = try c.decode(String.self, forKey: .path)
            guard path.hasPrefix("/") else { throw c.invalid(.path, "'\(path)' must start with /") }
            method = try c.decode(.method, default: "GET")
            guard ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"].contains(method) else {
                throw c.invalid(.method, "'\(method)' is not an HTTP method")
            }
            status = try c.decode(.status, default: 200)
            contains = try c.decodeIfPresent(String.self, forKey: .contains)
            headers = try c.decode(.headers, default: [:])
            json = try c.decode(.json, default: [:])
            for path in json.keys where JSONPath(path) == nil { throw c.invalid(.json, "'\(path)' is not a JSON path (like status or data.items[0].id)") }
        }
    }

    /// A query that must return rows (`rows`), none (`none`), or one `value`.
    public struct SQLCheck: Codable, Sendable, Equatable {
        public var name: String
        public var query: String
        public var expect: String
        public var value: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, query, expect, value
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            query = try c.decode(String.self, forKey: .query)
            expect = try c.decode(.expect, default: "rows")
            guard ["rows", "none", "value"].contains(expect) else { throw c.invalid(.expect, "'\(expect)' must be rows, none or value") }
            value = try c.decodeIfPresent(String.self, forKey: .value)
            if expect == "value" && value == nil { throw c.invalid(.value, "expect: value needs the value to compare with") }
        }
    }

    public var logErrors: [LogPattern]
    public var smoke: [SmokeCheck]
    public var maxConnections: Int?
    public var sql: [SQLCheck]
    /// The schema production must equal: an environment, URL or snapshot file.
    public var expectSchema: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case logErrors = "log_errors"
        case smoke, sql
        case maxConnections = "max_connections"
        case expectSchema = "expect_schema"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let patterns: [String] = try c.decode(.logErrors, default: [])
        logErrors = try patterns.map { text in
            do { return try LogPattern(text) } catch let error as ConfigValueError { throw c.invalid(.logErrors, error.description) }
        }
        smoke = try c.decode(.smoke, default: [])
        maxConnections = try c.decodeIfPresent(Int.self, forKey: .maxConnections)
        sql = try c.decode(.sql, default: [])
        expectSchema = try c.decodeIfPresent(String.self, forKey: .expectSchema)
    }

    public init() {
        logErrors = []
        smoke = []
        sql = []
    }
}

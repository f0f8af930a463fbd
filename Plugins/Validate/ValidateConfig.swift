import Foundation
import TMEOpsCore
import TMEOpsDocker

/// `environments.<name>.health`: how the app's health endpoint is probed.
public struct HealthConfig: ConfigSection, Equatable {
    public static let key = "health"
    public static let scope = ConfigScope.environment
    public static let summary = "Health endpoint path and port, attempts, interval, expected status and JSON body."

    public var path: String
    public var port: Int
    public var attempts: Int
    public var interval: ConfigDuration
    public var expectStatus: Int
    /// Body condition: each JSON path must hold this value (`{status: ok}`).
    public var json: [String: String]

    enum CodingKeys: String, CodingKey, CaseIterable {
        case path, port, attempts, interval, json
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
        json = try c.decode(.json, default: [:])
        for path in json.keys where JSONPath(path) == nil { throw c.invalid(.json, "'\(path)' is not a JSON path (like status or data.items[0].id)") }
    }

    public init(path: String = "/api/health", port: Int = 3000, attempts: Int = 30, interval: Double = 2, expectStatus: Int = 200, json: [String: String] = [:])
    {
        self.path = path
        self.port = port
        self.attempts = attempts
        self.interval = ConfigDuration(seconds: interval)
        self.expectStatus = expectStatus
        self.json = json
    }
}

/// A dotted path into a JSON document: `status`, `$.data.items[0].id`. Checked when the config loads.
public struct JSONPath: Sendable, Equatable, CustomStringConvertible {
    public enum Step: Sendable, Equatable {
        case key(String)
        case index(Int)
    }

    public let steps: [Step]
    public let description: String

    public init?(_ text: String) {
        var body = Substring(text)
        if body.hasPrefix("$.") { body = body.dropFirst(2) } else if body == "$" { return nil }
        guard !body.isEmpty else { return nil }
        var steps: [Step] = []
        for part in body.split(separator: ".", omittingEmptySubsequences: false) {
            var rest = part
            let name = rest.prefix { $0 != "[" }
            rest = rest.dropFirst(name.count)
            if !name.isEmpty {
                guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else { return nil }
                steps.append(.key(String(name)))
            } else if rest.isEmpty {
                return nil
            }
            while !rest.isEmpty {
                guard rest.first == "[", let close = rest.firstIndex(of: "]"), let index = Int(rest[rest.index(after: rest.startIndex)..<close]), index >= 0
                else {
                    return nil
                }
                steps.append(.index(index))
                rest = rest[rest.index(after: close)...]
            }
        }
        self.steps = steps
        description = text
    }

    /// The value at the path rendered as text (strings bare, numbers and booleans as JSON writes them);
    /// nil when the body is not JSON or has nothing there.
    public func value(in data: Data) -> String? {
        guard var node = try? JSONDecoder().decode(JSONValue.self, from: data) else { return nil }
        for step in steps {
            switch (step, node) {
            case (.key(let key), .object(let object)):
                guard let next = object[key] else { return nil }
                node = next
            case (.index(let index), .array(let array)):
                guard index < array.count else { return nil }
                node = array[index]
            default: return nil
            }
        }
        return node.text
    }
}

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

/// `environments.<name>.app` (registered by the swap plugin, read by validate as well): the production app container.
public struct AppContainerConfig: ConfigSection, Equatable {
    public static let key = "app"
    public static let scope = ConfigScope.environment
    public static let summary = "Production container name, network, published ports, env file and env."

    public var container: String
    public var network: String?
    public var publish: [PortMapping]
    public var envFile: String?
    public var env: [String: String]
    /// Docker's init as PID 1 in containers tmeops creates (default true): signals reach the app.
    public var initProcess: Bool
    /// How long a graceful stop waits before SIGKILL: this when set, else the running container's own
    /// (compose's `stop_grace_period`), else 10 s.
    public var stopTimeout: ConfigDuration
    /// Whether tmeops.yml sets `stop_timeout`.
    public var stopTimeoutIsSet: Bool
    /// Mounts (`SOURCE:TARGET[:ro]`, a host path or a named volume) that replace the running container's
    /// mount at the same target or add one; every other mount is carried over.
    public var volumes: [String]
    /// Labels set on app containers, over the ones carried from the running container.
    public var labels: [String: String]
    /// Docker settings by name; each replaces what the running container had.
    public var options: ContainerOptions
    /// How `env_file` is read; unset: compose's rules when the running container was made by docker
    /// compose (it carries compose's labels), else `docker run --env-file`'s.
    public var envFileFormat: EnvFileFormat?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case container, network, publish
        case envFile = "env_file"
        case envFileFormat = "env_file_format"
        case env
        case initProcess = "init"
        case stopTimeout = "stop_timeout"
        case volumes, labels, options
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        container = try c.decode(String.self, forKey: .container)
        guard container.range(of: #"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$"#, options: .regularExpression) != nil else {
            throw c.invalid(.container, "'\(container)' is not a valid Docker container name")
        }
        network = try c.decodeIfPresent(String.self, forKey: .network)
        publish = try c.decode(.publish, default: [])
        envFile = try c.decodeIfPresent(String.self, forKey: .envFile)
        if let envFile, !envFile.hasPrefix("/") { throw c.invalid(.envFile, "'\(envFile)' must be an absolute path on the host") }
        env = try c.decode(.env, default: [:])
        initProcess = try c.decode(.initProcess, default: true)
        stopTimeout = try c.decode(.stopTimeout, default: ConfigDuration(seconds: 10))
        stopTimeoutIsSet = c.contains(.stopTimeout)
        volumes = try c.decode(.volumes, default: [])
        for volume in volumes where VolumeSpec(volume) == nil {
            throw c.invalid(.volumes, "'\(volume)' is not SOURCE:TARGET[:ro|rw] with an absolute TARGET")
        }
        labels = try c.decode(.labels, default: [:])
        options = try c.decode(.options, default: ContainerOptions())
        if let format = try c.decodeIfPresent(String.self, forKey: .envFileFormat) {
            guard let parsed = EnvFileFormat(rawValue: format) else { throw c.invalid(.envFileFormat, "'\(format)' is not one of compose, docker") }
            envFileFormat = parsed
        }
    }
}

/// One `SOURCE:TARGET[:OPTIONS]` mount as tmeops.yml and `docker run -v` write it.
public struct VolumeSpec: Equatable, Sendable {
    public let source: String
    public let target: String
    public let options: [String]

    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard (2...3).contains(parts.count), !parts[0].isEmpty, parts[1].hasPrefix("/") else { return nil }
        source = parts[0]
        target = parts[1]
        options = parts.count == 3 ? parts[2].split(separator: ",").map(String.init) : []
        guard options.allSatisfy({ ["ro", "rw", "z", "Z", "nocopy", "consistent", "cached", "delegated"].contains($0) }) else { return nil }
    }

    public init(source: String, target: String, options: [String]) {
        self.source = source
        self.target = target
        self.options = options
    }

    /// The same mount, read-only.
    public var readOnly: VolumeSpec { VolumeSpec(source: source, target: target, options: options.filter { $0 != "rw" && $0 != "ro" } + ["ro"]) }
    public var isReadOnly: Bool { options.contains("ro") }
    public var text: String { ([source, target] + (options.isEmpty ? [] : [options.joined(separator: ",")])).joined(separator: ":") }
}

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

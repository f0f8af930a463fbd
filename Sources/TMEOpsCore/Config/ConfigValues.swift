import Foundation

/// A duration written as `2s`, `500ms`, `30m`, `1h` or `1h30m` (a bare number means seconds).
public struct ConfigDuration: Codable, Sendable, Equatable, CustomStringConvertible {
    public let seconds: Double

    public init(seconds: Double) { self.seconds = seconds }

    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let plain = Double(trimmed), plain >= 0 {
            seconds = plain
            return
        }
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        var total = 0.0
        var number = ""
        var rest = Substring(trimmed)
        guard !rest.isEmpty else { throw TMEOpsError.usage("empty duration") }
        while let character = rest.first {
            if character.isNumber || character == "." {
                number.append(character)
                rest = rest.dropFirst()
                continue
            }
            guard let value = Double(number),
                let (unit, factor) = units.first(where: { rest.hasPrefix($0.0) })
            else {
                throw TMEOpsError.usage("'\(text)' is not a duration; write e.g. 2s, 500ms, 30m or 1h")
            }
            total += value * factor
            number = ""
            rest = rest.dropFirst(unit.count)
        }
        guard number.isEmpty else { throw TMEOpsError.usage("'\(text)' is not a duration; write e.g. 2s, 500ms, 30m or 1h") }
        seconds = total
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            try self.init(parsing: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)' is not a duration; write e.g. 2s, 500ms, 30m or 1h")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public var description: String {
        if seconds >= 3600, seconds.truncatingRemainder(dividingBy: 3600) == 0 { return "\(Int(seconds / 3600))h" }
        if seconds >= 60, seconds.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(seconds / 60))m" }
        if seconds.truncatingRemainder(dividingBy: 1) == 0 { return "\(Int(seconds))s" }
        return "\(Int((seconds * 1000).rounded()))ms"
    }
}

/// A published port as Docker writes it: `[IP:]HOST:CONTAINER[/tcp|udp]`.
public struct PortMapping: Codable, Sendable, Equatable, CustomStringConvertible {
    public let hostIP: String?
    public let hostPort: Int
    public let containerPort: Int
    public let proto: String

    public init(parsing text: String) throws {
        var body = Substring(text)
        var proto = "tcp"
        if let slash = body.lastIndex(of: "/") {
            proto = String(body[body.index(after: slash)...])
            body = body[..<slash]
        }
        let parts = body.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let bad = TMEOpsError.usage("'\(text)' is not a port mapping; write HOST:CONTAINER such as 80:3000 (or IP:HOST:CONTAINER)")
        guard ["tcp", "udp"].contains(proto), parts.count == 2 || parts.count == 3,
            let host = Int(parts[parts.count - 2]), let container = Int(parts[parts.count - 1]),
            (1...65535).contains(host), (1...65535).contains(container)
        else { throw bad }
        hostIP = parts.count == 3 ? parts[0] : nil
        hostPort = host
        containerPort = container
        self.proto = proto
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            try self.init(parsing: text)
        } catch let error as TMEOpsError {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public var description: String {
        let base = hostIP.map { "\($0):\(hostPort):\(containerPort)" } ?? "\(hostPort):\(containerPort)"
        return proto == "tcp" ? base : "\(base)/\(proto)"
    }
}

import Foundation

/// How the swap of an environment of several hosts is cut into batches (`deploy.batch`): the hosts in
/// `ssh.hosts` order, `size` at a time, each batch health-gated before the next begins.
public enum DeployBatches {
    /// `deploy.batch`: a number of hosts, or a share of them ("34%", rounded up, at least one host).
    public enum Size: Codable, Equatable, Sendable, CustomStringConvertible {
        case hosts(Int)
        case percent(Int)

        public init?(_ hosts: Int) {
            guard hosts >= 1 else { return nil }
            self = .hosts(hosts)
        }

        /// "2" or "34%".
        public init?(parsing text: String) {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if trimmed.hasSuffix("%") {
                guard let value = Int(trimmed.dropLast().trimmingCharacters(in: .whitespaces)), (1...100).contains(value) else { return nil }
                self = .percent(value)
            } else {
                guard let value = Int(trimmed) else { return nil }
                self.init(value)
            }
        }

        public init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Int.self), let size = Size(number) {
                self = size
                return
            }
            let text = try container.decode(String.self)
            guard let size = Size(parsing: text) else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "'\(text)' is neither a number of hosts (1 or more) nor a percentage from 1% to 100%")
            }
            self = size
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .hosts(let value): try container.encode(value)
            case .percent: try container.encode(description)
            }
        }

        /// Hosts per batch for an environment of `count` hosts.
        public func hostsPerBatch(of count: Int) -> Int {
            switch self {
            case .hosts(let value): return max(1, min(value, count))
            case .percent(let value): return max(1, min(count, (count * value + 99) / 100))
            }
        }

        public var description: String {
            switch self {
            case .hosts(let value): return "\(value)"
            case .percent(let value): return "\(value)%"
            }
        }
    }

    /// `hosts` in order, cut into batches of `size`.
    public static func plan<T>(_ hosts: [T], size: Size) -> [[T]] {
        guard !hosts.isEmpty else { return [] }
        let per = size.hostsPerBatch(of: hosts.count)
        return stride(from: 0, to: hosts.count, by: per).map { Array(hosts[$0..<min($0 + per, hosts.count)]) }
    }

    /// The plan's words for the batches: "3 batches of 1 host: a → b → c".
    public static func describe(_ batches: [[String]]) -> String {
        let per = batches.first?.count ?? 0
        let shown = batches.map { $0.count == 1 ? $0[0] : "[\($0.joined(separator: ", "))]" }.joined(separator: " → ")
        return "\(batches.count) batch\(batches.count == 1 ? "" : "es") of \(per == 1 ? "1 host" : "up to \(per) hosts"): \(shown)"
    }
}

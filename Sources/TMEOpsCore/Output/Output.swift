import Foundation

/// A command's results, as opposed to its log: human text, or JSON with `--json`.
///
/// Everything passes through the shared ``Redactor`` before it is written.
public struct Output: Sendable {
    public let sink: TextSink
    public let redactor: Redactor
    /// Whether `--json` asked for machine output.
    public let json: Bool
    /// Whether colour may be used (a terminal, and neither `--no-color` nor `NO_COLOR`).
    public let color: Bool

    public init(sink: TextSink, redactor: Redactor, json: Bool = false, color: Bool = false) {
        self.sink = sink
        self.redactor = redactor
        self.json = json
        self.color = color
    }

    /// Writes one line of human output.
    public func line(_ text: String = "") {
        sink.write(redactor.redact(text) + "\n")
    }

    /// Writes `value` as pretty, key-sorted JSON followed by a newline.
    public func writeJSON<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        let data = try encoder.encode(value)
        sink.write(redactor.redact(String(decoding: data, as: UTF8.self)) + "\n")
    }

    /// `text` in bold when colour is on.
    public func bold(_ text: String) -> String { color ? "\u{1B}[1m\(text)\u{1B}[0m" : text }
    /// `text` in green when colour is on.
    public func green(_ text: String) -> String { color ? "\u{1B}[32m\(text)\u{1B}[0m" : text }
    /// `text` in red when colour is on.
    public func red(_ text: String) -> String { color ? "\u{1B}[31m\(text)\u{1B}[0m" : text }
    /// `text` in yellow (a warning) when colour is on.
    public func yellow(_ text: String) -> String { color ? "\u{1B}[33m\(text)\u{1B}[0m" : text }
}

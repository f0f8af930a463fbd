import Foundation
import Logging

/// Metadata keys every tmeops log line carries when known; JSON lines lift them to top-level fields.
public enum LogField {
    public static let plugin = "plugin"
    public static let command = "command"
    public static let environment = "environment"
    public static let step = "step"
    static let lifted: Set<String> = [plugin, command, environment, step]
}

/// Log lines for people: `LEVEL message key=value`, coloured only on a terminal.
public struct HumanLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let sink: TextSink
    private let redactor: Redactor
    private let color: Bool

    public init(sink: TextSink, redactor: Redactor, level: Logger.Level, color: Bool) {
        self.sink = sink
        self.redactor = redactor
        self.logLevel = level
        self.color = color
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        var text = label(event.level)
        if let step = merged[LogField.step] { text += "[\(step)] " }
        text += "\(event.message)"
        // Context fields are shown once by the command itself; only the extra metadata is repeated here.
        let extras = merged.filter { !LogField.lifted.contains($0.key) }.sorted { $0.key < $1.key }
        if !extras.isEmpty {
            text += " " + extras.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        sink.write(redactor.redact(text) + "\n")
    }

    /// `warning: `-style prefixes; info and notice lines are plain sentences.
    private func label(_ level: Logger.Level) -> String {
        let name: String
        let colorCode: String
        switch level {
        case .trace: (name, colorCode) = ("trace:", "90")
        case .debug: (name, colorCode) = ("debug:", "90")
        case .info, .notice: return ""
        case .warning: (name, colorCode) = ("warning:", "33")
        case .error: (name, colorCode) = ("error:", "31")
        case .critical: (name, colorCode) = ("critical:", "31;1")
        }
        return (color ? "\u{1B}[\(colorCode)m\(name)\u{1B}[0m" : name) + " "
    }
}

/// One JSON object per line: time, level, plugin, command, environment, step, message, metadata.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let sink: TextSink
    private let redactor: Redactor
    private let clock: @Sendable () -> Date

    public init(sink: TextSink, redactor: Redactor, level: Logger.Level, clock: @escaping @Sendable () -> Date = Date.init) {
        self.sink = sink
        self.redactor = redactor
        self.logLevel = level
        self.clock = clock
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    struct Line: Encodable {
        let time: String
        let level: String
        let plugin: String?
        let command: String?
        let environment: String?
        let step: String?
        let message: String
        let metadata: [String: String]
    }

    public func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let line = Line(
            time: formatter.string(from: clock()),
            level: event.level.rawValue,
            plugin: merged[LogField.plugin].map { "\($0)" },
            command: merged[LogField.command].map { "\($0)" },
            environment: merged[LogField.environment].map { "\($0)" },
            step: merged[LogField.step].map { "\($0)" },
            message: redactor.redact("\(event.message)"),
            metadata: merged.filter { !LogField.lifted.contains($0.key) }.mapValues { redactor.redact("\($0)") }
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(line) else { return }
        // Redact the encoded line too: a secret could have been split across JSON escapes only in theory,
        // but context fields (environment names) are not otherwise passed through the redactor.
        sink.write(redactor.redact(String(decoding: data, as: UTF8.self)) + "\n")
    }
}

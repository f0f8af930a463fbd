import Foundation
import Logging

/// Progress of a long transfer: a bar with bytes, rate and ETA on a terminal, else a log line every
/// quarter or 10 seconds.
///
/// Written here rather than taken from ConsoleKit, whose progress bar shows a fraction only: an
/// operator moving a 1 GiB image wants the rate and the time left, and CI logs want periodic lines.
public final class ProgressReporter: @unchecked Sendable {
    private let label: String
    private let sink: TextSink
    private let logger: Logger
    private let interactive: Bool
    private let started = Date()
    private var lastDraw = Date.distantPast
    private var lastLoggedFraction = -1
    private var lastLogTime = Date()
    private let lock = NSLock()
    /// While muted, a terminal's bar is not drawn (another part of the command is printing lines).
    private var muted: Bool
    private var last: (done: UInt64, total: UInt64)?

    /// `muted`: the bar waits for `unmute()` before it is drawn (log lines in CI are written anyway).
    public init(label: String, sink: TextSink, logger: Logger, quiet: Bool = false, muted: Bool = false) {
        self.label = label
        self.sink = sink
        self.logger = logger
        self.interactive = sink.isTerminal && !quiet
        self.muted = muted
    }

    /// Draws the bar from now on (at once, with what is known so far).
    public func unmute() {
        let known = lock.withLock { () -> (done: UInt64, total: UInt64)? in
            muted = false
            lastDraw = .distantPast
            return last
        }
        if let known, interactive { update(known.done, known.total) }
    }

    /// Reports `done` of `total` bytes; cheap to call for every chunk.
    public func update(_ done: UInt64, _ total: UInt64) {
        lock.withLock {
            let now = Date()
            last = (done, total)
            // A total of 0 with bytes done: the size is not known ahead (a dump as it is written).
            let unknown = total == 0 && done > 0
            let fraction = total == 0 ? (unknown ? 0 : 1) : Double(done) / Double(total)
            if interactive {
                guard !muted else { return }
                guard now.timeIntervalSince(lastDraw) >= 0.1 || done == total else { return }
                lastDraw = now
                sink.write("\r\u{1B}[2K" + Self.line(label: label, done: done, total: total, elapsed: now.timeIntervalSince(started)))
            } else {
                let quarter = unknown ? lastLoggedFraction : Int(fraction * 4)
                guard quarter > lastLoggedFraction || now.timeIntervalSince(lastLogTime) >= 10 else { return }
                lastLoggedFraction = quarter
                lastLogTime = now
                logger.info("\(Self.line(label: label, done: done, total: total, elapsed: now.timeIntervalSince(started)))")
            }
        }
    }

    /// Ends the bar's line on a terminal.
    public func finish() {
        lock.withLock {
            if interactive && !muted && lastDraw != .distantPast {
                sink.write("\n")
                lastDraw = .distantPast
            }
        }
    }

    /// `label [=====>    ]  45%  123.4 MiB / 275.0 MiB  85.3 MiB/s  ETA 2s`.
    /// With a total of 0 and bytes done (a size not known ahead): `label  123.4 MiB  85.3 MiB/s  12s`.
    public static func line(label: String, done: UInt64, total: UInt64, elapsed: TimeInterval, width: Int = 24) -> String {
        if total == 0 && done > 0 {
            let rate = elapsed > 0 ? Double(done) / elapsed : 0
            return "\(label)  \(bytes(done))  \(bytes(UInt64(rate)))/s  \(duration(elapsed))"
        }
        let fraction = total == 0 ? 1 : min(1, Double(done) / Double(total))
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "=", count: filled) + (filled < width ? ">" + String(repeating: " ", count: width - filled - 1) : "")
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let remaining = rate > 0 ? Double(total - min(done, total)) / rate : 0
        let percent = String(format: "%3d%%", Int(fraction * 100))
        let eta = rate > 0 || done >= total ? duration(remaining) : "--"
        return "\(label) [\(bar)] \(percent)  \(bytes(done)) / \(bytes(total))  \(bytes(UInt64(rate)))/s  ETA \(eta)"
    }

    public static func bytes(_ count: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f", value) + " " + units[unit]
    }

    public static func duration(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded(.up))
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return "\(whole / 60)m\(String(format: "%02d", whole % 60))s" }
        return "\(whole / 3600)h\(String(format: "%02d", (whole % 3600) / 60))m"
    }
}

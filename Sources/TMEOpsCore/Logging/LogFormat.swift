import ArgumentParser

/// How log lines are written: for people, or one JSON object per line for log collectors.
public enum LogFormat: String, CaseIterable, Sendable, ExpressibleByArgument {
    case text
    case json
}

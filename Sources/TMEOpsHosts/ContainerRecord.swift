import Foundation
import TMEOpsCore
import TMEOpsDocker

/// What the ledger keeps of a release's app container, for `releases --diff`: no values of variables
/// (they may be secrets), only their names.
public struct ContainerRecord: Codable, Sendable, Equatable {
    public var image: String
    public var envKeys: [String]
    /// `SOURCE -> TARGET`, with ` (read-only)` where it is.
    public var mounts: [String]
    /// Memory, CPUs, pids, restart policy, log driver and options, user: whatever is set.
    public var settings: [String: String]
    public var labels: [String: String]

    enum CodingKeys: String, CodingKey {
        case image, mounts, settings, labels
        case envKeys = "env_keys"
    }

    public init(document: JSONValue) {
        image = document["Config"]?["Image"]?.string ?? ""
        envKeys = (document["Config"]?["Env"]?.array ?? []).compactMap { $0.string?.split(separator: "=", maxSplits: 1).first.map(String.init) }.sorted()
        mounts = (document["Mounts"]?.array ?? []).map { mount in
            let source = mount["Name"]?.string ?? mount["Source"]?.string ?? ""
            return "\(source) -> \(mount["Destination"]?.string ?? "")\(mount["RW"]?.bool == false ? " (read-only)" : "")"
        }.sorted()
        var settings: [String: String] = [:]
        let host = document["HostConfig"]?.object ?? [:]
        for key in ["Memory", "NanoCpus", "PidsLimit", "ShmSize", "RestartPolicy", "LogConfig", "CapAdd", "CapDrop", "SecurityOpt", "ExtraHosts", "Tmpfs"] {
            if let value = host[key], !value.isEmpty, !(key == "RestartPolicy" && value["Name"]?.string?.isEmpty != false) {
                settings[key] = Self.describe(key, value)
            }
        }
        if let user = document["Config"]?["User"]?.string, !user.isEmpty { settings["User"] = "User \(user)" }
        self.settings = settings
        labels = (document["Config"]?["Labels"]?.object ?? [:]).compactMapValues(\.string).filter { !$0.key.hasPrefix("tmeops.") }
    }

    /// Lines saying how `other` (a later release) differs from this one.
    public func differences(to other: ContainerRecord) -> [String] {
        var lines: [String] = []
        if image != other.image { lines.append("image: \(image) -> \(other.image)") }
        func sets(_ what: String, _ old: [String], _ new: [String]) {
            for item in Set(old).subtracting(new).sorted() { lines.append("- \(what) \(item)") }
            for item in Set(new).subtracting(old).sorted() { lines.append("+ \(what) \(item)") }
        }
        sets("env", envKeys, other.envKeys)
        sets("mount", mounts, other.mounts)
        for key in Set(settings.keys).union(other.settings.keys).sorted() where settings[key] != other.settings[key] {
            lines.append("\(key): \(settings[key] ?? "(unset)") -> \(other.settings[key] ?? "(unset)")")
        }
        for key in Set(labels.keys).union(other.labels.keys).sorted() where labels[key] != other.labels[key] {
            lines.append("label \(key): \(labels[key] ?? "(unset)") -> \(other.labels[key] ?? "(unset)")")
        }
        return lines
    }

    public static func describe(_ key: String, _ value: JSONValue) -> String {
        switch key {
        case "Memory", "MemoryReservation", "ShmSize":
            return "\(key) \(ProgressReporter.bytes(UInt64(max(0, value.number ?? 0))))"
        case "NanoCpus":
            return "cpus \(String(format: "%g", (value.number ?? 0) / 1e9))"
        case "RestartPolicy":
            return "restart \(value["Name"]?.string ?? "")"
        case "LogConfig":
            let options = (value["Config"]?.object ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.string ?? "\($0.value)")" }
            return (["log \(value["Type"]?.string ?? "")"] + options).joined(separator: " ")
        default:
            if let text = value.string { return "\(key) \(text)" }
            return "\(key) \(value)"
        }
    }
}

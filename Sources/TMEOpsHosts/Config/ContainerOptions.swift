import Foundation
import TMEOpsCore
import TMEOpsDocker

/// `environments.<name>.app.options`: Docker settings by their `docker run`/compose names, for the app
/// containers tmeops creates. Each one set here replaces what the running container had; each one left
/// out is carried over from it.
public struct ContainerOptions: Codable, Equatable, Sendable {
    public var memory: ByteSize?
    public var memoryReservation: ByteSize?
    public var cpus: Double?
    public var pidsLimit: Int?
    public var shmSize: ByteSize?
    public var user: String?
    public var restart: String?
    public var logDriver: String?
    public var logOpts: [String: String]?
    public var capAdd: [String]?
    public var capDrop: [String]?
    public var securityOpt: [String]?
    public var extraHosts: [String]?
    public var dns: [String]?
    public var stopSignal: String?
    public var readOnly: Bool?
    /// `PATH[:OPTIONS]`, as `docker run --tmpfs` takes them.
    public var tmpfs: [String]?
    public var sysctls: [String: String]?
    /// `nofile: "1024:2048"` (soft:hard) or `nproc: "512"`.
    public var ulimits: [String: String]?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case memory
        case memoryReservation = "memory_reservation"
        case cpus
        case pidsLimit = "pids_limit"
        case shmSize = "shm_size"
        case user, restart
        case logDriver = "log_driver"
        case logOpts = "log_opts"
        case capAdd = "cap_add"
        case capDrop = "cap_drop"
        case securityOpt = "security_opt"
        case extraHosts = "extra_hosts"
        case dns
        case stopSignal = "stop_signal"
        case readOnly = "read_only"
        case tmpfs, sysctls, ulimits
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        memory = try c.decodeIfPresent(ByteSize.self, forKey: .memory)
        memoryReservation = try c.decodeIfPresent(ByteSize.self, forKey: .memoryReservation)
        cpus = try c.decodeIfPresent(Double.self, forKey: .cpus)
        if let cpus, cpus <= 0 { throw c.invalid(.cpus, "must be more than 0") }
        pidsLimit = try c.decodeIfPresent(Int.self, forKey: .pidsLimit)
        shmSize = try c.decodeIfPresent(ByteSize.self, forKey: .shmSize)
        user = try c.decodeIfPresent(String.self, forKey: .user)
        restart = try c.decodeIfPresent(String.self, forKey: .restart)
        if let restart, RestartPolicy(restart) == nil {
            throw c.invalid(.restart, "'\(restart)' is not one of no, always, unless-stopped, on-failure[:N]")
        }
        logDriver = try c.decodeIfPresent(String.self, forKey: .logDriver)
        logOpts = try c.decodeIfPresent([String: String].self, forKey: .logOpts)
        capAdd = try c.decodeIfPresent([String].self, forKey: .capAdd)
        capDrop = try c.decodeIfPresent([String].self, forKey: .capDrop)
        securityOpt = try c.decodeIfPresent([String].self, forKey: .securityOpt)
        extraHosts = try c.decodeIfPresent([String].self, forKey: .extraHosts)
        dns = try c.decodeIfPresent([String].self, forKey: .dns)
        stopSignal = try c.decodeIfPresent(String.self, forKey: .stopSignal)
        readOnly = try c.decodeIfPresent(Bool.self, forKey: .readOnly)
        tmpfs = try c.decodeIfPresent([String].self, forKey: .tmpfs)
        sysctls = try c.decodeIfPresent([String: String].self, forKey: .sysctls)
        ulimits = try c.decodeIfPresent([String: String].self, forKey: .ulimits)
        for (name, value) in ulimits ?? [:] where Self.ulimit(name, value) == nil {
            throw c.invalid(.ulimits, "\(name): '\(value)' is not SOFT[:HARD] (whole numbers)")
        }
    }

    /// `on-failure:3` as the Engine API's RestartPolicy object.
    struct RestartPolicy {
        let name: String
        let retries: Int
        init?(_ text: String) {
            let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
            guard let first = parts.first, ["no", "always", "unless-stopped", "on-failure"].contains(first) else { return nil }
            name = first
            if parts.count == 2 {
                guard first == "on-failure", let count = Int(parts[1]), count >= 0 else { return nil }
                retries = count
            } else {
                retries = 0
            }
        }
    }

    static func ulimit(_ name: String, _ value: String) -> JSONValue? {
        let parts = value.split(separator: ":").map { Int($0) }
        guard (1...2).contains(parts.count), let soft = parts[0], let hard = parts.count == 2 ? parts[1] : soft else { return nil }
        return .object(["Name": .string(name), "Soft": .number(Double(soft)), "Hard": .number(Double(hard))])
    }

    /// The settings as Engine API fields: `HostConfig` ones and container `Config` ones.
    public var engineFields: (hostConfig: [String: JSONValue], config: [String: JSONValue]) {
        var host: [String: JSONValue] = [:]
        var config: [String: JSONValue] = [:]
        func strings(_ list: [String]) -> JSONValue { .array(list.map(JSONValue.string)) }
        func map(_ pairs: [String: String]) -> JSONValue { .object(pairs.mapValues(JSONValue.string)) }
        if let memory { host["Memory"] = .number(Double(memory.bytes)) }
        if let memoryReservation { host["MemoryReservation"] = .number(Double(memoryReservation.bytes)) }
        if let cpus { host["NanoCpus"] = .number((cpus * 1e9).rounded()) }
        if let pidsLimit { host["PidsLimit"] = .number(Double(pidsLimit)) }
        if let shmSize { host["ShmSize"] = .number(Double(shmSize.bytes)) }
        if let restart, let policy = RestartPolicy(restart) {
            host["RestartPolicy"] = .object(["Name": .string(policy.name == "no" ? "" : policy.name), "MaximumRetryCount": .number(Double(policy.retries))])
        }
        if logDriver != nil || logOpts != nil {
            host["LogConfig"] = .object(["Type": .string(logDriver ?? "json-file"), "Config": map(logOpts ?? [:])])
        }
        if let capAdd { host["CapAdd"] = strings(capAdd) }
        if let capDrop { host["CapDrop"] = strings(capDrop) }
        if let securityOpt { host["SecurityOpt"] = strings(securityOpt) }
        if let extraHosts { host["ExtraHosts"] = strings(extraHosts) }
        if let dns { host["Dns"] = strings(dns) }
        if let readOnly { host["ReadonlyRootfs"] = .bool(readOnly) }
        if let tmpfs {
            var table: [String: JSONValue] = [:]
            for entry in tmpfs {
                let parts = entry.split(separator: ":", maxSplits: 1).map(String.init)
                table[parts[0]] = .string(parts.count > 1 ? parts[1] : "")
            }
            host["Tmpfs"] = .object(table)
        }
        if let sysctls { host["Sysctls"] = map(sysctls) }
        if let ulimits { host["Ulimits"] = .array(ulimits.sorted { $0.key < $1.key }.compactMap { Self.ulimit($0.key, $0.value) }) }
        if let user { config["User"] = .string(user) }
        if let stopSignal { config["StopSignal"] = .string(stopSignal) }
        return (host, config)
    }
}

/// A size in bytes written as Docker writes them: `512m`, `1g`, `64k`, `1048576` (binary multiples).
public struct ByteSize: Codable, Equatable, Sendable, CustomStringConvertible {
    public let bytes: Int64

    public init(bytes: Int64) { self.bytes = bytes }

    public init?(parsing text: String) {
        let lower = text.lowercased().trimmingCharacters(in: .whitespaces)
        let units: [(String, Int64)] = [("kb", 1 << 10), ("mb", 1 << 20), ("gb", 1 << 30), ("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30), ("b", 1)]
        for (suffix, factor) in units where lower.hasSuffix(suffix) {
            guard let number = Double(lower.dropLast(suffix.count)), number >= 0 else { return nil }
            bytes = Int64(number * Double(factor))
            return
        }
        guard let number = Int64(lower), number >= 0 else { return nil }
        bytes = number
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let parsed = ByteSize(parsing: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)' is not a size (e.g. 512m, 1g, 64k)")
        }
        self = parsed
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode("\(bytes)")
    }

    public var description: String { ProgressReporter.bytes(UInt64(bytes)) }
}

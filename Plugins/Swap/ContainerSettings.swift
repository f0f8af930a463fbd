import Foundation
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import ValidatePlugin

/// What a running app container has that tmeops.yml does not name — mounts and volumes, restart policy,
/// limits, log options, capabilities, user, healthcheck, labels — read from the engine, so the container
/// that replaces it keeps every one of them. A container made by docker compose keeps its compose labels
/// (`docker compose ps` still lists it); tmeops's labels are added.
public struct ContainerSettings: Sendable, Equatable {
    /// `HostConfig` fields, as the engine wrote them.
    public var hostConfig: [String: JSONValue]
    /// Container `Config` fields that differ from the image's defaults (user, stop signal, healthcheck, …).
    public var config: [String: JSONValue]
    public var labels: [String: String]

    /// The `HostConfig` fields carried over. Ports, network, init and the env file mount are tmeops.yml's.
    static let carriedHostConfig = [
        "Binds", "Mounts", "Tmpfs", "VolumesFrom", "RestartPolicy", "Memory", "MemoryReservation", "MemorySwap", "MemorySwappiness",
        "NanoCpus", "CpuShares", "CpuPeriod", "CpuQuota", "CpusetCpus", "CpusetMems", "PidsLimit", "BlkioWeight", "OomKillDisable",
        "OomScoreAdj", "LogConfig", "ExtraHosts", "Dns", "DnsOptions", "DnsSearch", "CapAdd", "CapDrop", "SecurityOpt", "Ulimits",
        "ShmSize", "Devices", "DeviceCgroupRules", "Sysctls", "ReadonlyRootfs", "GroupAdd", "Privileged", "Runtime", "StorageOpt",
    ]
    /// `Config` fields carried over when the container's value is not the image's own.
    static let carriedConfig = ["User", "WorkingDir", "StopSignal", "Healthcheck", "Domainname", "Tty", "OpenStdin"]

    public init(hostConfig: [String: JSONValue] = [:], config: [String: JSONValue] = [:], labels: [String: String] = [:]) {
        self.hostConfig = hostConfig
        self.config = config
        self.labels = labels
    }

    /// Reads the settings of `container` (its inspect document) against its image's (nil when the image
    /// is gone: then only what cannot be the image's — host settings, compose labels — is carried).
    public init(container: JSONValue, image: JSONValue?) {
        var host: [String: JSONValue] = [:]
        let old = container["HostConfig"]?.object ?? [:]
        for key in Self.carriedHostConfig { if let value = old[key], !value.isEmpty { host[key] = value } }
        // Values the engine fills in by itself: carried, they would only pin today's defaults.
        if host["Runtime"] == .string("runc") { host["Runtime"] = nil }
        if host["ShmSize"] == .number(Double(64 << 20)) { host["ShmSize"] = nil }
        if let memory = host["Memory"]?.number, host["MemorySwap"] == .number(memory * 2) { host["MemorySwap"] = nil }
        // tmeops's own env file mount is made again from tmeops.yml.
        let binds = (host["Binds"]?.array ?? []).compactMap(\.string).filter { VolumeSpec($0)?.target != AppContainers.envMount }
        host["Binds"] = binds.isEmpty ? nil : .array(binds.map(JSONValue.string))
        // Volumes the container has without naming them in HostConfig (anonymous ones, an image's VOLUME):
        // a new container would get empty ones, so they are mounted by name.
        var targets = Set(binds.compactMap { VolumeSpec($0)?.target })
        targets.formUnion((host["Mounts"]?.array ?? []).compactMap { $0["Target"]?.string })
        var mounts = host["Mounts"]?.array ?? []
        for mount in container["Mounts"]?.array ?? [] {
            guard mount["Type"]?.string == "volume", let name = mount["Name"]?.string, let target = mount["Destination"]?.string,
                !targets.contains(target), target != AppContainers.envMount
            else { continue }
            mounts.append(
                .object(["Type": .string("volume"), "Source": .string(name), "Target": .string(target), "ReadOnly": .bool(mount["RW"]?.bool == false)]))
            targets.insert(target)
        }
        host["Mounts"] = mounts.isEmpty ? nil : .array(mounts)
        hostConfig = host

        let containerConfig = container["Config"]?.object ?? [:]
        let imageConfig = image?["Config"]?.object
        var config: [String: JSONValue] = [:]
        if let imageConfig {
            for key in Self.carriedConfig {
                if let value = containerConfig[key], !value.isEmpty, value != imageConfig[key] { config[key] = value }
            }
        }
        if let timeout = containerConfig["StopTimeout"], !timeout.isEmpty { config["StopTimeout"] = timeout }
        self.config = config

        let imageLabels = imageConfig?["Labels"]?.object ?? [:]
        var labels: [String: String] = [:]
        for (key, value) in containerConfig["Labels"]?.object ?? [:] {
            guard let text = value.string, key != "app", key != "test", !key.hasPrefix("tmeops.") else { continue }
            if imageLabels[key] == value { continue }  // the image's own label: the new image brings its own
            if imageConfig == nil, !key.hasPrefix("com.docker.compose.") { continue }
            labels[key] = text
        }
        self.labels = labels
    }

    /// The settings with tmeops.yml's `app.volumes`, `app.labels` and `app.options` laid over them.
    public func applying(_ app: AppContainerConfig) -> ContainerSettings {
        var result = self
        let volumes = app.volumes.compactMap(VolumeSpec.init)
        if !volumes.isEmpty {
            let replaced = Set(volumes.map(\.target))
            let binds = (hostConfig["Binds"]?.array ?? []).compactMap(\.string).filter { VolumeSpec($0).map { !replaced.contains($0.target) } ?? true }
            result.hostConfig["Binds"] = .array((binds + volumes.map(\.text)).map(JSONValue.string))
            let mounts = (hostConfig["Mounts"]?.array ?? []).filter { !replaced.contains($0["Target"]?.string ?? "") }
            result.hostConfig["Mounts"] = mounts.isEmpty ? nil : .array(mounts)
        }
        for (key, value) in app.labels { result.labels[key] = value }
        let (host, config) = app.options.engineFields
        // A new memory limit takes the engine's swap default with it (an old MemorySwap below it is an error).
        if host["Memory"] != nil { result.hostConfig["MemorySwap"] = nil }
        for (key, value) in host { result.hostConfig[key] = value }
        for (key, value) in config { result.config[key] = value }
        return result
    }

    /// The settings a test instance gets: production's mounts read-only (or `volumes` instead), no restart
    /// policy, and no compose labels (compose must not take it for one of its own containers).
    public func forTestInstance(volumes: [String]?) -> ContainerSettings {
        var result = self
        result.hostConfig["RestartPolicy"] = nil
        result.labels = labels.filter { !$0.key.hasPrefix("com.docker.compose.") }
        if let volumes {
            result.hostConfig["Binds"] = volumes.isEmpty ? nil : .array(volumes.map(JSONValue.string))
            result.hostConfig["Mounts"] = nil
            result.hostConfig["VolumesFrom"] = nil
            return result
        }
        if let binds = hostConfig["Binds"]?.array {
            result.hostConfig["Binds"] = .array(binds.compactMap { $0.string.flatMap(VolumeSpec.init).map { .string($0.readOnly.text) } })
        }
        if let mounts = hostConfig["Mounts"]?.array {
            result.hostConfig["Mounts"] = .array(
                mounts.map { mount in
                    guard var object = mount.object, object["Type"]?.string != "tmpfs" else { return mount }
                    object["ReadOnly"] = .bool(true)
                    return .object(object)
                })
        }
        if let from = hostConfig["VolumesFrom"]?.array {
            result.hostConfig["VolumesFrom"] = .array(from.compactMap { $0.string.map { .string($0.split(separator: ":")[0] + ":ro") } })
        }
        return result
    }

    /// The create request for `spec` with these settings under it: what tmeops.yml sets (image, command,
    /// env, ports, network, init, the env file mount, tmeops's labels) wins; the rest is carried over.
    public func body(for spec: ContainerSpec) throws -> JSONValue {
        guard var body = try JSONValue.of(spec).object else { throw TMEOpsError("a container spec did not encode as an object") }
        var host = hostConfig
        for (key, value) in body["HostConfig"]?.object ?? [:] {
            switch key {
            case "Binds":
                // The env file mount, after the carried mounts (none of which targets it).
                host["Binds"] = .array((hostConfig["Binds"]?.array ?? []) + (value.array ?? []))
            case "RestartPolicy" where hostConfig["RestartPolicy"] != nil:
                continue  // the running container's policy (or app.options.restart) wins over the default
            default:
                host[key] = value
            }
        }
        body["HostConfig"] = .object(host)
        for (key, value) in config where body[key] == nil { body[key] = value }
        var allLabels = labels.mapValues(JSONValue.string)
        for (key, value) in body["Labels"]?.object ?? [:] { allLabels[key] = value }
        body["Labels"] = .object(allLabels)
        return .object(body)
    }

    /// One line per setting carried over, for `deploy --dry-run` and the log.
    public var summary: [String] {
        var lines: [String] = []
        for bind in (hostConfig["Binds"]?.array ?? []).compactMap(\.string) {
            if let volume = VolumeSpec(bind) {
                lines.append("mount \(volume.source) -> \(volume.target)\(volume.isReadOnly ? " (read-only)" : "")")
            }
        }
        for mount in hostConfig["Mounts"]?.array ?? [] {
            let type = mount["Type"]?.string ?? "mount"
            lines.append(
                "\(type) \(mount["Source"]?.string ?? "") -> \(mount["Target"]?.string ?? "")\(mount["ReadOnly"]?.bool == true ? " (read-only)" : "")")
        }
        for (key, value) in hostConfig.sorted(by: { $0.key < $1.key }) where key != "Binds" && key != "Mounts" {
            lines.append(ContainerRecord.describe(key, value))
        }
        for (key, value) in config.sorted(by: { $0.key < $1.key }) { lines.append(ContainerRecord.describe(key, value)) }
        if !labels.isEmpty { lines.append("labels \(labels.keys.sorted().joined(separator: ", "))") }
        return lines
    }

    /// Paths a container wrote into its own writable layer that die with it: added or changed files under
    /// `appPaths`, not under a mount, not temporary, a cache or a log. Folders that only hold such a file
    /// are left out (the file names them).
    public static func discardedChanges(_ changes: [DockerEngine.FileChange], appPaths: [String], mounts: [String]) -> [String] {
        let skippedFolders = ["/tmp", "/var/tmp", "/run", "/var/run", "/var/log", "/var/cache", "/dev", "/proc", "/sys"]
        let skippedComponents: Set<String> = [".cache", "cache", "__pycache__", "tmp", ".npm", ".yarn"]
        func under(_ path: String, _ folder: String) -> Bool { folder == "/" || path == folder || path.hasPrefix(folder + "/") }
        let written = changes.filter { $0.kind != .deleted }.map(\.path).filter { path in
            guard appPaths.contains(where: { under(path, $0) }), !mounts.contains(where: { under(path, $0) }) else { return false }
            guard !skippedFolders.contains(where: { under(path, $0) }) else { return false }
            let components = path.split(separator: "/").map(String.init)
            if components.contains(where: skippedComponents.contains) { return false }
            return !(path.hasSuffix(".log") || path.hasSuffix(".pid") || path.hasSuffix(".sock") || path.hasSuffix(".lock"))
        }
        let all = Set(written)
        return written.filter { path in !all.contains { $0.hasPrefix(path + "/") } && !appPaths.contains(path) }.sorted()
    }

    /// The folders a container's app writes to: its working directory (or `/app`), from its inspect document.
    public static func appPaths(of container: JSONValue) -> [String] {
        let workdir = container["Config"]?["WorkingDir"]?.string ?? ""
        return workdir.isEmpty || workdir == "/" ? ["/app"] : [workdir]
    }

    /// Where the container has mounts (its writes there survive it).
    public static func mountTargets(of container: JSONValue) -> [String] {
        (container["Mounts"]?.array ?? []).compactMap { $0["Destination"]?.string }
    }
}

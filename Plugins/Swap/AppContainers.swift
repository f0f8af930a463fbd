import Foundation
import TMEOpsArchive
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import ValidatePlugin

/// How tmeops creates app containers: the image's own entrypoint and command run under a small shell
/// wrapper that loads the env file's variables from a file tmeops put into the container before it
/// started (through the Engine API's archive endpoint), so no secret from it is in the container's
/// config: `docker inspect` shows neither the values nor a host path holding them.
public enum AppContainers {
    public static let envMount = AppEnvFiles.container

    /// Loads the variables tmeops wrote (`export KEY='value'` lines, see `DotEnv.shellExports`), then runs
    /// the image's command.
    public static let wrapper = """
        if [ -e \(envMount) ]; then
          . \(envMount) || { echo "tmeops: cannot read the env file \(envMount)" >&2; exit 78; }
        fi
        exec "$@"
        """

    /// Writes `variables` into the created (not yet started) `container` at `envMount`, readable by the
    /// app whatever user it runs as.
    public static func installEnv(_ variables: [(key: String, value: String)], engine: DockerEngine, container: String) throws {
        let tar = try TarWriter.data { writer in
            try writer.addDirectory("run/tmeops", mode: 0o755)
            try writer.addData("run/tmeops/app.env", Data(DotEnv.shellExports(variables).utf8), mode: 0o444)
        }
        try engine.putArchive(container, path: "/", tar: tar)
    }

    public struct Plan: Sendable {
        public var name: String
        public var image: String
        public var release: String
        public var publish: [PortMapping]
        public var network: String?
        public var aliases: [String]
        public var test: Bool
        public var testDatabase: String?
    }

    public static func spec(_ plan: Plan, app: AppContainerConfig, appName: String, image: ImageDetails) -> ContainerSpec {
        var env = app.env.sorted(by: { $0.key < $1.key }).map { "\($0.key)=\($0.value)" }
        if let database = plan.testDatabase { env.append("TMEOPS_TEST_DATABASE=\(database)") }
        let command = (image.config?.entrypoint ?? []) + (image.config?.cmd ?? [])
        let (bindings, exposed) = ports(plan.publish)
        var labels = ["app": appName, "tmeops.app": appName, "tmeops.release": plan.release]
        if plan.test { labels["test"] = "true" }
        return ContainerSpec(
            image: plan.image, entrypoint: ["/bin/sh", "-c", wrapper, AppEnvFiles.wrapperName], cmd: command, env: env, labels: labels, exposedPorts: exposed,
            hostConfig: .init(
                portBindings: bindings, networkMode: plan.network, restartPolicy: plan.test ? nil : ["Name": "unless-stopped"],
                initProcess: app.initProcess),
            networkingConfig: plan.network.map { .init(endpointsConfig: [$0: .init(aliases: plan.aliases)]) })
    }

    /// Port bindings and exposed ports for `publish` mappings (`80:3000` → 3000/tcp bound to host port 80).
    public static func ports(_ publish: [PortMapping]) -> (bindings: [String: [ContainerSpec.HostConfig.PortBinding]], exposed: [String: EmptyObject]) {
        var bindings: [String: [ContainerSpec.HostConfig.PortBinding]] = [:]
        var exposed: [String: EmptyObject] = [:]
        for port in publish {
            let key = "\(port.containerPort)/\(port.proto)"
            bindings[key, default: []].append(.init(hostIp: port.hostIP ?? "", hostPort: String(port.hostPort)))
            exposed[key] = EmptyObject()
        }
        return (bindings, exposed)
    }

    /// The aliases a container has on `network`, without the short container ID Docker adds itself.
    public static func aliases(of details: ContainerDetails, network: String?) -> [String] {
        guard let network, let endpoint = details.networkSettings.networks?[network] else { return [] }
        return (endpoint.aliases ?? []).filter { !details.id.hasPrefix($0) }
    }

    /// Removes a container if it exists (stopping it first).
    public static func removeIfPresent(_ engine: DockerEngine, _ name: String) throws {
        if try engine.container(name) != nil { try engine.removeContainer(name, force: true) }
    }
}

import Foundation

/// `GET /version`.
public struct EngineVersion: Decodable, Sendable, Equatable {
    public let version: String
    public let apiVersion: String
    public let os: String?
    public let arch: String?

    enum CodingKeys: String, CodingKey {
        case version = "Version"
        case apiVersion = "ApiVersion"
        case os = "Os"
        case arch = "Arch"
    }
}

/// Where an engine keeps its images. The classic store names an image by its config's digest; the
/// containerd image store by its manifest's (or its index's, for a multi-platform image), and may keep
/// its layers compressed.
public enum ImageStore: String, Sendable, Equatable {
    case classic
    case containerd
}

/// One entry of `GET /images/json`.
public struct ImageSummary: Decodable, Sendable, Equatable {
    public let id: String
    public let repoTags: [String]?
    public let created: Int
    public let size: Int64
    public let labels: [String: String]?

    enum CodingKeys: String, CodingKey {
        case id = "Id"
        case repoTags = "RepoTags"
        case created = "Created"
        case size = "Size"
        case labels = "Labels"
    }
}

/// `GET /images/{name}/json`, the parts tmeops uses.
public struct ImageDetails: Decodable, Sendable, Equatable {
    public struct Config: Decodable, Sendable, Equatable {
        public let env: [String]?
        public let cmd: [String]?
        public let entrypoint: [String]?
        public let user: String?
        public let workingDir: String?
        public let exposedPorts: [String: EmptyObject]?
        public let labels: [String: String]?
        public let healthcheck: Healthcheck?

        enum CodingKeys: String, CodingKey {
            case env = "Env"
            case cmd = "Cmd"
            case entrypoint = "Entrypoint"
            case user = "User"
            case workingDir = "WorkingDir"
            case exposedPorts = "ExposedPorts"
            case labels = "Labels"
            case healthcheck = "Healthcheck"
        }
    }

    public struct Healthcheck: Decodable, Sendable, Equatable {
        public let test: [String]?

        enum CodingKeys: String, CodingKey {
            case test = "Test"
        }
    }

    public struct RootFS: Decodable, Sendable, Equatable {
        public let layers: [String]?

        enum CodingKeys: String, CodingKey {
            case layers = "Layers"
        }
    }

    public let id: String
    public let repoTags: [String]?
    public let created: String
    public let size: Int64
    public let architecture: String?
    public let os: String?
    public let config: Config?
    public let rootFS: RootFS

    enum CodingKeys: String, CodingKey {
        case id = "Id"
        case repoTags = "RepoTags"
        case created = "Created"
        case size = "Size"
        case architecture = "Architecture"
        case os = "Os"
        case config = "Config"
        case rootFS = "RootFS"
    }
}

/// `{}` in Docker's JSON (exposed ports, volumes).
public struct EmptyObject: Codable, Sendable, Equatable {
    public init() {}
}

/// One entry of `GET /containers/json`.
public struct ContainerSummary: Decodable, Sendable, Equatable {
    public let id: String
    public let names: [String]
    public let image: String
    public let imageID: String
    public let state: String
    public let status: String
    public let labels: [String: String]?
    public let created: Int

    enum CodingKeys: String, CodingKey {
        case id = "Id"
        case names = "Names"
        case image = "Image"
        case imageID = "ImageID"
        case state = "State"
        case status = "Status"
        case labels = "Labels"
        case created = "Created"
    }

    /// The first name without Docker's leading slash.
    public var name: String { (names.first ?? id).trimmingCharacters(in: CharacterSet(charactersIn: "/")) }
}

/// `GET /containers/{id}/json`, the parts tmeops uses.
public struct ContainerDetails: Decodable, Sendable, Equatable {
    public struct State: Decodable, Sendable, Equatable {
        public let status: String
        public let running: Bool
        public let exitCode: Int
        public let startedAt: String?
        public let health: Health?

        enum CodingKeys: String, CodingKey {
            case status = "Status"
            case running = "Running"
            case exitCode = "ExitCode"
            case startedAt = "StartedAt"
            case health = "Health"
        }
    }

    public struct Health: Decodable, Sendable, Equatable {
        public let status: String
        public let failingStreak: Int?

        enum CodingKeys: String, CodingKey {
            case status = "Status"
            case failingStreak = "FailingStreak"
        }
    }

    public struct Config: Decodable, Sendable, Equatable {
        public let image: String
        public let labels: [String: String]?

        enum CodingKeys: String, CodingKey {
            case image = "Image"
            case labels = "Labels"
        }
    }

    public struct NetworkSettings: Decodable, Sendable, Equatable {
        public struct Endpoint: Decodable, Sendable, Equatable {
            public let ipAddress: String?
            public let aliases: [String]?

            enum CodingKeys: String, CodingKey {
                case ipAddress = "IPAddress"
                case aliases = "Aliases"
            }
        }

        public let networks: [String: Endpoint]?

        enum CodingKeys: String, CodingKey {
            case networks = "Networks"
        }
    }

    public let id: String
    public let name: String
    public let image: String
    public let state: State
    public let config: Config
    public let networkSettings: NetworkSettings

    enum CodingKeys: String, CodingKey {
        case id = "Id"
        case name = "Name"
        case image = "Image"
        case state = "State"
        case config = "Config"
        case networkSettings = "NetworkSettings"
    }
}

/// `GET /networks/{id}`.
public struct NetworkDetails: Decodable, Sendable, Equatable {
    public struct Member: Decodable, Sendable, Equatable {
        public let name: String
        public let ipv4Address: String?

        enum CodingKeys: String, CodingKey {
            case name = "Name"
            case ipv4Address = "IPv4Address"
        }
    }

    public let id: String
    public let name: String
    public let containers: [String: Member]?
    /// `bridge`, `overlay`, `host`, …
    public var driver: String? = nil

    enum CodingKeys: String, CodingKey {
        case id = "Id"
        case name = "Name"
        case containers = "Containers"
        case driver = "Driver"
    }
}

/// The body of `POST /containers/create`: the fields tmeops sets.
public struct ContainerSpec: Encodable, Sendable {
    public struct HostConfig: Encodable, Sendable {
        public struct PortBinding: Encodable, Sendable {
            public var hostIp: String
            public var hostPort: String

            enum CodingKeys: String, CodingKey {
                case hostIp = "HostIp"
                case hostPort = "HostPort"
            }

            public init(hostIp: String, hostPort: String) {
                self.hostIp = hostIp
                self.hostPort = hostPort
            }
        }

        public var portBindings: [String: [PortBinding]]?
        public var networkMode: String?
        public var restartPolicy: [String: String]?
        /// `host-path:container-path[:ro]` bind mounts.
        public var binds: [String]?
        /// Run Docker's init (tini) as PID 1, so SIGTERM reaches the app and a stop is quick.
        public var initProcess: Bool?

        enum CodingKeys: String, CodingKey {
            case portBindings = "PortBindings"
            case networkMode = "NetworkMode"
            case restartPolicy = "RestartPolicy"
            case binds = "Binds"
            case initProcess = "Init"
        }

        public init(
            portBindings: [String: [PortBinding]]? = nil, networkMode: String? = nil, restartPolicy: [String: String]? = nil, binds: [String]? = nil,
            initProcess: Bool? = nil
        ) {
            self.initProcess = initProcess
            self.portBindings = portBindings
            self.networkMode = networkMode
            self.restartPolicy = restartPolicy
            self.binds = binds
        }
    }

    /// `NetworkingConfig.EndpointsConfig`: the aliases a container has on each network.
    public struct NetworkingConfig: Encodable, Sendable {
        public struct Endpoint: Encodable, Sendable {
            public var aliases: [String]
            enum CodingKeys: String, CodingKey { case aliases = "Aliases" }
            public init(aliases: [String]) { self.aliases = aliases }
        }
        public var endpointsConfig: [String: Endpoint]
        enum CodingKeys: String, CodingKey { case endpointsConfig = "EndpointsConfig" }
        public init(endpointsConfig: [String: Endpoint]) { self.endpointsConfig = endpointsConfig }
    }

    public var image: String
    public var entrypoint: [String]?
    public var cmd: [String]?
    public var env: [String]?
    public var labels: [String: String]?
    public var exposedPorts: [String: EmptyObject]?
    public var hostConfig: HostConfig?
    public var networkingConfig: NetworkingConfig?

    enum CodingKeys: String, CodingKey {
        case image = "Image"
        case entrypoint = "Entrypoint"
        case cmd = "Cmd"
        case env = "Env"
        case labels = "Labels"
        case exposedPorts = "ExposedPorts"
        case hostConfig = "HostConfig"
        case networkingConfig = "NetworkingConfig"
    }

    public init(
        image: String, entrypoint: [String]? = nil, cmd: [String]? = nil, env: [String]? = nil, labels: [String: String]? = nil,
        exposedPorts: [String: EmptyObject]? = nil, hostConfig: HostConfig? = nil, networkingConfig: NetworkingConfig? = nil
    ) {
        self.image = image
        self.entrypoint = entrypoint
        self.networkingConfig = networkingConfig
        self.cmd = cmd
        self.env = env
        self.labels = labels
        self.exposedPorts = exposedPorts
        self.hostConfig = hostConfig
    }
}

import TMEOpsCore

/// Small sections standing in for plugin-owned ones, so core tests need no plugin module.
struct TestSSH: ConfigSection, Equatable {
    static let key = "ssh"
    static let scope = ConfigScope.environment
    static let summary = "test ssh"

    var host: String
    var port: Int
    var user: String

    enum CodingKeys: String, CodingKey, CaseIterable {
        case host, port, user
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        host = try c.decode(String.self, forKey: .host)
        port = try c.decode(.port, default: 22)
        guard (1...65535).contains(port) else { throw c.invalid(.port, "\(port) is not a TCP port (1-65535)") }
        user = try c.decode(String.self, forKey: .user)
    }
}

struct TestDatabase: ConfigSection, Equatable {
    static let key = "database"
    static let scope = ConfigScope.environment
    static let summary = "test database"

    var url: String?
    var password: String?
    var options: [String: String]?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case url, password, options
    }
}

struct TestBuild: ConfigSection, Equatable {
    static let key = "build"
    static let scope = ConfigScope.root
    static let summary = "test build"

    var context: String
    var args: [String: String]?
    var interval: ConfigDuration?
    var publish: [PortMapping]?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case context, args, interval, publish
    }
}

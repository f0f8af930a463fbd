import Foundation
import TMEOpsTestSupport
import XCTest

/// A scratch project folder for running the real binary in.
final class Project {
    let directory: URL

    init() throws { directory = try TemporaryDirectory.make(prefix: "tmeops-e2e") }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func write(_ path: String, _ text: String, mode: Int = 0o644) throws {
        let url = directory.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: url.path)
    }

    func read(_ path: String) throws -> String {
        String(decoding: try Data(contentsOf: directory.appendingPathComponent(path)), as: UTF8.self)
    }

    @discardableResult
    func tmeops(_ arguments: String..., environment: [String: String] = [:]) throws -> ProcessResult {
        try TMEOpsBinary.run(arguments, in: directory, environment: environment)
    }

    @discardableResult
    func tmeops(_ arguments: [String], environment: [String: String] = [:]) throws -> ProcessResult {
        try TMEOpsBinary.run(arguments, in: directory, environment: environment)
    }

    /// A small valid config; `extra` lines go inside the production environment.
    static let config = """
        app: tme-portal
        image: tme-portal-server
        environments:
          production:
            ssh:
              host: 192.168.97.149
              user: tme-user
            database:
              container: tme-user-postgres-1
              user: tme_user
              name: tme_portal
              password: ${TMEOPS_DB_PASSWORD}

        """
}

import Foundation
import TMEOpsArchive
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import ValidatePlugin

/// The variables an app container gets: tmeops.yml's `app.env` and the env file on the host, read by the
/// rules of the tool that made the running container, and how they compare with what it runs with now.
public enum AppEnvironment {
    /// Keys whose values are secrets even when they are short words.
    static let secretKey = try! NSRegularExpression(pattern: "PASS|SECRET|TOKEN|KEY|CREDENTIAL|PRIVATE|AUTH|DSN", options: [.caseInsensitive])

    /// The format `app.env_file` is read in: tmeops.yml's choice, else compose's when the running
    /// container carries compose's labels, else docker's.
    public static func format(_ app: AppContainerConfig, running: JSONValue?) -> EnvFileFormat {
        if let chosen = app.envFileFormat { return chosen }
        let labels = running?["Config"]?["Labels"]?.object ?? [:]
        return labels["com.docker.compose.project"] != nil ? .compose : .docker
    }

    /// Marks every value that may be a secret so logs, errors and the journal mask it.
    public static func redact(_ pairs: [(key: String, value: String)], with redactor: Redactor) {
        for (key, value) in pairs {
            redactor.addURLPasswords(in: value)
            let range = NSRange(key.startIndex..., in: key)
            if value.count >= 4, secretKey.firstMatch(in: key, range: range) != nil { redactor.add(value) }
        }
    }

    /// The test instance's variables: every value naming production's database (a `postgres://` URL,
    /// a libpq `dbname=` string or the bare name) names the test database instead, query strings kept;
    /// then `overrides` (`test_instance.env`).
    public static func redirected(
        _ pairs: [(key: String, value: String)], database: String, to test: String, overrides: [String: String]
    ) -> [(key: String, value: String)] {
        var result = pairs.map { pair -> (key: String, value: String) in (pair.key, redirect(pair.value, database: database, to: test)) }
        for (key, value) in overrides.sorted(by: { $0.key < $1.key }) {
            result.removeAll { $0.key == key }
            result.append((key, value))
        }
        return result
    }

    static func redirect(_ value: String, database: String, to test: String) -> String {
        if value == database { return test }
        for scheme in ["postgresql://", "postgres://"] where value.hasPrefix(scheme) {
            let rest = value.dropFirst(scheme.count)
            guard let slash = rest.firstIndex(of: "/") else { return value }
            let afterSlash = rest[rest.index(after: slash)...]
            let end = afterSlash.firstIndex { $0 == "?" || $0 == "#" } ?? afterSlash.endIndex
            let name = String(afterSlash[..<end])
            guard (name.removingPercentEncoding ?? name) == database else { return value }
            return scheme + rest[...slash] + test + afterSlash[end...]
        }
        // libpq's key=value form: dbname=NAME (optionally quoted).
        var replaced = value
        for form in ["dbname=\(database)", "dbname='\(database)'"] {
            if let range = replaced.range(of: form),
                range.upperBound == replaced.endIndex || replaced[range.upperBound] == " "
            {
                replaced.replaceSubrange(range, with: "dbname=\(test)")
            }
        }
        return replaced
    }

    /// What the variables `current` and `next` hold differently, by key only (values are never shown).
    public struct Difference: Equatable, Sendable {
        public var changed: [String] = []
        public var missing: [String] = []
        public var added: [String] = []
        public var isEmpty: Bool { changed.isEmpty && missing.isEmpty && added.isEmpty }

        public var description: String {
            var parts: [String] = []
            if !changed.isEmpty { parts.append("different values for \(changed.joined(separator: ", "))") }
            if !missing.isEmpty { parts.append("missing \(missing.joined(separator: ", "))") }
            if !added.isEmpty { parts.append("new \(added.joined(separator: ", "))") }
            return parts.joined(separator: "; ")
        }
    }

    /// `current` is what the running container was given; `visible`, everything it sees (its image's
    /// variables too). A variable the new container is given is new only when the running one did not
    /// see it at all, and changed when it saw another value.
    public static func difference(current: [String: String], visible: [String: String] = [:], next: [String: String]) -> Difference {
        var result = Difference()
        let seen = visible.merging(current) { $1 }
        for key in current.keys.sorted() where next[key] == nil { result.missing.append(key) }
        for key in next.keys.sorted() {
            if let value = seen[key] {
                if value != next[key] { result.changed.append(key) }
            } else {
                result.added.append(key)
            }
        }
        return result
    }

    /// The variables a running container was given (not the ones its image sets): its own `Env` minus its
    /// image's, plus the env file tmeops put into it.
    public static func running(_ document: JSONValue, image: JSONValue?, engine: DockerEngine) throws -> (given: [String: String], visible: [String: String]) {
        func table(_ list: [JSONValue]?) -> [String: String] {
            var table: [String: String] = [:]
            for item in list ?? [] {
                guard let text = item.string, let equals = text.firstIndex(of: "=") else { continue }
                table[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            return table
        }
        let imageEnv = table(image?["Config"]?["Env"]?.array)
        let visible = table(document["Config"]?["Env"]?.array)
        var own = visible.filter { imageEnv[$0.key] != $0.value && !$0.key.hasPrefix("TMEOPS_") }
        guard let id = document["Id"]?.string else { return (own, visible) }
        if let tar = try? engine.containerArchive(id, path: AppContainers.envMount, limit: 4 << 20) {
            let text = try fileFromTar(tar)
            // Earlier tmeops versions mounted the env file itself there, read with docker's rules.
            let pairs = text.contains("export ") ? parseExports(text) : ((try? DotEnv.parse(text, file: AppContainers.envMount, format: .docker)) ?? [])
            for (key, value) in pairs { own[key] = value }
        }
        return (own, visible)
    }

    /// The single file of a tar that the archive endpoint answered.
    static func fileFromTar(_ tar: Data) throws -> String {
        var offset = 0
        let reader = try TarReader(source: AppContainers.envMount, purpose: .inspect) { buffer in
            let count = min(buffer.count, tar.count - offset)
            if count > 0 { tar.copyBytes(to: buffer.bindMemory(to: UInt8.self), from: offset..<offset + count) }
            offset += count
            return count
        }
        while let entry = try reader.next() {
            if entry.kind == .file { return String(decoding: try reader.readAll(limit: 4 << 20), as: UTF8.self) }
            try reader.skipData()
        }
        return ""
    }

    /// Reads back what `DotEnv.shellExports` wrote.
    static func parseExports(_ text: String) -> [(key: String, value: String)] {
        var pairs: [(String, String)] = []
        var rest = Substring(text)
        while let start = rest.range(of: "export ") {
            rest = rest[start.upperBound...]
            guard let equals = rest.firstIndex(of: "="), rest[rest.index(after: equals)...].first == "'" else { break }
            let key = String(rest[..<equals])
            var value = ""
            var cursor = rest.index(equals, offsetBy: 2)
            while cursor < rest.endIndex {
                if rest[cursor...].hasPrefix("'\\''") {
                    value.append("'")
                    cursor = rest.index(cursor, offsetBy: 4)
                } else if rest[cursor] == "'" {
                    break
                } else {
                    value.append(rest[cursor])
                    cursor = rest.index(after: cursor)
                }
            }
            pairs.append((key, value))
            rest = cursor < rest.endIndex ? rest[rest.index(after: cursor)...] : ""
        }
        return pairs
    }
}

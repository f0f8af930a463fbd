import Foundation
import Yams

/// Shell completion of `-e NAME`: the environment names of the tmeops.yml the command would read
/// (`--config` on the line being completed, else `$TMEOPS_CONFIG`, else `./tmeops.yml`). Read with
/// nothing interpolated and no secrets: completion must never run `secrets.command` or fail loudly.
public enum EnvironmentCompletion {
    @Sendable public static func candidates(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
        let environment = ProcessInfo.processInfo.environment
        var path = environment["TMEOPS_CONFIG"] ?? "tmeops.yml"
        for (position, word) in words.enumerated() {
            if word == "--config", position + 1 < words.count {
                path = words[position + 1]
            } else if word.hasPrefix("--config=") {
                path = String(word.dropFirst("--config=".count))
            }
        }
        let url = ConfigLoader.resolve(path, in: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        return names(inYAML: (try? String(contentsOf: url, encoding: .utf8)) ?? "").filter { $0.hasPrefix(prefix) }
    }

    /// The keys of `environments` in `text`, in file order; none when the text is not such YAML.
    public static func names(inYAML text: String) -> [String] {
        guard let root = try? Yams.compose(yaml: text), case .mapping(let mapping) = root,
            let environments = mapping.first(where: { $0.key.string == "environments" })?.value, case .mapping(let named) = environments
        else { return [] }
        return named.keys.compactMap(\.string)
    }
}

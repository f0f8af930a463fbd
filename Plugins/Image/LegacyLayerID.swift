import Foundation
import TMEOpsCrypto

/// The legacy (v1) folder names of `docker save`, recomputed so that a thin archive knows a layer
/// folder's position as soon as its `json` streams past, in whatever order the folders come.
///
/// Docker's exporter (moby `image/tarexport/save.go` with `image/v1.CreateID`) names the folder of layer
/// `i` with the SHA-256 of a JSON object whose keys are sorted: `container_config`, `created`,
/// `layer_id` (the chain ID of layers 0…i) and, above the base, `parent` (`sha256:` + the parent
/// folder). For every layer below the top one, the `container_config` and `created` values written in
/// the folder's own `json` are those same bytes, so hashing them with each candidate chain ID finds the
/// position, and a match proves it. The top layer's folder carries the image's whole config and is not
/// recomputed: it is found through its parent link, and it is never left out of a thin archive unless
/// the whole image is. A folder that matches nothing (another exporter) is simply sent.
enum LegacyLayerID {
    /// Chain IDs of each prefix of the layer list: `ChainID(L0) = DiffID(L0)`,
    /// `ChainID(L0…Ln) = sha256(ChainID(L0…Ln-1) + " " + DiffID(Ln))`.
    static func chainIDs(_ diffIDs: [String]) -> [String] {
        var chains: [String] = []
        for diffID in diffIDs {
            guard let below = chains.last else {
                chains.append(diffID)
                continue
            }
            chains.append("sha256:" + SHA256.hex(SHA256.digest(Data("\(below) \(diffID)".utf8))))
        }
        return chains
    }

    /// The layer index whose legacy ID is `folder`, given the folder's `json`; nil when none matches.
    static func position(ofFolder folder: String, json: Data, chainIDs: [String]) -> Int? {
        guard let fields = topLevelValues(json), let config = fields["container_config"], let created = fields["created"] else { return nil }
        var parent: String?
        if let raw = fields["parent"] {
            // A hex folder name in quotes: nothing to unescape.
            guard raw.count > 2, raw.first == UInt8(ascii: "\""), raw.last == UInt8(ascii: "\"") else { return nil }
            parent = String(decoding: raw.dropFirst().dropLast(), as: UTF8.self)
        }
        for (index, chainID) in chainIDs.enumerated() {
            var candidate = Data(#"{"container_config":"#.utf8)
            candidate.append(config)
            candidate.append(Data(#","created":"#.utf8))
            candidate.append(created)
            candidate.append(Data(#","layer_id":"\#(chainID)""#.utf8))
            if let parent { candidate.append(Data(#","parent":"sha256:\#(parent)""#.utf8)) }
            candidate.append(UInt8(ascii: "}"))
            if SHA256.hex(SHA256.digest(candidate)) == folder { return index }
        }
        return nil
    }

    /// The exact bytes of each top-level value of a JSON object, as written; nil when it is not one.
    ///
    /// Written here rather than taken from Foundation: its JSON parsers give values back re-serialised
    /// (keys reordered, escapes and numbers rewritten), and the legacy ID hashes the exporter's own bytes.
    static func topLevelValues(_ json: Data) -> [String: Data]? {
        let bytes = [UInt8](json)
        var index = 0
        func skipSpace() {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x0A || bytes[index] == 0x0D { index += 1 }
        }
        func skipString() -> Bool {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return false }
            index += 1
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\\"): index += 2
                case UInt8(ascii: "\""):
                    index += 1
                    return true
                default: index += 1
                }
            }
            return false
        }
        func skipValue() -> Bool {
            guard index < bytes.count else { return false }
            switch bytes[index] {
            case UInt8(ascii: "\""):
                return skipString()
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var depth = 0
                while index < bytes.count {
                    switch bytes[index] {
                    case UInt8(ascii: "\""):
                        guard skipString() else { return false }
                        continue
                    case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
                    default: break
                    }
                    index += 1
                    if depth == 0 { return true }
                }
                return false
            default:
                // A number, true, false or null: up to the next delimiter.
                let start = index
                while index < bytes.count, !",}] \t\r\n".utf8.contains(bytes[index]) { index += 1 }
                return index > start
            }
        }
        skipSpace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return nil }
        index += 1
        var values: [String: Data] = [:]
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") { return values }
        while true {
            skipSpace()
            let keyStart = index
            guard skipString() else { return nil }
            let key = String(decoding: bytes[(keyStart + 1)..<(index - 1)], as: UTF8.self)
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
            index += 1
            skipSpace()
            let valueStart = index
            guard skipValue() else { return nil }
            values[key] = Data(bytes[valueStart..<index])
            skipSpace()
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard bytes[index] == UInt8(ascii: "}") else { return nil }
            return values
        }
    }
}

import Foundation
import Yams

/// Shared state of one decode: where the text came from, how to interpolate, where secrets go.
final class DecodeContext: @unchecked Sendable {
    let file: String
    let interpolator: Interpolator
    let redactor: Redactor

    init(file: String, interpolator: Interpolator, redactor: Redactor) {
        self.file = file
        self.interpolator = interpolator
        self.redactor = redactor
    }

    func error(_ node: Node?, _ path: [CodingKey], _ message: String) -> ConfigError {
        ConfigError(file: file, line: node?.mark?.line, column: node?.mark?.column, keyPath: path.dottedPath, message: message)
    }
}

extension Array where Element == CodingKey {
    /// `environments.production.ssh.publish[0]`.
    var dottedPath: String {
        var text = ""
        for key in self {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return text
    }
}

struct AnyKey: CodingKey {
    let stringValue: String
    let intValue: Int?
    init(stringValue: String) { (self.stringValue, self.intValue) = (stringValue, nil) }
    init(intValue: Int) { (self.stringValue, self.intValue) = ("\(intValue)", intValue) }
}

/// A strict `Decoder` over a Yams node tree.
///
/// Written here rather than using `YAMLDecoder` because the config contract needs what Codable alone
/// does not give: unknown keys are errors (checked against a type's `CaseIterable` coding keys, with a
/// "did you mean"), every error carries the node's `line:column`, and scalars are interpolated and
/// checked for secrets as they are read.
struct NodeDecoder: Decoder {
    let node: Node
    let codingPath: [CodingKey]
    let context: DecodeContext
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .mapping(let mapping) = node else {
            throw context.error(node, codingPath, "expected a mapping of keys to values, found \(node.kindDescription)")
        }
        var entries: [String: (key: Node, value: Node)] = [:]
        var order: [String] = []
        let allowed = Self.allowedKeys(Key.self)
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let scalar) = keyNode else {
                throw context.error(keyNode, codingPath, "keys must be plain names, found \(keyNode.kindDescription)")
            }
            let name = scalar.string
            if entries[name] != nil {
                throw context.error(keyNode, codingPath + [AnyKey(stringValue: name)], "this key appears twice; keep one")
            }
            if Key(stringValue: name) == nil {
                var message = "unknown key '\(name)'"
                if let allowed, let guess = Suggestion.closest(to: name, in: allowed) {
                    message += "; did you mean '\(guess)'?"
                } else if let allowed {
                    message += "; expected one of: \(allowed.joined(separator: ", "))"
                }
                throw context.error(keyNode, codingPath + [AnyKey(stringValue: name)], message)
            }
            entries[name] = (keyNode, valueNode)
            order.append(name)
        }
        return KeyedDecodingContainer(KeyedContainer<Key>(mappingNode: node, entries: entries, order: order, codingPath: codingPath, context: context))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        guard case .sequence(let sequence) = node else {
            throw context.error(node, codingPath, "expected a list, found \(node.kindDescription)")
        }
        return UnkeyedContainer(nodes: Array(sequence), codingPath: codingPath, context: context)
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer {
        SingleValue(node: node, codingPath: codingPath, context: context)
    }

    static func allowedKeys<Key: CodingKey>(_ type: Key.Type) -> [String]? {
        guard let iterable = type as? any CaseIterable.Type else { return nil }
        return names(of: iterable)
    }

    private static func names<T: CaseIterable>(of type: T.Type) -> [String] {
        T.allCases.compactMap { ($0 as? CodingKey)?.stringValue }
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let mappingNode: Node
    let entries: [String: (key: Node, value: Node)]
    let order: [String]
    let codingPath: [CodingKey]
    let context: DecodeContext

    var allKeys: [Key] { order.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { entries[key.stringValue] != nil }

    private func valueNode(_ key: Key) throws -> Node {
        guard let entry = entries[key.stringValue] else {
            throw context.error(mappingNode, codingPath, "missing required key '\(key.stringValue)'")
        }
        return entry.value
    }

    private func decoder(for key: Key) throws -> NodeDecoder {
        NodeDecoder(node: try valueNode(key), codingPath: codingPath + [key], context: context)
    }

    func decodeNil(forKey key: Key) throws -> Bool { try valueNode(key).isNull }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let decoder = try decoder(for: key)
        if decoder.node.isNull, !(T.self is ExpressibleByNilLiteral.Type) {
            throw context.error(decoder.node, decoder.codingPath, "needs a value, found nothing")
        }
        return try T(from: decoder)
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let entry = entries[key.stringValue], !entry.value.isNull else { return nil }
        return try T(from: NodeDecoder(node: entry.value, codingPath: codingPath + [key], context: context))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try decoder(for: key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
        try decoder(for: key).unkeyedContainer()
    }

    func superDecoder() throws -> Decoder { NodeDecoder(node: mappingNode, codingPath: codingPath, context: context) }
    func superDecoder(forKey key: Key) throws -> Decoder { try decoder(for: key) }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let nodes: [Node]
    let codingPath: [CodingKey]
    let context: DecodeContext
    var currentIndex = 0

    init(nodes: [Node], codingPath: [CodingKey], context: DecodeContext) {
        (self.nodes, self.codingPath, self.context) = (nodes, codingPath, context)
    }

    var count: Int? { nodes.count }
    var isAtEnd: Bool { currentIndex >= nodes.count }

    private mutating func next() throws -> NodeDecoder {
        guard !isAtEnd else {
            throw context.error(nodes.last, codingPath, "the list has fewer entries than expected")
        }
        defer { currentIndex += 1 }
        return NodeDecoder(node: nodes[currentIndex], codingPath: codingPath + [AnyKey(intValue: currentIndex)], context: context)
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, nodes[currentIndex].isNull else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: next()) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer { try next().unkeyedContainer() }

    mutating func superDecoder() throws -> Decoder { try next() }
}

private struct SingleValue: SingleValueDecodingContainer {
    let node: Node
    let codingPath: [CodingKey]
    let context: DecodeContext

    func decodeNil() -> Bool { node.isNull }

    /// The scalar's text after `${VAR}` interpolation; secrets it reveals are handed to the redactor.
    private func text(expecting what: String) throws -> String {
        guard case .scalar(let scalar) = node else {
            throw context.error(node, codingPath, "expected \(what), found \(node.kindDescription)")
        }
        let expanded: (value: String, variables: [String])
        do {
            expanded = try context.interpolator.expand(scalar.string)
        } catch .unset(let name) {
            throw context.error(node, codingPath, "${\(name)} is not set; export \(name) or add it to .tmeops/secrets.env")
        } catch .malformed(let reference) {
            throw context.error(node, codingPath, "'\(reference)' is not a valid variable reference; write ${NAME} (or $$ for a literal $)")
        }
        let keyName = codingPath.last(where: { $0.intValue == nil })?.stringValue ?? ""
        if Redactor.isSecretName(keyName) || expanded.variables.contains(where: { context.interpolator.secrets[$0] != nil || Redactor.isSecretName($0) }) {
            // A value built from a secret variable is secret as a whole, and so is the variable itself.
            for name in expanded.variables {
                if let value = context.interpolator.secrets[name] ?? context.interpolator.environment[name] { context.redactor.add(value) }
            }
            if Redactor.isSecretName(keyName) { context.redactor.add(expanded.value) }
        }
        context.redactor.addURLPasswords(in: expanded.value)
        return expanded.value
    }

    private func mismatch(_ what: String, _ found: String) -> ConfigError {
        let shown = Redactor.isSecretName(codingPath.last?.stringValue ?? "") ? Redactor.mask : found
        return context.error(node, codingPath, "expected \(what), found '\(shown)'")
    }

    func decode(_ type: String.Type) throws -> String { try text(expecting: "a text value") }

    func decode(_ type: Bool.Type) throws -> Bool {
        let value = try text(expecting: "true or false")
        switch value.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw mismatch("true or false", value)
        }
    }

    func decode(_ type: Double.Type) throws -> Double {
        let value = try text(expecting: "a number")
        guard let number = Double(value) else { throw mismatch("a number", value) }
        return number
    }

    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }

    func decode<T: BinaryInteger & LosslessStringConvertible>(integer type: T.Type) throws -> T {
        let value = try text(expecting: "a whole number")
        guard let number = T(value.replacingOccurrences(of: "_", with: "")) else { throw mismatch("a whole number", value) }
        return number
    }

    func decode(_ type: Int.Type) throws -> Int { try decode(integer: type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try decode(integer: type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decode(integer: type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decode(integer: type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decode(integer: type) }
    func decode(_ type: UInt.Type) throws -> UInt { try decode(integer: type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decode(integer: type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decode(integer: type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decode(integer: type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decode(integer: type) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try T(from: NodeDecoder(node: node, codingPath: codingPath, context: context))
    }
}

extension Node {
    var isNull: Bool {
        if case .scalar(let scalar) = self, scalar.style == .plain || scalar.style == .any {
            return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
        }
        return false
    }

    var kindDescription: String {
        switch self {
        case .scalar(let scalar): return isNull ? "nothing" : "the text '\(scalar.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }
}

/// Helpers for section initialisers: reporting a bad value at its own `line:column`.
extension KeyedDecodingContainer {
    /// An error for a value that decoded but is not acceptable (a port of 0, an unknown policy).
    public func invalid(_ key: Key, _ message: String) -> Error {
        DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: message)
    }

    /// Decodes `key` when present, else returns `defaultValue`.
    public func decode<T: Decodable>(_ key: Key, default defaultValue: @autoclosure () -> T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? defaultValue()
    }
}

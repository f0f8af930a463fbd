import Foundation
import TMEOpsPostgres

/// How two schema snapshots differ, grouped by table as the runbook's checks read. `from` is the schema
/// being checked (production), `to` the one it should match (development).
public struct SchemaDiff: Codable, Sendable, Equatable {
    public struct Change: Codable, Sendable, Equatable, CustomStringConvertible {
        /// `missing` (in `to`, not in `from`), `extra` (in `from` only), or `differs`.
        public let kind: String
        /// column, constraint, index, trigger, partitioning, parents, table, view, function, enum, sequence,
        /// extension, type.
        public let object: String
        public let name: String
        /// What `from` has (for extra and differs).
        public let from: String?
        /// What `to` has (for missing and differs).
        public let to: String?

        public var description: String {
            switch kind {
            case "missing": return "missing \(object) \(name): \(to ?? "")"
            case "extra": return "extra \(object) \(name): \(from ?? "")"
            default: return "\(object) \(name) differs:\n      has:      \(from ?? "")\n      expected: \(to ?? "")"
            }
        }
    }

    public struct TableChanges: Codable, Sendable, Equatable {
        public let table: String
        public let changes: [Change]
    }

    public var tables: [TableChanges] = []
    /// Changes outside tables (views, functions, enums, sequences, extensions, whole tables).
    public var other: [Change] = []

    public var isEmpty: Bool { tables.isEmpty && other.isEmpty }
    public var count: Int { tables.map(\.changes.count).reduce(0, +) + other.count }

    /// The report `schema diff` prints under its headline: each table's changes under its name, then the rest.
    public func report(bold: (String) -> String = { $0 }) -> [String] {
        tables.flatMap { table in ["  \(bold(table.table))"] + table.changes.map { "    \($0)" } } + other.map { "  \($0)" }
    }

    /// Compares `from` against `to`.
    public init(from: SchemaSnapshot, to: SchemaSnapshot) {
        let fromTables = Dictionary(from.tables.map { ($0.qualifiedName, $0) }, uniquingKeysWith: { first, _ in first })
        let toTables = Dictionary(to.tables.map { ($0.qualifiedName, $0) }, uniquingKeysWith: { first, _ in first })
        for name in Set(fromTables.keys).union(toTables.keys).sorted() {
            switch (fromTables[name], toTables[name]) {
            case (nil, let wanted?):
                other.append(Change(kind: "missing", object: "table", name: name, from: nil, to: "\(wanted.columns.count) columns"))
            case (let present?, nil):
                other.append(Change(kind: "extra", object: "table", name: name, from: "\(present.columns.count) columns", to: nil))
            case (let present?, let wanted?):
                let changes = Self.compare(present, wanted)
                if !changes.isEmpty { tables.append(TableChanges(table: name, changes: changes)) }
            default: break
            }
        }
        other += Self.compareNamed(
            "view", from.views, to.views, key: { "\($0.schema).\($0.name)" },
            render: { ($0.materialized ? "materialized " : "") + SchemaText.normalized($0.definition) })
        other += Self.compareNamed(
            "function", from.functions, to.functions, key: { "\($0.schema).\($0.name)(\($0.identityArguments))" },
            render: { SchemaText.normalized($0.definition ?? $0.kind) })
        other += Self.compareNamed("enum", from.enums, to.enums, key: { "\($0.schema).\($0.name)" }, render: { $0.labels.joined(separator: ", ") })
        other += Self.compareNamed("sequence", from.sequences, to.sequences, key: { "\($0.schema).\($0.name)" }, render: { $0.type })
        other += Self.compareNamed("grant", from.grants ?? [], to.grants ?? [], key: \.key, render: { $0.grantable ? "with grant option" : "granted" })
        other += Self.compareNamed("comment", from.comments ?? [], to.comments ?? [], key: { "\($0.kind) \($0.identity)" }, render: \.text)
        other += Self.compareNamed(
            "collation", from.collations ?? [], to.collations ?? [], key: { "\($0.schema).\($0.name)" }, render: \.definition)
        other += Self.compareNamed("extension", from.extensions, to.extensions, key: \.name, render: \.version)
        other += Self.compareNamed(
            "type", from.types ?? [], to.types ?? [], key: { "\($0.schema).\($0.name)" },
            render: { type in
                ([type.kind, type.baseType ?? "", type.notNull == true ? "NOT NULL" : "", type.defaultExpression.map { "DEFAULT \($0)" } ?? ""]
                    + type.parts.map { "\($0.name) \(SchemaText.normalized($0.definition))" }).filter { !$0.isEmpty }.joined(separator: "; ")
            })
    }

    private static func compare(_ present: SchemaSnapshot.Table, _ wanted: SchemaSnapshot.Table) -> [Change] {
        var changes: [Change] = []
        let partitioning = { (table: SchemaSnapshot.Table) -> String in
            var parts: [String] = []
            if let parent = table.partitionOf { parts.append("partition of \(parent) \(table.partitionBound ?? "")") }
            if table.partitioned { parts.append("partitioned by \(table.partitionKey ?? "?")") }
            return parts.isEmpty ? "plain table" : parts.joined(separator: ", ")
        }
        if partitioning(present) != partitioning(wanted) {
            changes.append(Change(kind: "differs", object: "partitioning", name: present.qualifiedName, from: partitioning(present), to: partitioning(wanted)))
        }
        if (present.inherits ?? []) != (wanted.inherits ?? []) {
            let parents = { (table: SchemaSnapshot.Table) in (table.inherits ?? []).isEmpty ? "none" : (table.inherits ?? []).joined(separator: ", ") }
            changes.append(Change(kind: "differs", object: "parents", name: present.qualifiedName, from: parents(present), to: parents(wanted)))
        }
        changes += compareNamed("column", present.columns, wanted.columns, key: \.name, render: render)
        changes += compareNamed(
            "constraint", present.constraints, wanted.constraints, key: \.name,
            render: { SchemaText.normalized($0.definition) + ($0.validated ? "" : " NOT VALID") })
        changes += compareNamed(
            "index", present.indexes, wanted.indexes, key: \.name, render: { SchemaText.normalized($0.definition) + ($0.valid ? "" : " (INVALID)") })
        changes += compareNamed("trigger", present.triggers, wanted.triggers, key: \.name, render: { SchemaText.normalized($0.definition) })
        if present.rowSecurity != wanted.rowSecurity {
            changes.append(
                Change(
                    kind: "differs", object: "row security", name: present.qualifiedName, from: present.rowSecurity ?? "off", to: wanted.rowSecurity ?? "off"))
        }
        changes += compareNamed("policy", present.policies ?? [], wanted.policies ?? [], key: \.name, render: { SchemaText.normalized($0.definition) })
        return changes
    }

    private static func render(_ column: SchemaSnapshot.Column) -> String {
        var text = column.type
        if let collation = column.collation { text += " COLLATE \(collation)" }
        if !column.nullable { text += " NOT NULL" }
        if let expression = column.defaultExpression { text += " DEFAULT \(SchemaText.normalized(expression))" }
        if let identity = column.identity { text += " GENERATED \(identity.uppercased()) AS IDENTITY" }
        if let generated = column.generated { text += " GENERATED ALWAYS AS (\(SchemaText.normalized(generated))) STORED" }
        return text
    }

    private static func compareNamed<T>(_ object: String, _ present: [T], _ wanted: [T], key: (T) -> String, render: (T) -> String) -> [Change] {
        let has = Dictionary(present.map { (key($0), render($0)) }, uniquingKeysWith: { first, _ in first })
        let wants = Dictionary(wanted.map { (key($0), render($0)) }, uniquingKeysWith: { first, _ in first })
        var changes: [Change] = []
        for name in Set(has.keys).union(wants.keys).sorted() {
            switch (has[name], wants[name]) {
            case (nil, let expected?): changes.append(Change(kind: "missing", object: object, name: name, from: nil, to: expected))
            case (let actual?, nil): changes.append(Change(kind: "extra", object: object, name: name, from: actual, to: nil))
            case (let actual?, let expected?) where actual != expected:
                changes.append(Change(kind: "differs", object: object, name: name, from: actual, to: expected))
            default: break
            }
        }
        return changes
    }
}

/// Puts SQL the server printed into one form, so that equal definitions compare equal: whitespace
/// collapsed, `public.` qualification and casts of literals to text dropped.
enum SchemaText {
    static func normalized(_ sql: String) -> String {
        var text = sql.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        for cast in ["::text[]", "::text", "::character varying[]", "::character varying"] {
            text = text.replacingOccurrences(of: cast, with: "")
        }
        text = text.replacingOccurrences(of: "public.", with: "")
        text = text.replacingOccurrences(of: "( ", with: "(").replacingOccurrences(of: " )", with: ")")
        return text
    }
}

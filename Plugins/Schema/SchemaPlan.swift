import Foundation
import TMEOpsPostgres

/// What can go wrong when a statement of a plan runs on a live database.
public enum SchemaHazard: String, Codable, Sendable, CaseIterable, Comparable {
    case deletesData = "deletes-data"
    case mayFail = "may-fail"
    case accessExclusive = "access-exclusive-lock"
    case rewritesTable = "rewrites-table"
    case buildsIndex = "builds-index"
    case noTransaction = "no-transaction"

    public var explanation: String {
        switch self {
        case .deletesData: return "deletes data"
        case .mayFail: return "may fail on existing rows"
        case .accessExclusive: return "takes an ACCESS EXCLUSIVE lock"
        case .rewritesTable: return "rewrites the table"
        case .buildsIndex: return "builds an index"
        case .noTransaction: return "cannot run in a transaction"
        }
    }

    public static func < (a: SchemaHazard, b: SchemaHazard) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// SQL that makes schema A equal schema B, statement by statement, in dependency order, each with its
/// hazards and (filled in by the command against a live A) how many of A's rows would violate it.
public struct SchemaPlan: Codable, Sendable, Equatable {
    public struct Statement: Codable, Sendable, Equatable {
        public var sql: String
        /// What it does, in the diff's words ("public.applications: add column revision_number").
        public var summary: String
        public var hazards: [SchemaHazard]
        /// A query counting A's rows that would make the statement fail (new CHECK, NOT NULL, UNIQUE).
        public var violationQuery: String?
        /// Filled in by running `violationQuery` on A.
        public var violations: Int?

        public var transactional: Bool { !hazards.contains(.noTransaction) }
    }

    public var statements: [Statement] = []
    /// Differences no statement can make (printed as comments; the validation then fails on them).
    public var unsupported: [String] = []

    public var isEmpty: Bool { statements.isEmpty && unsupported.isEmpty }
    public var hazards: Set<SchemaHazard> { Set(statements.flatMap(\.hazards)) }

    /// The plan as a migration file: transactional statements grouped in BEGIN … COMMIT, the others
    /// alone; the file manages its own transactions, so it is marked `-- tmeops:no-transaction`.
    public func sql(header: [String]) -> String {
        var lines = header.map { "-- \($0)" }
        lines.append(MigrationFile.noTransactionMarker)
        lines.append("-- (this plan runs its own BEGIN … COMMIT groups: CREATE INDEX CONCURRENTLY cannot run in one)")
        for item in unsupported { lines.append("-- NOT PLANNED (do it by hand): \(item)") }
        var open = false
        for statement in statements {
            if statement.transactional && !open {
                lines.append("")
                lines.append("BEGIN;")
                open = true
            } else if !statement.transactional && open {
                lines.append("COMMIT;")
                open = false
            }
            if !statement.transactional { lines.append("") }
            var note = "-- \(statement.summary)"
            if !statement.hazards.isEmpty { note += "  [" + statement.hazards.sorted().map(\.explanation).joined(separator: "; ") + "]" }
            if let violations = statement.violations {
                note +=
                    violations == 0
                    ? "  (no existing row violates it)" : "  (\(violations) existing row\(violations == 1 ? "" : "s") violate it: fix them first)"
            }
            lines.append(note)
            lines.append(statement.sql + ";")
        }
        if open { lines.append("COMMIT;") }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Builds a ``SchemaPlan`` from two snapshots. Pure: no database is touched.
///
/// Order (dependencies first, the way pg_depend links them): schemas and extensions; drops of views,
/// triggers, foreign keys, other constraints and indexes that go or change; new enums and enum values;
/// sequences; functions; new tables; column changes; constraints (foreign keys last); indexes; views in
/// pg_depend order; triggers; sequence ownership; and last the drops that lose data.
public struct SchemaPlanner {
    let from: SchemaSnapshot
    let to: SchemaSnapshot
    private var plan = SchemaPlan()
    /// Whether the plan has turned `check_function_bodies` off yet (once, before its first routine).
    private var bodiesUnchecked = false

    public static func plan(from: SchemaSnapshot, to: SchemaSnapshot) -> SchemaPlan {
        var planner = SchemaPlanner(from: from, to: to)
        planner.build()
        return planner.plan
    }

    init(from: SchemaSnapshot, to: SchemaSnapshot) {
        self.from = from
        self.to = to
    }

    /// Double-quotes `name` unless it is a plain lower-case identifier; the result is what libpq's
    /// PQescapeIdentifier gives for names that need quoting (a pure planner has no connection to ask).
    static func quote(_ name: String) -> String {
        let plain = name.range(of: #"^[a-z_][a-z0-9_]*$"#, options: .regularExpression) != nil && !reserved.contains(name)
        return plain ? name : "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func qualified(_ schema: String, _ name: String) -> String { "\(quote(schema)).\(quote(name))" }

    static let reserved: Set<String> = [
        "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "both", "case", "cast", "check", "collate", "column",
        "constraint", "create", "current_catalog", "current_date", "current_role", "current_time", "current_timestamp", "current_user", "default",
        "deferrable", "desc", "distinct", "do", "else", "end", "except", "false", "fetch", "for", "foreign", "from", "grant", "group", "having", "in",
        "initially", "intersect", "into", "lateral", "leading", "limit", "localtime", "localtimestamp", "not", "null", "offset", "on", "only", "or",
        "order", "placing", "primary", "references", "returning", "select", "session_user", "some", "symmetric", "table", "then", "to", "trailing",
        "true", "union", "unique", "user", "using", "variadic", "when", "where", "window", "with", "authorization", "binary", "collation",
        "concurrently", "cross", "current_schema", "freeze", "full", "ilike", "inner", "is", "isnull", "join", "left", "like", "natural", "notnull",
        "outer", "overlaps", "right", "similar", "tablesample", "verbose",
    ]

    private mutating func add(_ sql: String, _ summary: String, _ hazards: [SchemaHazard] = [], violations: String? = nil) {
        plan.statements.append(SchemaPlan.Statement(sql: sql, summary: summary, hazards: hazards, violationQuery: violations))
    }

    /// A CREATE [OR REPLACE] FUNCTION/PROCEDURE, its body checked when it runs, not when created (as
    /// pg_dump does: it may read tables and views the plan makes later).
    private mutating func addRoutine(_ definition: String, _ summary: String) {
        if !bodiesUnchecked {
            add("SET check_function_bodies = false", "functions: bodies are checked when they run, not when created")
            bodiesUnchecked = true
        }
        add(definition.trimmingCharacters(in: .whitespacesAndNewlines), summary)
    }

    private static func byName<T>(_ items: [T], _ key: (T) -> String) -> [String: T] {
        Dictionary(items.map { (key($0), $0) }, uniquingKeysWith: { first, _ in first })
    }

    // MARK: - Building

    private mutating func build() {
        var replacedTables: Set<String> = []
        var recreatedFunctions: Set<String> = []
        let fromTables = Self.byName(from.tables, \.qualifiedName)
        let toTables = Self.byName(to.tables, \.qualifiedName)
        let fromViews = Self.byName(from.views) { "\($0.schema).\($0.name)" }
        let toViews = Self.byName(to.views) { "\($0.schema).\($0.name)" }

        for schema in to.schemas where !from.schemas.contains(schema) { add("CREATE SCHEMA \(Self.quote(schema))", "schema \(schema): create") }
        let fromExtensions = Self.byName(from.extensions, \.name)
        for ext in to.extensions {
            if let present = fromExtensions[ext.name] {
                if present.version != ext.version {
                    add(
                        "ALTER EXTENSION \(Self.quote(ext.name)) UPDATE TO \(Self.literal(ext.version))",
                        "extension \(ext.name): \(present.version) -> \(ext.version)")
                }
            } else {
                // At the version B has, not the server's default: a rebuild must be exact.
                add(
                    "CREATE EXTENSION IF NOT EXISTS \(Self.quote(ext.name))\(ext.schema.map { " SCHEMA \(Self.quote($0))" } ?? "") VERSION \(Self.literal(ext.version))",
                    "extension \(ext.name): create")
            }
        }

        // Collations columns and types will use; one that changes would have to be dropped with every
        // column using it, which is left to a migration.
        let fromCollations = Self.byName(from.collations ?? []) { "\($0.schema).\($0.name)" }
        for collation in to.collations ?? [] {
            let name = "\(collation.schema).\(collation.name)"
            guard let present = fromCollations[name] else {
                add("CREATE COLLATION \(Self.qualified(collation.schema, collation.name)) (\(collation.definition))", "collation \(name): create")
                continue
            }
            if present.definition != collation.definition {
                plan.unsupported.append(
                    "collation \(name) changes (\(present.definition) -> \(collation.definition)): recreate it and its columns in a migration")
            }
        }

        // Views that go or change are dropped before anything they read changes (dependents first), and
        // with them the views that read them and the views over a column whose type changes; all of
        // those that B has are created again after the tables.
        var changedViews = Set(fromViews.keys.filter { name in toViews[name].map { !Self.sameView($0, fromViews[name]!) } ?? true })
        for (name, present) in fromTables {
            guard let wanted = toTables[name] else { continue }
            let retyped = present.columns.contains { column in wanted.columns.contains { $0.name == column.name && $0.type != column.type } }
            guard retyped else { continue }
            let mentions = [name, Self.qualified(present.schema, present.name)]
            for view in from.views where mentions.contains(where: { view.definition.contains($0) }) { changedViews.insert("\(view.schema).\(view.name)") }
        }
        var grew = true
        while grew {
            grew = false
            for view in from.views where !changedViews.contains("\(view.schema).\(view.name)") {
                if (view.dependsOn ?? []).contains(where: changedViews.contains) {
                    changedViews.insert("\(view.schema).\(view.name)")
                    grew = true
                }
            }
        }
        // Functions whose definition reads a view that is dropped go first, and are created again
        // (from B) after the views.
        let toFunctionNames = Set(to.functions.map { "\($0.schema).\($0.name)(\($0.identityArguments))" })
        for function in from.functions {
            guard let definition = function.definition, changedViews.contains(where: { Self.mentions(definition, $0) }) else { continue }
            let name = "\(function.schema).\(function.name)(\(function.identityArguments))"
            recreatedFunctions.insert(name)
            add(
                "DROP \(Self.routineKeyword(function.kind)) \(Self.qualified(function.schema, function.name))(\(function.identityArguments))",
                "\(function.kind) \(name): \(toFunctionNames.contains(name) ? "drop to recreate after the views it reads" : "drop")", [.mayFail])
        }
        for name in Self.dependencyOrder(from.views.filter { changedViews.contains("\($0.schema).\($0.name)") }).reversed() {
            let view = fromViews[name]!
            add(
                "DROP \(view.materialized ? "MATERIALIZED VIEW" : "VIEW") \(Self.qualified(view.schema, view.name))",
                "view \(name): \(toViews[name] == nil ? "drop" : "drop to recreate")")
        }

        // Triggers, constraints and indexes that go or change, on tables that stay.
        var droppedConstraints: [(SchemaSnapshot.Table, SchemaSnapshot.Constraint, Bool)] = []
        for (name, present) in fromTables.sorted(by: { $0.key < $1.key }) {
            guard let wanted = toTables[name] else {
                // A table that goes loses its foreign keys first, so the tables can go in any order.
                for constraint in present.constraints where constraint.kind == "foreign key" && constraint.inherited != true {
                    droppedConstraints.append((present, constraint, false))
                }
                continue
            }
            let wantedTriggers = Self.byName(wanted.triggers, \.name)
            for trigger in present.triggers
            where trigger.inherited != true
                && wantedTriggers[trigger.name].map({ SchemaText.normalized($0.definition) != SchemaText.normalized(trigger.definition) }) ?? true
            {
                add(
                    "DROP TRIGGER \(Self.quote(trigger.name)) ON \(Self.qualified(present.schema, present.name))",
                    "\(name): \(wantedTriggers[trigger.name] == nil ? "drop" : "replace") trigger \(trigger.name)")
            }
            let wantedPolicies = Self.byName(wanted.policies ?? [], \.name)
            for policy in present.policies ?? []
            where wantedPolicies[policy.name].map({ SchemaText.normalized($0.definition) != SchemaText.normalized(policy.definition) }) ?? true {
                add(
                    "DROP POLICY \(Self.quote(policy.name)) ON \(Self.qualified(present.schema, present.name))",
                    "\(name): \(wantedPolicies[policy.name] == nil ? "drop" : "replace") policy \(policy.name)")
            }
            let wantedConstraints = Self.byName(wanted.constraints, \.name)
            for constraint in present.constraints
            where constraint.inherited != true && wantedConstraints[constraint.name].map({ !Self.sameConstraint($0, constraint) }) ?? true {
                droppedConstraints.append((present, constraint, wantedConstraints[constraint.name] != nil))
            }
        }
        for (table, constraint, replaced) in droppedConstraints.sorted(by: { ($0.1.kind == "foreign key" ? 0 : 1) < ($1.1.kind == "foreign key" ? 0 : 1) }) {
            add(
                "ALTER TABLE \(Self.qualified(table.schema, table.name)) DROP CONSTRAINT \(Self.quote(constraint.name))",
                "\(table.qualifiedName): \(replaced ? "replace" : "drop") constraint \(constraint.name)", [.accessExclusive])
        }
        for (name, present) in fromTables.sorted(by: { $0.key < $1.key }) {
            guard let wanted = toTables[name] else { continue }
            // Compared with all of B's, inherited included: a partition's own index that B has attached to
            // its parent's (or the reverse, on a detach) stays as it is.
            let wantedIndexes = Self.byName(Self.plainIndexes(wanted, inheritedToo: true), \.name)
            for index in Self.plainIndexes(present)
            where wantedIndexes[index.name].map({ SchemaText.normalized($0.definition) != SchemaText.normalized(index.definition) }) ?? true {
                add(
                    "DROP INDEX \(Self.qualified(present.schema, index.name))",
                    "\(name): \(wantedIndexes[index.name] == nil ? "drop" : "rebuild") index \(index.name)", [.accessExclusive])
            }
        }

        // Types, sequences and functions the tables and views will use.
        let fromEnums = Self.byName(from.enums) { "\($0.schema).\($0.name)" }
        for type in to.enums {
            let name = "\(type.schema).\(type.name)"
            guard let present = fromEnums[name] else {
                add(
                    "CREATE TYPE \(Self.qualified(type.schema, type.name)) AS ENUM (\(type.labels.map(Self.literal).joined(separator: ", ")))",
                    "enum \(name): create")
                continue
            }
            let removed = present.labels.filter { !type.labels.contains($0) }
            if !removed.isEmpty {
                plan.unsupported.append("enum \(name) drops label(s) \(removed.joined(separator: ", ")): PostgreSQL cannot remove enum values")
                continue
            }
            // In order, each placed after the label before it (there by then: old, or added just before);
            // a new first label goes before the next one, which is old or added right after it.
            var added: [String] = []
            for (position, label) in type.labels.enumerated() where !present.labels.contains(label) {
                let placement: String
                if position > 0 {
                    placement = " AFTER \(Self.literal(type.labels[position - 1]))"
                } else if let next = type.labels.dropFirst().first(where: { present.labels.contains($0) || added.contains($0) }) {
                    placement = " BEFORE \(Self.literal(next))"
                } else {
                    placement = ""
                }
                added.append(label)
                add(
                    "ALTER TYPE \(Self.qualified(type.schema, type.name)) ADD VALUE IF NOT EXISTS \(Self.literal(label))\(placement)",
                    "enum \(name): add value \(label)", [.noTransaction])
            }
        }
        planTypes()
        let fromSequences = Self.byName(from.sequences) { "\($0.schema).\($0.name)" }
        for sequence in to.sequences where !isIdentitySequence(sequence, in: to) {
            let name = "\(sequence.schema).\(sequence.name)"
            if let present = fromSequences[name] {
                if present.type != sequence.type {
                    add(
                        "ALTER SEQUENCE \(Self.qualified(sequence.schema, sequence.name)) AS \(sequence.type)",
                        "sequence \(name): \(present.type) -> \(sequence.type)")
                }
            } else {
                add("CREATE SEQUENCE \(Self.qualified(sequence.schema, sequence.name)) AS \(sequence.type)", "sequence \(name): create")
            }
        }
        // Functions: bodies are not checked against tables and views that come later in the plan (as
        // pg_dump does); a BEGIN ATOMIC body is parsed when it is created, so it comes after the views.
        let fromFunctions = Self.byName(from.functions) { "\($0.schema).\($0.name)(\($0.identityArguments))" }
        var atomicFunctions: [(String, String, Bool)] = []
        for function in to.functions {
            let name = "\(function.schema).\(function.name)(\(function.identityArguments))"
            guard let definition = function.definition else {
                if fromFunctions[name] == nil { plan.unsupported.append("\(function.kind) \(name): create it by hand (no definition to copy)") }
                continue
            }
            if recreatedFunctions.contains(name) {
                atomicFunctions.append((definition, name, false))
                continue
            }
            let present = fromFunctions[name]
            guard present == nil || SchemaText.normalized(present?.definition ?? "") != SchemaText.normalized(definition) else { continue }
            if let old = present?.definition, Self.returnsClause(old) != Self.returnsClause(definition) {
                // CREATE OR REPLACE cannot change what a function returns.
                add(
                    "DROP \(Self.routineKeyword(function.kind)) \(Self.qualified(function.schema, function.name))(\(function.identityArguments))",
                    "\(function.kind) \(name): drop to change what it returns", [.mayFail])
            }
            let returnsAView =
                Self.returnsClause(definition).map { clause in
                    to.views.contains { clause.contains("\($0.schema).\($0.name)") || clause.contains(" \($0.name)") }
                } ?? false
            if returnsAView || SchemaText.normalized(definition).lowercased().contains("begin atomic") {
                atomicFunctions.append((definition, name, present == nil))
                continue
            }
            addRoutine(definition, "\(function.kind) \(name): \(present == nil ? "create" : "replace")")
        }

        // New tables (parents before their partitions and children), then the columns of tables that
        // stay, then partitions attached or detached and parents changed.
        for wanted in Self.parentsFirst(to.tables.filter { fromTables[$0.qualifiedName] == nil }) {
            add(createTable(wanted), "\(wanted.qualifiedName): create \(wanted.partitionOf == nil ? "table" : "partition of \(wanted.partitionOf!)")")
        }
        for (name, wanted) in toTables.sorted(by: { $0.key < $1.key }) {
            guard let present = fromTables[name] else { continue }
            planColumns(present, wanted)
        }
        for (name, wanted) in toTables.sorted(by: { $0.key < $1.key }) {
            guard let present = fromTables[name] else { continue }
            planParents(present, wanted)
        }

        // Constraints (foreign keys last: they need the keys they reference), then indexes.
        var newConstraints: [(SchemaSnapshot.Table, SchemaSnapshot.Constraint, Bool)] = []
        for wanted in to.tables {
            let present = fromTables[wanted.qualifiedName]
            let presentConstraints = Self.byName(present?.constraints ?? [], \.name)
            for constraint in wanted.constraints
            where constraint.inherited != true && presentConstraints[constraint.name].map({ !Self.sameConstraint($0, constraint) }) ?? true {
                newConstraints.append((wanted, constraint, present != nil))
            }
        }
        for (table, constraint, existing) in newConstraints.sorted(by: { ($0.1.kind == "foreign key" ? 1 : 0) < ($1.1.kind == "foreign key" ? 1 : 0) }) {
            let target = Self.qualified(table.schema, table.name)
            var hazards: [SchemaHazard] = []
            var check: String?
            if existing && constraint.validated {
                hazards = constraint.kind == "foreign key" ? [.mayFail] : [.mayFail, .accessExclusive]
                if constraint.kind == "primary key" || constraint.kind == "unique" { hazards.append(.buildsIndex) }
                // The rows of today cannot be counted against a column this same plan adds (the count
                // would fail on the missing column); the plan's validation on a scratch rebuild covers it.
                let added = Self.addedColumns(from: fromTables[table.qualifiedName], to: table)
                if !Self.mentions(constraint.definition, anyOf: added) {
                    check = Self.violationQuery(table: target, constraint: constraint)
                }
            }
            add(
                "ALTER TABLE \(target) ADD CONSTRAINT \(Self.quote(constraint.name)) \(constraint.definition)",
                "\(table.qualifiedName): add \(constraint.kind) \(constraint.name)", hazards, violations: check)
        }
        for wanted in to.tables {
            let present = fromTables[wanted.qualifiedName]
            let presentIndexes = Self.byName(present.map { Self.plainIndexes($0, inheritedToo: true) } ?? [], \.name)
            for var index in Self.plainIndexes(wanted)
            where presentIndexes[index.name].map({ SchemaText.normalized($0.definition) != SchemaText.normalized(index.definition) }) ?? true {
                // A partitioned table's index prints as `ON ONLY` (the parent alone, invalid until each
                // partition's is attached); made plainly, it is built on every partition and attached.
                if wanted.partitioned, let only = index.definition.range(of: " ON ONLY ") {
                    index.definition.replaceSubrange(only, with: " ON ")
                }
                if present == nil {
                    add(index.definition, "\(wanted.qualifiedName): create index \(index.name) (new, empty table)")
                } else if wanted.partitioned {
                    // A partitioned table's index cannot be built CONCURRENTLY: it is built on every
                    // partition at once, holding off writes meanwhile.
                    add(index.definition, "\(wanted.qualifiedName): create index \(index.name) on every partition", [.buildsIndex])
                } else {
                    // CONCURRENTLY keeps writes going while the index builds; it must run alone.
                    let concurrent = index.definition.replacingOccurrences(
                        of: "INDEX ", with: "INDEX CONCURRENTLY ", options: [], range: index.definition.range(of: "INDEX "))
                    add(concurrent, "\(wanted.qualifiedName): create index \(index.name)", [.buildsIndex, .noTransaction])
                }
            }
        }

        // Views in dependency order, triggers, then ownership of sequences by their columns. A table that
        // a view of the same name replaces goes first (its data with it, as the plan's hazard says).
        for view in to.views where toTables["\(view.schema).\(view.name)"] == nil {
            guard let table = fromTables["\(view.schema).\(view.name)"] else { continue }
            replacedTables.insert(table.qualifiedName)
            add(
                "DROP TABLE \(Self.qualified(table.schema, table.name))", "\(table.qualifiedName): drop table (a view takes its name)",
                [.deletesData, .accessExclusive])
        }
        for name in Self.dependencyOrder(to.views) where fromViews[name] == nil || changedViews.contains(name) {
            let view = toViews[name]!
            let body = view.definition.trimmingCharacters(in: .whitespacesAndNewlines).trimmingCharacters(in: CharacterSet(charactersIn: ";"))
            add(
                "CREATE \(view.materialized ? "MATERIALIZED VIEW" : "VIEW") \(Self.qualified(view.schema, view.name)) AS\n\(body)",
                "view \(name): create")
        }
        for (definition, name, isNew) in atomicFunctions {
            addRoutine(definition, "function \(name): \(isNew ? "create" : "replace")")
        }
        for wanted in to.tables {
            let presentTriggers = Self.byName(fromTables[wanted.qualifiedName]?.triggers ?? [], \.name)
            for trigger in wanted.triggers
            where trigger.inherited != true
                && presentTriggers[trigger.name].map({ SchemaText.normalized($0.definition) != SchemaText.normalized(trigger.definition) }) ?? true
            {
                add(trigger.definition, "\(wanted.qualifiedName): create trigger \(trigger.name)")
            }
        }
        // Views of B made again by this plan lost their grants and comments with them.
        let recreatedViews = changedViews.intersection(toViews.keys)
        planGrants(recreatedViews: recreatedViews, recreatedFunctions: recreatedFunctions)
        planComments(recreatedViews: recreatedViews, recreatedFunctions: recreatedFunctions)

        // Row-level security: policies, then the switch (so a table is never on with its policies missing).
        for wanted in to.tables {
            let present = fromTables[wanted.qualifiedName]
            let target = Self.qualified(wanted.schema, wanted.name)
            let presentPolicies = Self.byName(present?.policies ?? [], \.name)
            for policy in wanted.policies ?? []
            where presentPolicies[policy.name].map({ SchemaText.normalized($0.definition) != SchemaText.normalized(policy.definition) }) ?? true {
                add("CREATE POLICY \(Self.quote(policy.name)) ON \(target) \(policy.definition)", "\(wanted.qualifiedName): create policy \(policy.name)")
            }
            let had = present?.rowSecurity
            guard had != wanted.rowSecurity else { continue }
            if (had == nil) != (wanted.rowSecurity == nil) {
                add(
                    "ALTER TABLE \(target) \(wanted.rowSecurity == nil ? "DISABLE" : "ENABLE") ROW LEVEL SECURITY",
                    "\(wanted.qualifiedName): row-level security \(wanted.rowSecurity == nil ? "off" : "on")", [.accessExclusive])
            }
            if (had == "forced") != (wanted.rowSecurity == "forced") {
                add(
                    "ALTER TABLE \(target) \(wanted.rowSecurity == "forced" ? "FORCE" : "NO FORCE") ROW LEVEL SECURITY",
                    "\(wanted.qualifiedName): row-level security \(wanted.rowSecurity == "forced" ? "forced on the owner too" : "not forced on the owner")",
                    [.accessExclusive])
            }
        }
        for sequence in to.sequences where !isIdentitySequence(sequence, in: to) {
            guard let owner = sequence.ownedBy, let dot = owner.lastIndex(of: ".") else { continue }
            let name = "\(sequence.schema).\(sequence.name)"
            if fromSequences[name]?.ownedBy == owner { continue }
            let table = String(owner[..<dot])
            let column = String(owner[owner.index(after: dot)...])
            guard let ownerTable = to.tables.first(where: { $0.name == table && $0.columns.contains { $0.name == column } }) else { continue }
            add(
                "ALTER SEQUENCE \(Self.qualified(sequence.schema, sequence.name)) OWNED BY \(Self.qualified(ownerTable.schema, table)).\(Self.quote(column))",
                "sequence \(name): owned by \(owner)")
        }

        // Last, what loses data: columns and tables that B does not have, then what they used.
        for (name, present) in fromTables.sorted(by: { $0.key < $1.key }) {
            guard let wanted = toTables[name] else { continue }
            for column in present.columns where column.inherited != true && !wanted.columns.contains(where: { $0.name == column.name }) {
                add(
                    "ALTER TABLE \(Self.qualified(present.schema, present.name)) DROP COLUMN \(Self.quote(column.name))",
                    "\(name): drop column \(column.name) (\(column.type))", [.deletesData, .accessExclusive])
            }
        }
        let droppedTables = Set(from.tables.map(\.qualifiedName).filter { toTables[$0] == nil })
        for present in Self.parentsFirst(from.tables).reversed()
        where droppedTables.contains(present.qualifiedName) && !replacedTables.contains(present.qualifiedName) {
            // A partition goes with its partitioned parent; children by inheritance go before theirs.
            if let parent = present.partitionOf, droppedTables.contains(parent) { continue }
            add("DROP TABLE \(Self.qualified(present.schema, present.name))", "\(present.qualifiedName): drop table", [.deletesData, .accessExclusive])
        }
        let toSequences = Self.byName(to.sequences) { "\($0.schema).\($0.name)" }
        for sequence in from.sequences where toSequences["\(sequence.schema).\(sequence.name)"] == nil && !isIdentitySequence(sequence, in: from) {
            // A sequence owned by a dropped column or table goes with it.
            if let owner = sequence.ownedBy, !ownerSurvives(owner, schema: sequence.schema) { continue }
            add("DROP SEQUENCE \(Self.qualified(sequence.schema, sequence.name))", "sequence \(sequence.schema).\(sequence.name): drop", [.deletesData])
        }
        let toFunctions = Self.byName(to.functions) { "\($0.schema).\($0.name)(\($0.identityArguments))" }
        for function in from.functions
        where toFunctions["\(function.schema).\(function.name)(\(function.identityArguments))"] == nil
            && !recreatedFunctions.contains("\(function.schema).\(function.name)(\(function.identityArguments))")
        {
            add(
                "DROP \(Self.routineKeyword(function.kind)) \(Self.qualified(function.schema, function.name))(\(function.identityArguments))",
                "\(function.kind) \(function.schema).\(function.name)(\(function.identityArguments)): drop")
        }
        let toTypes = Self.byName(to.types ?? []) { "\($0.schema).\($0.name)" }
        for type in (from.types ?? []).reversed() where toTypes["\(type.schema).\(type.name)"] == nil {
            add(
                "DROP \(type.kind == "domain" ? "DOMAIN" : "TYPE") \(Self.qualified(type.schema, type.name))", "\(type.kind) \(type.schema).\(type.name): drop")
        }
        let toCollations = Self.byName(to.collations ?? []) { "\($0.schema).\($0.name)" }
        for collation in from.collations ?? [] where toCollations["\(collation.schema).\(collation.name)"] == nil {
            add("DROP COLLATION \(Self.qualified(collation.schema, collation.name))", "collation \(collation.schema).\(collation.name): drop")
        }
        let toEnums = Self.byName(to.enums) { "\($0.schema).\($0.name)" }
        for type in from.enums where toEnums["\(type.schema).\(type.name)"] == nil {
            add("DROP TYPE \(Self.qualified(type.schema, type.name))", "enum \(type.schema).\(type.name): drop")
        }
        let toExtensions = Self.byName(to.extensions, \.name)
        for ext in from.extensions where toExtensions[ext.name] == nil {
            add("DROP EXTENSION \(Self.quote(ext.name))", "extension \(ext.name): drop", [.deletesData])
        }
        for schema in from.schemas where !to.schemas.contains(schema) {
            add("DROP SCHEMA \(Self.quote(schema))", "schema \(schema): drop", [.mayFail])
        }
    }

    /// `CREATE TABLE` for a table B has and A lacks: a partition is made `PARTITION OF` its parent (its
    /// columns are the parent's), a child by inheritance lists only its own columns.
    func createTable(_ table: SchemaSnapshot.Table) -> String {
        let target = Self.qualified(table.schema, table.name)
        let partitionBy = table.partitioned ? " PARTITION BY \(table.partitionKey ?? "")" : ""
        if let parent = table.partitionOf {
            return "CREATE TABLE \(target) PARTITION OF \(qualifiedTable(parent)) \(table.partitionBound ?? "DEFAULT")\(partitionBy)"
        }
        let columns = table.columns.filter { $0.inherited != true }.map { "    \(Self.columnDefinition($0))" }.joined(separator: ",\n")
        let inherits = (table.inherits ?? []).isEmpty ? "" : " INHERITS (\((table.inherits ?? []).map(qualifiedTable).joined(separator: ", ")))"
        return "CREATE TABLE \(target) (\n\(columns)\n)\(inherits)\(partitionBy)"
    }

    /// A table named `schema.name` in a snapshot, quoted.
    func qualifiedTable(_ name: String) -> String {
        if let table = (to.tables + from.tables).first(where: { $0.qualifiedName == name }) { return Self.qualified(table.schema, table.name) }
        let dot = name.firstIndex(of: ".") ?? name.startIndex
        return Self.qualified(String(name[..<dot]), String(name[name.index(after: dot)...]))
    }

    /// Tables ordered so every parent (partitioned or by inheritance) comes before its partitions and children.
    static func parentsFirst(_ tables: [SchemaSnapshot.Table]) -> [SchemaSnapshot.Table] {
        let byName = byName(tables, \.qualifiedName)
        var depth: [String: Int] = [:]
        func depthOf(_ table: SchemaSnapshot.Table, _ seen: Set<String>) -> Int {
            if let known = depth[table.qualifiedName] { return known }
            let parents = ([table.partitionOf].compactMap { $0 } + (table.inherits ?? [])).compactMap { byName[$0] }
            let value = parents.filter { !seen.contains($0.qualifiedName) }.map { depthOf($0, seen.union([table.qualifiedName])) + 1 }.max() ?? 0
            depth[table.qualifiedName] = value
            return value
        }
        return tables.map { ($0, depthOf($0, [])) }.sorted { ($0.1, $0.0.qualifiedName) < ($1.1, $1.0.qualifiedName) }.map(\.0)
    }

    /// A table that stays but changes its partition parent or bound, or its parents by inheritance.
    /// Making a plain table partitioned (or the reverse, or a new key) is a rebuild left to a migration.
    private mutating func planParents(_ present: SchemaSnapshot.Table, _ wanted: SchemaSnapshot.Table) {
        let target = Self.qualified(wanted.schema, wanted.name)
        if present.partitioned != wanted.partitioned || present.partitionKey != wanted.partitionKey {
            plan.unsupported.append(
                "\(wanted.qualifiedName): partitioning changes (\(present.partitionKey ?? "not partitioned") -> \(wanted.partitionKey ?? "not partitioned")): "
                    + "PostgreSQL cannot change it in place; create the new table and move the rows in a migration")
        }
        if present.partitionOf != wanted.partitionOf || present.partitionBound != wanted.partitionBound {
            if let parent = present.partitionOf {
                add(
                    "ALTER TABLE \(qualifiedTable(parent)) DETACH PARTITION \(target)", "\(wanted.qualifiedName): detach from \(parent)",
                    [.accessExclusive])
            }
            if let parent = wanted.partitionOf {
                add(
                    "ALTER TABLE \(qualifiedTable(parent)) ATTACH PARTITION \(target) \(wanted.partitionBound ?? "DEFAULT")",
                    "\(wanted.qualifiedName): attach to \(parent) \(wanted.partitionBound ?? "DEFAULT")", [.mayFail, .accessExclusive])
            }
        }
        let had = present.inherits ?? []
        let has = wanted.inherits ?? []
        for parent in had where !has.contains(parent) {
            add("ALTER TABLE \(target) NO INHERIT \(qualifiedTable(parent))", "\(wanted.qualifiedName): stop inheriting from \(parent)", [.accessExclusive])
        }
        for parent in has where !had.contains(parent) {
            add(
                "ALTER TABLE \(target) INHERIT \(qualifiedTable(parent))", "\(wanted.qualifiedName): inherit from \(parent)", [.mayFail, .accessExclusive])
        }
    }

    /// COMMENT ON for comments B has that A lacks or words otherwise, and for comments of views and
    /// functions this plan drops and creates again (their comments go with them). A comment B lacks is
    /// removed when its object stays; an object that goes takes its comment along.
    private mutating func planComments(recreatedViews: Set<String>, recreatedFunctions: Set<String>) {
        let keywords: [String: String] = [
            "table": "TABLE", "partitioned table": "TABLE", "view": "VIEW", "materialized view": "MATERIALIZED VIEW", "index": "INDEX",
            "partitioned index": "INDEX", "sequence": "SEQUENCE", "table column": "COLUMN", "view column": "COLUMN",
            "materialized view column": "COLUMN", "function": "FUNCTION", "procedure": "PROCEDURE", "aggregate": "AGGREGATE", "type": "TYPE",
            "composite type": "TYPE", "domain": "DOMAIN", "schema": "SCHEMA", "table constraint": "CONSTRAINT", "domain constraint": "CONSTRAINT",
            "trigger": "TRIGGER", "policy": "POLICY", "extension": "EXTENSION", "collation": "COLLATION",
        ]
        func target(_ comment: SchemaSnapshot.Comment) -> String? {
            guard let keyword = keywords[comment.kind] else { return nil }
            // A domain constraint is `name on schema.domain`; COMMENT ON says ON DOMAIN.
            let identity =
                comment.kind == "domain constraint" ? comment.identity.replacingOccurrences(of: " on ", with: " ON DOMAIN ") : comment.identity
            return "\(keyword) \(identity)"
        }
        // Views and functions dropped and created again, by the identity pg_identify_object gives them.
        let recreated = Set(
            recreatedViews.compactMap { name in to.views.first { "\($0.schema).\($0.name)" == name }.map { Self.qualified($0.schema, $0.name) } })
        let recreatedRoutines = Set(recreatedFunctions.compactMap { name in name.split(separator: "(").first.map(String.init) })
        func isRecreated(_ comment: SchemaSnapshot.Comment) -> Bool {
            switch comment.kind {
            case "view", "materialized view": return recreated.contains(comment.identity)
            case "view column", "materialized view column": return recreated.contains { comment.identity.hasPrefix($0 + ".") }
            case "function", "procedure":
                return recreatedRoutines.contains { comment.identity.replacingOccurrences(of: "\"", with: "").hasPrefix($0 + "(") }
            default: return false
            }
        }
        let had = Self.byName(from.comments ?? []) { "\($0.kind) \($0.identity)" }
        let has = Self.byName(to.comments ?? []) { "\($0.kind) \($0.identity)" }
        for comment in to.comments ?? [] where had["\(comment.kind) \(comment.identity)"]?.text != comment.text || isRecreated(comment) {
            guard let object = target(comment) else {
                plan.unsupported.append("comment on \(comment.kind) \(comment.identity): set it by hand")
                continue
            }
            add("COMMENT ON \(object) IS \(Self.literal(comment.text))", "\(comment.kind) \(comment.identity): comment")
        }
        for comment in from.comments ?? [] where has["\(comment.kind) \(comment.identity)"] == nil && stays(comment) {
            guard let object = target(comment) else { continue }
            add("COMMENT ON \(object) IS NULL", "\(comment.kind) \(comment.identity): comment removed")
        }
    }

    /// GRANT what B grants and A does not (or what a view or function made again lost), REVOKE what A
    /// grants and B does not on objects that stay. Roles are the server's: a role B names must exist on A's.
    private mutating func planGrants(recreatedViews: Set<String>, recreatedFunctions: Set<String>) {
        let remade = Set(
            to.views.filter { recreatedViews.contains("\($0.schema).\($0.name)") }.map { "TABLE \(Self.qualified($0.schema, $0.name))" }
                + to.functions.filter { recreatedFunctions.contains("\($0.schema).\($0.name)(\($0.identityArguments))") }.map {
                    "\($0.kind == "procedure" ? "PROCEDURE" : "FUNCTION") \(Self.qualified($0.schema, $0.name))(\($0.identityArguments))"
                })
        // What exists in B, by the names grants use; a view B changes is made again, so A's grants on it are gone.
        let changedViewNames = Set(
            from.views.filter { view in !to.views.contains(view) }.map { "TABLE \(Self.qualified($0.schema, $0.name))" })
        let objects = Set(
            to.tables.map { "TABLE \(Self.qualified($0.schema, $0.name))" } + to.views.map { "TABLE \(Self.qualified($0.schema, $0.name))" }
                + to.sequences.map { "SEQUENCE \(Self.qualified($0.schema, $0.name))" } + to.schemas.map { "SCHEMA \(Self.quote($0))" }
                + to.functions.map { "\($0.kind == "procedure" ? "PROCEDURE" : "FUNCTION") \(Self.qualified($0.schema, $0.name))(\($0.identityArguments))" })
        let had = Self.byName(from.grants ?? [], \.key)
        let has = Self.byName(to.grants ?? [], \.key)
        // Revokes first: revoking a table's UPDATE also takes back UPDATE on its columns.
        for grant in from.grants ?? []
        where has[grant.key] == nil && objects.contains(grant.object) && !remade.contains(grant.object) && !changedViewNames.contains(grant.object) {
            add("REVOKE \(grant.privilege) ON \(grant.object) FROM \(grant.grantee)", "\(grant.object): revoke \(grant.privilege) from \(grant.grantee)")
        }
        for grant in to.grants ?? [] where had[grant.key] != grant || remade.contains(grant.object) {
            add(
                "GRANT \(grant.privilege) ON \(grant.object) TO \(grant.grantee)\(grant.grantable ? " WITH GRANT OPTION" : "")",
                "\(grant.object): grant \(grant.privilege) to \(grant.grantee)")
        }
    }

    /// Whether the object a comment of A is on is still there, unchanged, at the end of the plan (so its
    /// comment must be removed by hand); objects that go or are made again lose their comments anyway.
    private func stays(_ comment: SchemaSnapshot.Comment) -> Bool {
        let tables = Dictionary(
            (to.tables).map { (Self.qualified($0.schema, $0.name), $0) }, uniquingKeysWith: { first, _ in first })
        let fromTables = Dictionary(
            (from.tables).map { (Self.qualified($0.schema, $0.name), $0) }, uniquingKeysWith: { first, _ in first })
        let views = Set(to.views.map { Self.qualified($0.schema, $0.name) })
        switch comment.kind {
        case "table", "partitioned table": return tables[comment.identity] != nil
        case "table column":
            return tables.contains { name, table in
                comment.identity.hasPrefix(name + ".") && table.columns.contains { Self.quote($0.name) == comment.identity.dropFirst(name.count + 1) }
            }
        case "view", "materialized view":
            // A view that B changes is made again without the comment.
            return views.contains(comment.identity)
                && from.views.contains { Self.qualified($0.schema, $0.name) == comment.identity && to.views.contains($0) }
        case "index", "partitioned index":
            return tables.values.contains { table in
                table.indexes.contains { index in
                    Self.qualified(table.schema, index.name) == comment.identity
                        && fromTables[Self.qualified(table.schema, table.name)]?.indexes.contains { $0.name == index.name && $0.definition == index.definition }
                            == true
                }
            }
        case "table constraint":
            return tables.contains { name, table in
                table.constraints.contains { constraint in
                    "\(Self.quote(constraint.name)) on \(name)" == comment.identity
                        && fromTables[name]?.constraints.contains { Self.sameConstraint($0, constraint) && $0.name == constraint.name } == true
                }
            }
        case "sequence": return to.sequences.contains { Self.qualified($0.schema, $0.name) == comment.identity }
        case "type", "composite type", "domain":
            return (to.types ?? []).contains { Self.qualified($0.schema, $0.name) == comment.identity }
                || to.enums.contains { Self.qualified($0.schema, $0.name) == comment.identity }
        case "schema": return to.schemas.contains { Self.quote($0) == comment.identity }
        case "collation": return (to.collations ?? []).contains { Self.qualified($0.schema, $0.name) == comment.identity }
        case "extension": return to.extensions.contains { Self.quote($0.name) == comment.identity }
        default: return false
        }
    }

    /// Domains (first: composite types may use them) and composite types that B adds or changes.
    private mutating func planTypes() {
        let fromTypes = Self.byName(from.types ?? []) { "\($0.schema).\($0.name)" }
        let wanted = (to.types ?? []).filter { $0.kind == "domain" } + (to.types ?? []).filter { $0.kind != "domain" }
        for type in wanted {
            let name = "\(type.schema).\(type.name)"
            let target = Self.qualified(type.schema, type.name)
            guard let present = fromTypes[name] else {
                add(Self.createType(type), "\(type.kind) \(name): create")
                continue
            }
            if present == type { continue }
            guard present.kind == type.kind, present.baseType == type.baseType else {
                plan.unsupported.append(
                    "\(type.kind) \(name): its kind or base type changes (\(present.baseType ?? present.kind) -> \(type.baseType ?? type.kind))")
                continue
            }
            let had = Self.byName(present.parts, \.name)
            let has = Self.byName(type.parts, \.name)
            if type.kind == "domain" {
                for part in present.parts where has[part.name].map({ SchemaText.normalized($0.definition) != SchemaText.normalized(part.definition) }) ?? true {
                    add("ALTER DOMAIN \(target) DROP CONSTRAINT \(Self.quote(part.name))", "domain \(name): drop constraint \(part.name)")
                }
                if present.defaultExpression != type.defaultExpression {
                    add(
                        "ALTER DOMAIN \(target) \(type.defaultExpression.map { "SET DEFAULT \($0)" } ?? "DROP DEFAULT")",
                        "domain \(name): default \(type.defaultExpression ?? "none")")
                }
                if present.notNull != type.notNull {
                    add(
                        "ALTER DOMAIN \(target) \(type.notNull == true ? "SET" : "DROP") NOT NULL", "domain \(name): not null \(type.notNull == true)",
                        [.mayFail])
                }
                for part in type.parts where had[part.name].map({ SchemaText.normalized($0.definition) != SchemaText.normalized(part.definition) }) ?? true {
                    add(
                        "ALTER DOMAIN \(target) ADD CONSTRAINT \(Self.quote(part.name)) \(part.definition)", "domain \(name): add constraint \(part.name)",
                        [.mayFail])
                }
            } else {
                for part in present.parts where has[part.name] == nil {
                    add("ALTER TYPE \(target) DROP ATTRIBUTE \(Self.quote(part.name))", "type \(name): drop attribute \(part.name)", [.deletesData])
                }
                for part in type.parts {
                    if let old = had[part.name] {
                        if old.definition != part.definition {
                            add(
                                "ALTER TYPE \(target) ALTER ATTRIBUTE \(Self.quote(part.name)) TYPE \(part.definition)",
                                "type \(name): attribute \(part.name) \(part.definition)", [.mayFail])
                        }
                    } else {
                        add("ALTER TYPE \(target) ADD ATTRIBUTE \(Self.quote(part.name)) \(part.definition)", "type \(name): add attribute \(part.name)")
                    }
                }
            }
        }
    }

    static func createType(_ type: SchemaSnapshot.UserType) -> String {
        let target = qualified(type.schema, type.name)
        if type.kind == "domain" {
            var text = "CREATE DOMAIN \(target) AS \(type.baseType ?? "text")"
            if let expression = type.defaultExpression { text += " DEFAULT \(expression)" }
            if type.notNull == true { text += " NOT NULL" }
            for part in type.parts { text += " CONSTRAINT \(quote(part.name)) \(part.definition)" }
            return text
        }
        return "CREATE TYPE \(target) AS (\(type.parts.map { "\(quote($0.name)) \($0.definition)" }.joined(separator: ", ")))"
    }

    private mutating func planColumns(_ present: SchemaSnapshot.Table, _ wanted: SchemaSnapshot.Table) {
        let target = Self.qualified(wanted.schema, wanted.name)
        let presentColumns = Self.byName(present.columns, \.name)
        // A column that comes from a parent is changed there and follows.
        for column in wanted.columns where column.inherited != true {
            guard let old = presentColumns[column.name] else {
                var hazards: [SchemaHazard] = [.accessExclusive]
                var check: String?
                if let expression = column.defaultExpression, Self.isVolatile(expression) { hazards.append(.rewritesTable) }
                if column.generated != nil || column.identity != nil { hazards.append(.rewritesTable) }
                if !column.nullable && column.defaultExpression == nil && column.identity == nil && column.generated == nil {
                    hazards.append(.mayFail)
                    check = "SELECT count(*) FROM \(target)"
                }
                add(
                    "ALTER TABLE \(target) ADD COLUMN \(Self.columnDefinition(column))", "\(wanted.qualifiedName): add column \(column.name) (\(column.type))",
                    hazards, violations: check)
                continue
            }
            let name = Self.quote(column.name)
            let oldGenerated = SchemaText.normalized(old.generated ?? "")
            let newGenerated = SchemaText.normalized(column.generated ?? "")
            if oldGenerated != newGenerated {
                // A generated column holds nothing of its own: a new expression is the column dropped and
                // added again (PostgreSQL 15 cannot alter the expression). Plain <-> generated would lose
                // or invent data, so it is left to a migration.
                guard !oldGenerated.isEmpty, !newGenerated.isEmpty else {
                    plan.unsupported.append(
                        "\(wanted.qualifiedName).\(column.name): generation changes (\(old.generated ?? "plain") -> \(column.generated ?? "plain"))")
                    continue
                }
                add(
                    "ALTER TABLE \(target) DROP COLUMN \(name)", "\(wanted.qualifiedName): drop generated column \(column.name) to change its expression",
                    [.accessExclusive])
                add(
                    "ALTER TABLE \(target) ADD COLUMN \(Self.columnDefinition(column))",
                    "\(wanted.qualifiedName): add generated column \(column.name) again", [.accessExclusive, .rewritesTable])
                continue
            }
            var defaultHandled = false
            if old.identity != column.identity {
                switch (old.identity, column.identity) {
                case (nil, let kind?):
                    if old.defaultExpression != nil {
                        add("ALTER TABLE \(target) ALTER COLUMN \(name) DROP DEFAULT", "\(wanted.qualifiedName): column \(column.name) loses its default")
                    }
                    defaultHandled = true
                    add(
                        "ALTER TABLE \(target) ALTER COLUMN \(name) ADD GENERATED \(kind.uppercased()) AS IDENTITY",
                        "\(wanted.qualifiedName): column \(column.name) becomes an identity column", [.accessExclusive])
                    // The identity's sequence continues after the rows already there.
                    add(
                        "SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence(\(Self.literal(target)), \(Self.literal(column.name))), "
                            + "coalesce(max(\(name)), 0) + 1, false) FROM \(target)",
                        "\(wanted.qualifiedName): identity of \(column.name) continues after the existing rows")
                case (_?, let kind?):
                    add(
                        "ALTER TABLE \(target) ALTER COLUMN \(name) SET GENERATED \(kind.uppercased())",
                        "\(wanted.qualifiedName): column \(column.name) generated \(kind)", [.accessExclusive])
                case (_?, nil):
                    add(
                        "ALTER TABLE \(target) ALTER COLUMN \(name) DROP IDENTITY", "\(wanted.qualifiedName): column \(column.name) is no longer an identity",
                        [.accessExclusive])
                case (nil, nil):
                    break
                }
            }
            if old.type == column.type && old.collation != column.collation {
                add(
                    "ALTER TABLE \(target) ALTER COLUMN \(name) TYPE \(column.type) COLLATE \(column.collation ?? "pg_catalog.\"default\"")",
                    "\(wanted.qualifiedName): column \(column.name) collation \(old.collation ?? "default") -> \(column.collation ?? "default")",
                    [.accessExclusive, .rewritesTable])
            }
            if old.type != column.type {
                let binaryCompatible = column.type == "text" && old.type.hasPrefix("character varying")
                // From one enum to another the values pass as text, and the old default (of the old type)
                // goes first; the new one is set below.
                let enumToEnum = isEnum(old.type, in: from) && isEnum(column.type, in: to)
                if enumToEnum, old.defaultExpression != nil {
                    add(
                        "ALTER TABLE \(target) ALTER COLUMN \(name) DROP DEFAULT",
                        "\(wanted.qualifiedName): column \(column.name) default dropped for its new type")
                }
                add(
                    "ALTER TABLE \(target) ALTER COLUMN \(name) TYPE \(column.type)\(column.collation.map { " COLLATE \($0)" } ?? "") USING \(name)\(enumToEnum ? "::text" : "")::\(column.type)",
                    "\(wanted.qualifiedName): column \(column.name) \(old.type) -> \(column.type)",
                    binaryCompatible ? [.accessExclusive] : [.accessExclusive, .rewritesTable, .mayFail])
            }
            if !defaultHandled, SchemaText.normalized(old.defaultExpression ?? "") != SchemaText.normalized(column.defaultExpression ?? "") {
                if let expression = column.defaultExpression {
                    add(
                        "ALTER TABLE \(target) ALTER COLUMN \(name) SET DEFAULT \(expression)",
                        "\(wanted.qualifiedName): column \(column.name) default \(expression)")
                } else {
                    add("ALTER TABLE \(target) ALTER COLUMN \(name) DROP DEFAULT", "\(wanted.qualifiedName): column \(column.name) loses its default")
                }
            }
            if old.nullable != column.nullable {
                if column.nullable {
                    add(
                        "ALTER TABLE \(target) ALTER COLUMN \(name) DROP NOT NULL", "\(wanted.qualifiedName): column \(column.name) becomes nullable",
                        [.accessExclusive])
                } else {
                    add(
                        "ALTER TABLE \(target) ALTER COLUMN \(name) SET NOT NULL", "\(wanted.qualifiedName): column \(column.name) becomes NOT NULL",
                        [.mayFail, .accessExclusive], violations: "SELECT count(*) FROM \(target) WHERE \(name) IS NULL")
                }
            }
        }
    }

    // MARK: - Pieces

    static func columnDefinition(_ column: SchemaSnapshot.Column) -> String {
        var text = "\(quote(column.name)) \(column.type)"
        if let collation = column.collation { text += " COLLATE \(collation)" }
        if let generated = column.generated { text += " GENERATED ALWAYS AS (\(generated)) STORED" }
        if let identity = column.identity { text += " GENERATED \(identity.uppercased()) AS IDENTITY" }
        if let expression = column.defaultExpression { text += " DEFAULT \(expression)" }
        if !column.nullable && column.identity == nil { text += " NOT NULL" }
        return text
    }

    /// A default that runs per row when added (so PostgreSQL rewrites the table to store it).
    static func isVolatile(_ expression: String) -> Bool {
        ["nextval(", "random(", "gen_random_uuid(", "uuid_generate", "clock_timestamp(", "timeofday("].contains { expression.contains($0) }
    }

    /// Whether `type` (as a column shows it, e.g. `public.status`) is one of `snapshot`'s enum types.
    func isEnum(_ type: String, in snapshot: SchemaSnapshot) -> Bool {
        snapshot.enums.contains { "\($0.schema).\($0.name)" == type || $0.name == type || Self.qualified($0.schema, $0.name) == type }
    }

    /// Whether SQL text names `qualifiedName` (`schema.name`), qualified or by its bare name as a word.
    static func mentions(_ text: String, _ qualifiedName: String) -> Bool {
        if text.contains(qualifiedName) { return true }
        let bare = qualifiedName.split(separator: ".").last.map(String.init) ?? qualifiedName
        let pattern = "(^|[^A-Za-z0-9_.])" + NSRegularExpression.escapedPattern(for: bare) + "($|[^A-Za-z0-9_])"
        return text.range(of: pattern, options: .regularExpression) != nil
    }

    static func routineKeyword(_ kind: String) -> String { kind == "procedure" ? "PROCEDURE" : kind == "aggregate" ? "AGGREGATE" : "FUNCTION" }

    /// The ` RETURNS …` line of a pg_get_functiondef definition (nil for a procedure).
    static func returnsClause(_ definition: String) -> String? {
        definition.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).uppercased().hasPrefix("RETURNS ") }
            .map { SchemaText.normalized(String($0)) }
    }

    static func literal(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }

    /// Indexes that are not the implementation of a primary key, unique or exclusion constraint.
    /// A table's indexes that are not a constraint's, and (unless `inheritedToo`) not a parent's copy.
    static func plainIndexes(_ table: SchemaSnapshot.Table, inheritedToo: Bool = false) -> [SchemaSnapshot.Index] {
        let backing = Set(table.constraints.filter { ["primary key", "unique", "exclusion"].contains($0.kind) }.map(\.name))
        return table.indexes.filter { !backing.contains($0.name) && (inheritedToo || $0.inherited != true) }
    }

    static func sameConstraint(_ a: SchemaSnapshot.Constraint, _ b: SchemaSnapshot.Constraint) -> Bool {
        a.kind == b.kind && SchemaText.normalized(a.definition) == SchemaText.normalized(b.definition) && a.validated == b.validated
    }

    static func sameView(_ a: SchemaSnapshot.View, _ b: SchemaSnapshot.View) -> Bool {
        a.materialized == b.materialized && SchemaText.normalized(a.definition) == SchemaText.normalized(b.definition)
    }

    /// Columns of `wanted` that `present` lacks.
    static func addedColumns(from present: SchemaSnapshot.Table?, to wanted: SchemaSnapshot.Table) -> Set<String> {
        guard let present else { return Set(wanted.columns.map(\.name)) }
        let existing = Set(present.columns.map(\.name))
        return Set(wanted.columns.map(\.name).filter { !existing.contains($0) })
    }

    /// Whether `definition` names any of `columns` (as a whole identifier, quoted or not).
    static func mentions(_ definition: String, anyOf columns: Set<String>) -> Bool {
        let identifiers = Set(
            definition.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_" || $0 == "$") }).map { String($0) })
        return columns.contains { identifiers.contains($0) }
    }

    /// A query counting rows that a new constraint would reject; nil where no simple count exists.
    static func violationQuery(table: String, constraint: SchemaSnapshot.Constraint) -> String? {
        let definition = constraint.definition
        switch constraint.kind {
        case "check":
            guard definition.hasPrefix("CHECK ("), let close = definition.lastIndex(of: ")") else { return nil }
            let expression = definition[definition.index(definition.startIndex, offsetBy: 6)...close]
            return "SELECT count(*) FROM \(table) WHERE NOT \(expression)"
        case "unique", "primary key":
            guard let open = definition.firstIndex(of: "("), let close = definition[open...].firstIndex(of: ")") else { return nil }
            let columns = String(definition[definition.index(after: open)..<close])
            let duplicates = "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM \(table) GROUP BY \(columns) HAVING count(*) > 1) AS duplicates"
            guard constraint.kind == "primary key" else { return duplicates }
            let nulls = columns.split(separator: ",").map { "\($0.trimmingCharacters(in: .whitespaces)) IS NULL" }.joined(separator: " OR ")
            return "SELECT (\(duplicates)) + (SELECT count(*) FROM \(table) WHERE \(nulls))"
        default:
            return nil
        }
    }

    /// Views in an order where each comes after the views it reads.
    static func dependencyOrder(_ views: [SchemaSnapshot.View]) -> [String] {
        let names = views.map { "\($0.schema).\($0.name)" }
        let known = Set(names)
        var dependencies = Dictionary(uniqueKeysWithValues: views.map { ("\($0.schema).\($0.name)", Set(($0.dependsOn ?? []).filter { known.contains($0) })) })
        var order: [String] = []
        while !dependencies.isEmpty {
            let ready = dependencies.filter { $0.value.isSubset(of: Set(order)) }.keys.sorted()
            guard !ready.isEmpty else {
                order += dependencies.keys.sorted()  // a cycle cannot exist in PostgreSQL; keep going anyway
                break
            }
            order += ready
            for name in ready { dependencies.removeValue(forKey: name) }
        }
        return order
    }

    private func isIdentitySequence(_ sequence: SchemaSnapshot.Sequence, in snapshot: SchemaSnapshot) -> Bool {
        guard let owner = sequence.ownedBy, let dot = owner.lastIndex(of: ".") else { return false }
        let table = owner[..<dot]
        let column = owner[owner.index(after: dot)...]
        return snapshot.tables.contains { $0.schema == sequence.schema && $0.name == table && $0.columns.contains { $0.name == column && $0.identity != nil } }
    }

    private func ownerSurvives(_ owner: String, schema: String) -> Bool {
        guard let dot = owner.lastIndex(of: ".") else { return true }
        let table = owner[..<dot]
        let column = owner[owner.index(after: dot)...]
        return to.tables.contains { $0.schema == schema && $0.name == table && $0.columns.contains { $0.name == column } }
    }
}

import Foundation
import TMEOpsCrypto
import TMEOpsPostgres

/// A database's schema as read from `pg_catalog`: what `schema snapshot` saves and `schema diff` compares.
/// Everything is sorted, so equal schemas give equal snapshots.
public struct SchemaSnapshot: Codable, Sendable, Equatable {
    /// A database with nothing in it but the `public` schema: what a plan that rebuilds a schema starts from.
    public static let empty = SchemaSnapshot(
        database: "", serverVersion: 0, schemas: ["public"], tables: [], sequences: [], enums: [], views: [], functions: [], extensions: [])

    public static let formatName = "tmeops-schema-snapshot/1"

    public struct Column: Codable, Sendable, Equatable {
        public var name: String
        public var type: String
        public var nullable: Bool
        public var defaultExpression: String?
        /// `always` or `by default` for identity columns.
        public var identity: String?
        /// The expression of a generated (stored) column.
        public var generated: String?
        /// True for a column that comes only from a parent table (inheritance or a partition's parent):
        /// the plan changes it on the parent, never here.
        public var inherited: Bool? = nil
        /// A collation other than its type's (`pg_catalog."C"`, `public.case_insensitive`).
        public var collation: String? = nil
    }

    public struct Constraint: Codable, Sendable, Equatable {
        public var name: String
        /// primary key, unique, foreign key, check, exclusion.
        public var kind: String
        public var definition: String
        public var validated: Bool
        /// True for a constraint a parent gave this table (an inherited CHECK, a partition's copy of
        /// its parent's key or foreign key): it comes and goes with the parent's.
        public var inherited: Bool? = nil
    }

    public struct Index: Codable, Sendable, Equatable {
        public var name: String
        public var definition: String
        public var unique: Bool
        public var valid: Bool
        /// True for a partition's index attached to its parent's index (made by the parent's).
        public var inherited: Bool? = nil
    }

    /// A row-level security policy: its name and what follows `CREATE POLICY name ON table`.
    public struct Policy: Codable, Sendable, Equatable {
        public var name: String
        /// `AS PERMISSIVE FOR SELECT TO public USING (published)`.
        public var definition: String
    }

    public struct Trigger: Codable, Sendable, Equatable {
        public var name: String
        public var definition: String
        /// True for a partition's copy of its parent's trigger.
        public var inherited: Bool? = nil
    }

    public struct Table: Codable, Sendable, Equatable {
        public var schema: String
        public var name: String
        public var partitioned: Bool
        public var columns: [Column]
        public var constraints: [Constraint]
        public var indexes: [Index]
        public var triggers: [Trigger]
        /// For a partition: its parent (`public.events`) and its bound (`FOR VALUES IN ('click')`,
        /// `DEFAULT`). Absent in older snapshots.
        public var partitionOf: String? = nil
        public var partitionBound: String? = nil
        /// For a partitioned table: its key as PostgreSQL prints it (`RANGE (taken_on)`).
        public var partitionKey: String? = nil
        /// Parents by plain inheritance (`INHERITS`), in order; nil when none.
        public var inherits: [String]? = nil
        /// `enabled` or `forced` when row-level security is on; nil when off.
        public var rowSecurity: String? = nil
        /// Row-level security policies; nil when none.
        public var policies: [Policy]? = nil

        public var qualifiedName: String { "\(schema).\(name)" }
    }

    public struct Sequence: Codable, Sendable, Equatable {
        public var schema: String
        public var name: String
        public var type: String
        /// `table.column` of an owning column (serial / identity).
        public var ownedBy: String?
    }

    public struct EnumType: Codable, Sendable, Equatable {
        public var schema: String
        public var name: String
        public var labels: [String]
    }

    /// A domain or a composite type: what columns and functions may use besides enums.
    public struct UserType: Codable, Sendable, Equatable {
        public struct Part: Codable, Sendable, Equatable {
            public var name: String
            /// A domain constraint's definition (`CHECK (...)`), or a composite attribute's type.
            public var definition: String
        }

        public var schema: String
        public var name: String
        /// domain or composite.
        public var kind: String
        /// A domain's base type (with its modifier and collation).
        public var baseType: String?
        public var notNull: Bool?
        public var defaultExpression: String?
        /// A domain's constraints, or a composite type's attributes, in order.
        public var parts: [Part]
    }

    public struct View: Codable, Sendable, Equatable {
        public var schema: String
        public var name: String
        public var materialized: Bool
        public var definition: String
        /// Views and materialized views this one reads (from pg_depend through its rewrite rule), so a
        /// plan creates them in order. Absent in snapshots from before it was recorded.
        public var dependsOn: [String]?
    }

    public struct Function: Codable, Sendable, Equatable {
        public var schema: String
        public var name: String
        public var identityArguments: String
        /// function, procedure, aggregate or window.
        public var kind: String
        public var definition: String?
    }

    /// A comment (`COMMENT ON`) on one of the schema's objects.
    public struct Comment: Codable, Sendable, Equatable {
        /// The object's kind as PostgreSQL names it (`table`, `table column`, `function`, `table constraint`…).
        public var kind: String
        /// The object's name as SQL writes it (`public.diary.feeling`, `public.double_it(integer)`,
        /// `diary_id_positive on public.diary`).
        public var identity: String
        public var text: String
    }

    /// One privilege granted to a role on one object (the owner's own privileges are left out: owners
    /// differ between servers and are not the schema's).
    public struct Grant: Codable, Sendable, Equatable {
        /// `TABLE public.orders`, `SCHEMA app`, `FUNCTION app.report_count()`, `SEQUENCE app.numbers`.
        public var object: String
        /// `SELECT`, or for a column `UPDATE (product_id)`.
        public var privilege: String
        /// A role's name as SQL writes it, or `PUBLIC`.
        public var grantee: String
        public var grantable: Bool

        public var key: String { "\(privilege) ON \(object) TO \(grantee)" }
    }

    /// A collation made by `CREATE COLLATION`.
    public struct Collation: Codable, Sendable, Equatable {
        public var schema: String
        public var name: String
        /// What CREATE COLLATION takes in parentheses: `provider = icu, locale = 'und-u-ks-level2', deterministic = false`.
        public var definition: String
    }

    public struct Extension: Codable, Sendable, Equatable {
        public var name: String
        public var version: String
        /// The schema its objects live in (absent in older snapshots).
        public var schema: String?
    }

    public var format = SchemaSnapshot.formatName
    public var database: String
    public var serverVersion: Int
    public var schemas: [String]
    public var tables: [Table]
    public var sequences: [Sequence]
    public var enums: [EnumType]
    public var views: [View]
    public var functions: [Function]
    public var extensions: [Extension]
    /// Domains and composite types (absent in snapshots from before they were recorded).
    public var types: [UserType]? = nil
    /// Collations of the database's own (absent in older snapshots).
    public var collations: [Collation]? = nil
    /// Comments on the schema's objects (absent in older snapshots).
    public var comments: [Comment]? = nil
    /// Privileges on tables, views, sequences, columns, schemas and routines, defaults included (a
    /// function's EXECUTE for PUBLIC); absent in older snapshots.
    public var grants: [Grant]? = nil

    /// Reads a snapshot file, refusing anything that is not one.
    public static func load(_ data: Data, file: String) throws -> SchemaSnapshot {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], object["format"] as? String == formatName else {
            throw SchemaError("\(file) is not a tmeops schema snapshot (its \"format\" is not \(formatName)); make one with `tmeops schema snapshot`")
        }
        do {
            return try JSONDecoder().decode(SchemaSnapshot.self, from: data)
        } catch {
            throw SchemaError("\(file) is a damaged schema snapshot: \(error)")
        }
    }

    /// SHA-256 of the schema alone (not the database's name or server version): what a test proof is
    /// bound to, so a proof made on a copy matches the original.
    public var schemaHash: String {
        var neutral = self
        neutral.database = ""
        neutral.serverVersion = 0
        return SHA256.hex(SHA256.digest((try? neutral.encoded()) ?? Data()))
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}

/// A schema problem an operator can act on.
public struct SchemaError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Reads a ``SchemaSnapshot`` from PostgreSQL 13–17's catalogs (not information_schema), leaving out
/// system schemas and every object an extension owns.
public enum SchemaIntrospector {
    /// Namespaces that are never the application's.
    static let systemSchemas =
        "n.nspname NOT IN ('pg_catalog', 'information_schema', 'tmeops') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'"

    /// `objid` of class `catalog` is owned by an extension.
    static func notFromExtension(_ alias: String, _ catalog: String) -> String {
        "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = '\(catalog)'::pg_catalog.regclass AND d.objid = \(alias).oid AND d.deptype = 'e')"
    }

    public static func snapshot(_ connection: PostgresConnection) throws -> SchemaSnapshot {
        let schemas = try connection.query(
            """
            SELECT n.nspname FROM pg_catalog.pg_namespace n WHERE \(systemSchemas) AND \(notFromExtension("n", "pg_catalog.pg_namespace")) ORDER BY 1
            """
        ).rows.compactMap { $0[0] }

        var tables: [String: SchemaSnapshot.Table] = [:]
        for row in try connection.query(
            """
            SELECT c.oid::text, n.nspname, c.relname, c.relkind = 'p',
                   (SELECT pn.nspname || '.' || p.relname FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class p ON p.oid = i.inhparent
                    JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace WHERE c.relispartition AND i.inhrelid = c.oid),
                   CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END,
                   CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END,
                   pg_catalog.array_to_string(ARRAY(
                       SELECT pn.nspname || '.' || p.relname FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class p ON p.oid = i.inhparent
                       JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace WHERE NOT c.relispartition AND i.inhrelid = c.oid ORDER BY i.inhseqno), E'\\x1f'),
                   CASE WHEN c.relforcerowsecurity AND c.relrowsecurity THEN 'forced' WHEN c.relrowsecurity THEN 'enabled' END
            FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND \(systemSchemas) AND \(notFromExtension("c", "pg_catalog.pg_class"))
            """
        ).rows {
            let parents = (row[7] ?? "").split(separator: "\u{1f}").map(String.init)
            tables[row[0]!] = SchemaSnapshot.Table(
                schema: row[1]!, name: row[2]!, partitioned: row[3] == "t", columns: [], constraints: [], indexes: [], triggers: [], partitionOf: row[4],
                partitionBound: row[5], partitionKey: row[6], inherits: parents.isEmpty ? nil : parents, rowSecurity: row[8])
        }
        for row in try connection.query(
            """
            SELECT a.attrelid::text, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
                   CASE WHEN a.attgenerated = '' THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid) END,
                   CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END,
                   CASE WHEN a.attgenerated <> '' THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid) END,
                   a.attinhcount > 0 AND NOT a.attislocal,
                   CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
                        THEN pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname) END
            FROM pg_catalog.pg_attribute a LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
            LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
            WHERE a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attrelid, a.attnum
            """
        ).rows where tables[row[0]!] != nil {
            tables[row[0]!]!.columns.append(
                SchemaSnapshot.Column(
                    name: row[1]!, type: row[2]!, nullable: row[3] == "t", defaultExpression: row[4], identity: row[5], generated: row[6],
                    inherited: row[7] == "t" ? true : nil, collation: row[8]))
        }
        for row in try connection.query(
            """
            SELECT con.conrelid::text, con.conname, con.contype, pg_catalog.pg_get_constraintdef(con.oid, true), con.convalidated,
                   NOT con.conislocal OR con.conparentid <> 0
            FROM pg_catalog.pg_constraint con WHERE con.conrelid <> 0 ORDER BY con.conrelid, con.conname
            """
        ).rows where tables[row[0]!] != nil {
            let kinds = ["p": "primary key", "u": "unique", "f": "foreign key", "c": "check", "x": "exclusion"]
            tables[row[0]!]!.constraints.append(
                SchemaSnapshot.Constraint(
                    name: row[1]!, kind: kinds[row[2]!] ?? row[2]!, definition: row[3]!, validated: row[4] == "t", inherited: row[5] == "t" ? true : nil))
        }
        for row in try connection.query(
            """
            SELECT i.indrelid::text, c.relname, pg_catalog.pg_get_indexdef(i.indexrelid), i.indisunique, i.indisvalid,
                   EXISTS (SELECT 1 FROM pg_catalog.pg_inherits h WHERE h.inhrelid = i.indexrelid)
            FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid ORDER BY i.indrelid, c.relname
            """
        ).rows where tables[row[0]!] != nil {
            tables[row[0]!]!.indexes.append(
                SchemaSnapshot.Index(name: row[1]!, definition: row[2]!, unique: row[3] == "t", valid: row[4] == "t", inherited: row[5] == "t" ? true : nil))
        }
        for row in try connection.query(
            """
            SELECT p.polrelid::text, p.polname,
                   'AS ' || CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END
                   || ' FOR ' || CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END
                   || ' TO ' || pg_catalog.array_to_string(ARRAY(
                       SELECT CASE WHEN r.oid = 0 THEN 'public' ELSE pg_catalog.quote_ident(a.rolname) END
                       FROM pg_catalog.unnest(p.polroles) AS r(oid) LEFT JOIN pg_catalog.pg_roles a ON a.oid = r.oid ORDER BY 1), ', ')
                   || COALESCE(' USING (' || pg_catalog.pg_get_expr(p.polqual, p.polrelid) || ')', '')
                   || COALESCE(' WITH CHECK (' || pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) || ')', '')
            FROM pg_catalog.pg_policy p ORDER BY p.polrelid, p.polname
            """
        ).rows where tables[row[0]!] != nil {
            tables[row[0]!]!.policies = (tables[row[0]!]!.policies ?? []) + [SchemaSnapshot.Policy(name: row[1]!, definition: row[2]!)]
        }
        // tgparentid (a partition's clone of its parent's trigger) exists from PostgreSQL 13.
        let clonedTrigger = connection.serverVersion >= 130000 ? "t.tgparentid <> 0" : "false"
        for row in try connection.query(
            """
            SELECT t.tgrelid::text, t.tgname, pg_catalog.pg_get_triggerdef(t.oid, true), \(clonedTrigger)
            FROM pg_catalog.pg_trigger t WHERE NOT t.tgisinternal ORDER BY t.tgrelid, t.tgname
            """
        ).rows where tables[row[0]!] != nil {
            tables[row[0]!]!.triggers.append(SchemaSnapshot.Trigger(name: row[1]!, definition: row[2]!, inherited: row[3] == "t" ? true : nil))
        }

        let sequences = try connection.query(
            """
            SELECT n.nspname, c.relname, pg_catalog.format_type(s.seqtypid, NULL),
                   (SELECT tc.relname || '.' || a.attname FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class tc ON tc.oid = d.refobjid
                    JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                    WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i') LIMIT 1)
            FROM pg_catalog.pg_sequence s JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE \(systemSchemas) AND \(notFromExtension("c", "pg_catalog.pg_class")) ORDER BY 1, 2
            """
        ).rows.map { SchemaSnapshot.Sequence(schema: $0[0]!, name: $0[1]!, type: $0[2]!, ownedBy: $0[3]) }

        let enums = try connection.query(
            """
            SELECT n.nspname, t.typname, pg_catalog.array_to_string(ARRAY(SELECT e.enumlabel FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder), E'\\x1f')
            FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
            WHERE t.typtype = 'e' AND \(systemSchemas) AND \(notFromExtension("t", "pg_catalog.pg_type")) ORDER BY 1, 2
            """
        ).rows.map { SchemaSnapshot.EnumType(schema: $0[0]!, name: $0[1]!, labels: ($0[2] ?? "").split(separator: "\u{1f}").map(String.init)) }

        let domains = try connection.query(
            """
            SELECT n.nspname, t.typname, pg_catalog.format_type(t.typbasetype, t.typtypmod)
                       || CASE WHEN t.typcollation <> 0 AND t.typcollation <> bt.typcollation
                          THEN ' COLLATE ' || pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname) ELSE '' END,
                   t.typnotnull, t.typdefault,
                   pg_catalog.array_to_string(ARRAY(
                       SELECT c.conname || E'\\x1e' || pg_catalog.pg_get_constraintdef(c.oid, true) FROM pg_catalog.pg_constraint c
                       WHERE c.contypid = t.oid ORDER BY c.conname), E'\\x1f')
            FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
            JOIN pg_catalog.pg_type bt ON bt.oid = t.typbasetype
            LEFT JOIN pg_catalog.pg_collation co ON co.oid = t.typcollation LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
            WHERE t.typtype = 'd' AND \(systemSchemas) AND \(notFromExtension("t", "pg_catalog.pg_type")) ORDER BY 1, 2
            """
        ).rows.map { row in
            SchemaSnapshot.UserType(
                schema: row[0]!, name: row[1]!, kind: "domain", baseType: row[2], notNull: row[3] == "t", defaultExpression: row[4],
                parts: Self.parts(row[5]))
        }
        let composites = try connection.query(
            """
            SELECT n.nspname, t.typname,
                   pg_catalog.array_to_string(ARRAY(
                       SELECT a.attname || E'\\x1e' || pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a
                       WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum), E'\\x1f')
            FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace JOIN pg_catalog.pg_class c ON c.oid = t.typrelid
            WHERE t.typtype = 'c' AND c.relkind = 'c' AND \(systemSchemas) AND \(notFromExtension("t", "pg_catalog.pg_type")) ORDER BY 1, 2
            """
        ).rows.map { row in SchemaSnapshot.UserType(schema: row[0]!, name: row[1]!, kind: "composite", parts: Self.parts(row[2])) }

        let views = try connection.query(
            """
            SELECT n.nspname, c.relname, c.relkind = 'm', pg_catalog.pg_get_viewdef(c.oid, true),
                   pg_catalog.array_to_string(ARRAY(
                       SELECT DISTINCT rn.nspname || '.' || rc.relname FROM pg_catalog.pg_rewrite r
                       JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = r.oid
                       JOIN pg_catalog.pg_class rc ON rc.oid = d.refobjid JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
                       WHERE r.ev_class = c.oid AND d.refobjid <> c.oid AND rc.relkind IN ('v', 'm') ORDER BY 1), ',')
            FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('v', 'm') AND \(systemSchemas) AND \(notFromExtension("c", "pg_catalog.pg_class")) ORDER BY 1, 2
            """
        ).rows.map {
            SchemaSnapshot.View(
                schema: $0[0]!, name: $0[1]!, materialized: $0[2] == "t", definition: $0[3] ?? "",
                dependsOn: ($0[4] ?? "").split(separator: ",").map(String.init))
        }

        let functions = try connection.query(
            """
            SELECT n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid), p.prokind,
                   CASE WHEN p.prokind IN ('f', 'p') THEN pg_catalog.pg_get_functiondef(p.oid) END
            FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
            WHERE \(systemSchemas) AND \(notFromExtension("p", "pg_catalog.pg_proc")) ORDER BY 1, 2, 3
            """
        ).rows.map { row -> SchemaSnapshot.Function in
            let kinds = ["f": "function", "p": "procedure", "a": "aggregate", "w": "window"]
            return SchemaSnapshot.Function(
                schema: row[0]!, name: row[1]!, identityArguments: row[2] ?? "", kind: kinds[row[3] ?? ""] ?? "function", definition: row[4])
        }

        // The ICU locale column is colliculocale in PostgreSQL 15 and 16, colllocale from 17.
        let icuLocale = connection.serverVersion >= 170000 ? "c.colllocale" : connection.serverVersion >= 150000 ? "c.colliculocale" : "c.collcollate"
        let collations = try connection.query(
            """
            SELECT n.nspname, c.collname,
                   CASE c.collprovider WHEN 'i' THEN 'provider = icu, locale = ' || pg_catalog.quote_literal(\(icuLocale))
                        ELSE 'provider = libc, lc_collate = ' || pg_catalog.quote_literal(c.collcollate) || ', lc_ctype = ' || pg_catalog.quote_literal(c.collctype) END
                   || CASE WHEN c.collisdeterministic THEN '' ELSE ', deterministic = false' END
            FROM pg_catalog.pg_collation c JOIN pg_catalog.pg_namespace n ON n.oid = c.collnamespace
            WHERE \(systemSchemas) AND \(notFromExtension("c", "pg_catalog.pg_collation")) ORDER BY 1, 2
            """
        ).rows.map { SchemaSnapshot.Collation(schema: $0[0]!, name: $0[1]!, definition: $0[2] ?? "") }

        // pg_identify_object names each commented object the way COMMENT ON takes it; it runs only on
        // objects made after initdb (objoid >= 16384), or it costs 0.1 s a snapshot.
        let comments = try connection.query(
            """
            SELECT o.type, o.identity, d.description
            FROM pg_catalog.pg_description d, LATERAL pg_catalog.pg_identify_object(d.classoid, d.objoid, d.objsubid) o
            WHERE d.objoid >= 16384 -- FirstNormalObjectId: the system's own thousands of comments are not read
              AND (o.schema IS NOT NULL AND o.schema NOT IN ('pg_catalog', 'information_schema', 'tmeops') AND o.schema NOT LIKE 'pg\\_toast%'
                   AND o.schema NOT LIKE 'pg\\_temp\\_%'
                   OR o.type = 'schema' AND o.identity NOT IN ('pg_catalog', 'information_schema', 'tmeops', 'public'))
              AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = d.classoid AND e.objid = d.objoid AND e.deptype = 'e')
            ORDER BY 1, 2
            """
        ).rows.map { SchemaSnapshot.Comment(kind: $0[0]!, identity: $0[1]!, text: $0[2] ?? "") }

        let grants = try connection.query(
            """
            WITH objects AS (
                SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE ' ELSE 'TABLE ' END || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS object,
                       COALESCE(c.relacl, pg_catalog.acldefault((CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END)::"char", c.relowner)) AS acl, c.relowner AS owner, NULL::text AS col
                FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') AND \(systemSchemas) AND \(notFromExtension("c", "pg_catalog.pg_class"))
                UNION ALL
                SELECT 'TABLE ' || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname), a.attacl, c.relowner, pg_catalog.quote_ident(a.attname)
                FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                WHERE a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm') AND \(systemSchemas)
                UNION ALL
                SELECT 'SCHEMA ' || pg_catalog.quote_ident(n.nspname), COALESCE(n.nspacl, pg_catalog.acldefault('n'::"char", n.nspowner)), n.nspowner, NULL
                FROM pg_catalog.pg_namespace n WHERE \(systemSchemas) AND \(notFromExtension("n", "pg_catalog.pg_namespace"))
                UNION ALL
                SELECT CASE p.prokind WHEN 'p' THEN 'PROCEDURE ' ELSE 'FUNCTION ' END || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(p.proname)
                       || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')',
                       COALESCE(p.proacl, pg_catalog.acldefault('f'::"char", p.proowner)), p.proowner, NULL
                FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
                WHERE p.prokind IN ('f', 'p') AND \(systemSchemas) AND \(notFromExtension("p", "pg_catalog.pg_proc"))
            )
            SELECT o.object, x.privilege_type || COALESCE(' (' || o.col || ')', ''),
                   CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(r.rolname) END, x.is_grantable
            FROM objects o CROSS JOIN LATERAL pg_catalog.aclexplode(o.acl) x LEFT JOIN pg_catalog.pg_roles r ON r.oid = x.grantee
            WHERE x.grantee <> o.owner ORDER BY 1, 2, 3
            """
        ).rows.map { SchemaSnapshot.Grant(object: $0[0]!, privilege: $0[1]!, grantee: $0[2]!, grantable: $0[3] == "t") }

        let extensions = try connection.query(
            "SELECT e.extname, e.extversion, n.nspname FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.extname <> 'plpgsql' ORDER BY 1"
        ).rows.map { SchemaSnapshot.Extension(name: $0[0]!, version: $0[1]!, schema: $0[2]) }

        return SchemaSnapshot(
            database: connection.target.database, serverVersion: connection.serverVersion, schemas: schemas,
            tables: tables.values.sorted { ($0.schema, $0.name) < ($1.schema, $1.name) }, sequences: sequences, enums: enums,
            views: views, functions: functions, extensions: extensions, types: domains + composites, collations: collations,
            comments: comments, grants: grants)
    }

    /// `name\u{1e}definition` pairs joined by `\u{1f}`.
    static func parts(_ text: String?) -> [SchemaSnapshot.UserType.Part] {
        (text ?? "").split(separator: "\u{1f}").compactMap { item in
            let fields = item.split(separator: "\u{1e}", maxSplits: 1).map(String.init)
            return fields.count == 2 ? SchemaSnapshot.UserType.Part(name: fields[0], definition: fields[1]) : nil
        }
    }
}

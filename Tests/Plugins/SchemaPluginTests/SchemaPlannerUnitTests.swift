import Foundation
import XCTest

@testable import SchemaPlugin
@testable import TMEOpsPostgres

/// The planner on snapshots written by hand: pure logic, no database.
final class SchemaPlannerUnitTests: XCTestCase {
    typealias Table = SchemaSnapshot.Table
    typealias Column = SchemaSnapshot.Column

    static func column(_ name: String, _ type: String = "integer", inherited: Bool = false) -> Column {
        Column(name: name, type: type, nullable: false, defaultExpression: nil, identity: nil, generated: nil, inherited: inherited ? true : nil)
    }

    static func snapshot(_ tables: [Table]) -> SchemaSnapshot {
        SchemaSnapshot(
            database: "t", serverVersion: 150000, schemas: ["public"], tables: tables, sequences: [], enums: [], views: [], functions: [], extensions: [])
    }

    static let parent = Table(
        schema: "public", name: "z_events", partitioned: true, columns: [column("id"), column("kind", "text")], constraints: [],
        indexes: [
            SchemaSnapshot.Index(
                name: "z_events_kind_idx", definition: "CREATE INDEX z_events_kind_idx ON ONLY public.z_events USING btree (kind)", unique: false, valid: true)
        ], triggers: [], partitionKey: "LIST (kind)")
    static let partition = Table(
        schema: "public", name: "a_events_click", partitioned: false, columns: [column("id", inherited: true), column("kind", "text", inherited: true)],
        constraints: [],
        indexes: [
            SchemaSnapshot.Index(
                name: "a_events_click_kind_idx", definition: "CREATE INDEX a_events_click_kind_idx ON public.a_events_click USING btree (kind)", unique: false,
                valid: true, inherited: true)
        ], triggers: [], partitionOf: "public.z_events", partitionBound: "FOR VALUES IN ('click')")

    func testAPartitionIsCreatedAfterItsParentAsPartitionOfWithNoIndexOfItsOwn() {
        let plan = SchemaPlanner.plan(from: Self.snapshot([]), to: Self.snapshot([Self.partition, Self.parent]))
        let sql = plan.statements.map(\.sql)
        XCTAssertEqual(sql.first, "CREATE TABLE public.z_events (\n    id integer NOT NULL,\n    kind text NOT NULL\n) PARTITION BY LIST (kind)")
        XCTAssertEqual(sql.dropFirst().first, "CREATE TABLE public.a_events_click PARTITION OF public.z_events FOR VALUES IN ('click')")
        // The parent's index is made on every partition (no ONLY); the partition's copy is not made twice.
        XCTAssertTrue(sql.contains("CREATE INDEX z_events_kind_idx ON public.z_events USING btree (kind)"), "\(sql)")
        XCTAssertFalse(sql.contains { $0.contains("a_events_click_kind_idx") }, "\(sql)")
    }

    func testAColumnAddedToAPartitionedParentIsAddedThereOnly() {
        var parent = Self.parent
        parent.columns.append(Self.column("unit", "text"))
        var partition = Self.partition
        partition.columns.append(Self.column("unit", "text", inherited: true))
        let plan = SchemaPlanner.plan(from: Self.snapshot([Self.parent, Self.partition]), to: Self.snapshot([parent, partition]))
        XCTAssertEqual(plan.statements.map(\.sql), ["ALTER TABLE public.z_events ADD COLUMN unit text NOT NULL"])
        // A new index on an existing partitioned table cannot be CONCURRENTLY.
        parent.indexes.append(
            SchemaSnapshot.Index(
                name: "z_events_unit_idx", definition: "CREATE INDEX z_events_unit_idx ON ONLY public.z_events USING btree (unit)", unique: false, valid: true))
        let indexed = SchemaPlanner.plan(from: Self.snapshot([Self.parent, Self.partition]), to: Self.snapshot([parent, partition]))
        XCTAssertEqual(indexed.statements.last?.sql, "CREATE INDEX z_events_unit_idx ON public.z_events USING btree (unit)")
        XCTAssertEqual(indexed.statements.last?.transactional, true)
    }

    func testAPartitionMovedToAnotherBoundIsDetachedAndAttached() {
        var moved = Self.partition
        moved.partitionBound = "FOR VALUES IN ('click', 'tap')"
        let plan = SchemaPlanner.plan(from: Self.snapshot([Self.parent, Self.partition]), to: Self.snapshot([Self.parent, moved]))
        XCTAssertEqual(
            plan.statements.map(\.sql),
            [
                "ALTER TABLE public.z_events DETACH PARTITION public.a_events_click",
                "ALTER TABLE public.z_events ATTACH PARTITION public.a_events_click FOR VALUES IN ('click', 'tap')",
            ])
    }

    func testMakingAPlainTablePartitionedIsLeftToAMigration() {
        var plain = Self.parent
        plain.partitioned = false
        plain.partitionKey = nil
        let plan = SchemaPlanner.plan(from: Self.snapshot([plain]), to: Self.snapshot([Self.parent]))
        XCTAssertTrue(plan.unsupported.contains { $0.contains("partitioning changes") }, "\(plan.unsupported)")
    }

    func testDroppedPartitionsGoWithTheirParentAndChildrenGoBeforeTheirs() {
        let plan = SchemaPlanner.plan(from: Self.snapshot([Self.parent, Self.partition]), to: Self.snapshot([]))
        XCTAssertEqual(plan.statements.map(\.sql), ["DROP TABLE public.z_events"])
        let base = Table(schema: "public", name: "a_base", partitioned: false, columns: [Self.column("id")], constraints: [], indexes: [], triggers: [])
        let child = Table(
            schema: "public", name: "b_child", partitioned: false, columns: [Self.column("id", inherited: true), Self.column("extra")], constraints: [],
            indexes: [], triggers: [], inherits: ["public.a_base"])
        XCTAssertEqual(
            SchemaPlanner.plan(from: Self.snapshot([base, child]), to: Self.snapshot([])).statements.map(\.sql),
            ["DROP TABLE public.b_child", "DROP TABLE public.a_base"])
        XCTAssertEqual(
            SchemaPlanner.plan(from: Self.snapshot([]), to: Self.snapshot([child, base])).statements.map(\.sql),
            [
                "CREATE TABLE public.a_base (\n    id integer NOT NULL\n)",
                "CREATE TABLE public.b_child (\n    extra integer NOT NULL\n) INHERITS (public.a_base)",
            ])
    }

    func testAPlanWrittenAsAMigrationRunsOutsideOneTransaction() {
        var plan = SchemaPlan()
        plan.statements = [SchemaPlan.Statement(sql: "CREATE INDEX CONCURRENTLY i ON t (c)", summary: "t: create index i", hazards: [.noTransaction])]
        XCTAssertTrue(MigrationFile.isNoTransaction(plan.sql(header: ["made by a test"])))
        XCTAssertTrue(MigrationFile.isNoTransaction("-- tmeops:no-transaction because of the index\nCREATE INDEX CONCURRENTLY i ON t (c);"))
        XCTAssertFalse(MigrationFile.isNoTransaction("-- tmeops:no-transactional is not the marker\nSELECT 1;"))
    }
}

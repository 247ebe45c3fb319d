import Foundation
import QuiesceBus
import QuiesceServiceBus
import QuiesceTestSupport
import Synchronization
import Testing

/// The test object on a libdbus-1 connection: what a GDBus caller (a requester) reaches.
@discardableResult
private func exportTestObject(on connection: ServingConnection) throws -> ServedObject {
    try connection.export(path: "/test", interface: try TestInterface.description(), properties: ["Count": .uint32(0)], handler: TestInterface.handler)
}

private func callTest(_ connection: BusConnection, _ server: ServingConnection, _ method: String, _ arguments: [BusValue] = [], timeout: Duration = .seconds(5)) async throws -> [BusValue] {
    try await connection.call(destination: server.uniqueName, path: "/test", interface: "org.quiesce.Test1", method: method, arguments: arguments, timeout: timeout)
}

@Suite("Bus connection (GDBus, what requesters call with) on a private dbus-daemon")
struct BusConnectionTests {
    static let values: [BusValue] = [
        .bool(true), .byte(255), .int16(-3), .uint16(65535), .int32(-70000), .uint32(4_000_000_000),
        .int64(-9_000_000_000), .uint64(18_000_000_000_000_000_000), .double(2.5), .string("grüße ✓"),
        .objectPath("/org/quiesce/Session/abc"), .signature("a{sv}"), .strings([]), .strings(["a", "b"]),
        .vardict(["lease-ms": .uint32(5000), "volumes": .strings(["/srv"]), "nested": .vardict(["x": .bool(false)])]),
        .structure([.string("writer"), .string("component")]),
        .array(elementType: "(ss)", [.structure([.string("a"), .string("b")])]),
        .stringDictionary(["/srv": "/snap/0-srv"]),
        .variant(.variant(.int32(7))),
    ]

    @Test("Values of every D-Bus type arrive unchanged", arguments: values)
    func roundTrip(value: BusValue) async throws {
        let bus = try await PrivateBus.start()
        let server = try await ServingConnection.connect(to: .address(bus.address))
        let client = try await BusConnection.connect(to: .address(bus.address))
        try exportTestObject(on: server)
        let reply = try await callTest(client, server, "Echo", [.variant(value)])
        #expect(reply == [.variant(value)])
        #expect(reply.first?.signature == "v")
    }

    @Test("A string with NUL, which D-Bus cannot carry, arrives whole with U+FFFD in its place")
    func stringWithNUL() async throws {
        let bus = try await PrivateBus.start()
        let server = try await ServingConnection.connect(to: .address(bus.address))
        let client = try await BusConnection.connect(to: .address(bus.address))
        try exportTestObject(on: server)
        let reply = try await callTest(client, server, "Echo", [.variant(.string("a\0b ✓"))])
        #expect(reply == [.variant(.string("a\u{FFFD}b ✓"))])
    }

    @Test("Name owners are followed as connections come and go; a taken name is refused")
    func names() async throws {
        let bus = try await PrivateBus.start()
        let watcher = try await BusConnection.connect(to: .address(bus.address))
        let changes = try await watcher.nameOwnerChanges(of: .namespace("org.quiesce.Writer"))
        let writer = try await BusConnection.connect(to: .address(bus.address))
        try await writer.requestName("org.quiesce.Writer.t")
        #expect(try await watcher.nameOwner("org.quiesce.Writer.t") == writer.uniqueName)
        #expect(try await watcher.listNames().contains("org.quiesce.Writer.t"))
        let other = try await BusConnection.connect(to: .address(bus.address))
        await #expect(throws: NameRequestError.self) { try await other.requestName("org.quiesce.Writer.t") }
        await writer.close()
        var seen: [NameOwnerChange] = []
        for await change in changes {
            seen.append(change)
            if change.newOwner == nil { break }
        }
        #expect(seen.map(\.name) == ["org.quiesce.Writer.t", "org.quiesce.Writer.t"])
        #expect(seen.first?.newOwner == writer.uniqueName)
        #expect(seen.last?.oldOwner == writer.uniqueName)
        #expect(try await watcher.nameOwner("org.quiesce.Writer.t") == nil)
        #expect(writer.isClosed)
    }

    @Test("A cancelled call ends at once; a call waiting when the peer leaves gets NoReply; one waiting when the bus goes away gets Disconnected")
    func callsThatEndWithoutAReply() async throws {
        let bus = try await PrivateBus.start()
        let server = try await ServingConnection.connect(to: .address(bus.address))
        let client = try await BusConnection.connect(to: .address(bus.address))
        try exportTestObject(on: server)

        let cancelled = Task { try await callTest(client, server, "Sleep", [.uint32(10_000)], timeout: .seconds(30)) }
        try await Task.sleep(for: .milliseconds(100))
        let started = ContinuousClock.now
        cancelled.cancel()
        await #expect(throws: BusError.self) { _ = try await cancelled.value }
        #expect(ContinuousClock.now - started < .seconds(5), "cancelled at once, not at the timeout")

        async let orphaned: [BusValue] = callTest(client, server, "Sleep", [.uint32(10_000)], timeout: .seconds(30))
        try await Task.sleep(for: .milliseconds(100))
        await server.close()
        do {
            _ = try await orphaned
            Issue.record("a call to a peer that left returned")
        } catch let error as BusError {
            #expect(error.isPeerGone, "\(error)")
        }

        let other = try await ServingConnection.connect(to: .address(bus.address))
        try exportTestObject(on: other)
        async let stranded: [BusValue] = callTest(client, other, "Sleep", [.uint32(10_000)], timeout: .seconds(30))
        try await Task.sleep(for: .milliseconds(100))
        await bus.stop()
        do {
            _ = try await stranded
            Issue.record("a call on a closed connection returned")
        } catch let error as BusError {
            #expect(error.name == BusError.disconnected, "\(error)")
        }
    }

    @Test("A connection notices when the bus goes away")
    func busVanishes() async throws {
        let bus = try await PrivateBus.start()
        let connection = try await BusConnection.connect(to: .address(bus.address))
        await bus.stop()
        await connection.waitUntilClosed()
        #expect(connection.isClosed)
        await #expect(throws: BusError.self) { try await connection.listNames() }
    }
}

import Foundation
import QuiesceBus
import QuiesceServiceBus
import QuiesceTestSupport
import Synchronization
import Testing

/// A served test object on `server` and a GDBus client calling it.
private struct Served {
    let bus: PrivateBus
    let server: ServingConnection
    let object: ServedObject
    let client: BusConnection

    static func start() async throws -> Served {
        let bus = try await PrivateBus.start()
        let server = try await ServingConnection.connect(to: .address(bus.address))
        let object = server.export(path: "/test", interface: try TestInterface.description(), properties: ["Count": .uint32(0)], handler: TestInterface.handler)
        return Served(bus: bus, server: server, object: object, client: try await BusConnection.connect(to: .address(bus.address)))
    }

    func call(_ method: String, _ arguments: [BusValue] = [], interface: String = TestInterface.name, path: String = "/test", timeout: Duration = .seconds(5)) async throws -> [BusValue] {
        try await client.call(destination: server.uniqueName, path: path, interface: interface, method: method, arguments: arguments, timeout: timeout)
    }

    /// The name of the error a call ends with.
    func errorName(_ method: String, _ arguments: [BusValue] = [], interface: String = TestInterface.name, path: String = "/test") async -> String? {
        do {
            _ = try await call(method, arguments, interface: interface, path: path)
            return nil
        } catch let error as BusError {
            return error.name
        } catch {
            return "\(error)"
        }
    }
}

@Suite("Serving connection (libdbus-1, the writers' bus) on a private dbus-daemon")
struct ServingConnectionTests {
    @Test("Values of every D-Bus type arrive unchanged: served to a GDBus caller, and in replies to its own calls", arguments: BusConnectionTests.values)
    func roundTrip(value: BusValue) async throws {
        let served = try await Served.start()
        #expect(try await served.call("Echo", [.variant(value)]) == [.variant(value)])
        // The other way: a GDBus object answers a call made on libdbus-1.
        _ = try await served.client.export(path: "/echo", interface: try TestInterface.description(), handler: TestInterface.handler)
        let reply = try await served.server.call(destination: served.client.uniqueName, path: "/echo", interface: TestInterface.name, method: "Echo", arguments: [.variant(value)])
        #expect(reply == [.variant(value)])
    }

    @Test("Named errors and callers reach the caller; calls that do not fit are refused by name; Peer and Introspect answer")
    func callsAndRefusals() async throws {
        let served = try await Served.start()
        await #expect(throws: BusError(name: "org.quiesce.Error.BadState", message: "not now")) { try await served.call("Fail") }
        #expect(try await served.call("WhoAmI") == [.string(served.client.uniqueName)])
        #expect(await served.errorName("FailBadly") == BusError.failed, "an error name libdbus-1 cannot send becomes Failed, not a timeout")
        // Refused before the handler runs, with the names GDBus uses.
        #expect(await served.errorName("Sleep", [.string("soon")]) == BusError.invalidArgs)
        #expect(await served.errorName("Vanish") == "org.freedesktop.DBus.Error.UnknownMethod")
        #expect(await served.errorName("Echo", [.variant(.int32(1))], interface: "org.quiesce.Other1") == "org.freedesktop.DBus.Error.UnknownMethod")
        #expect(await served.errorName("Echo", [.variant(.int32(1))], path: "/elsewhere") != nil)
        #expect(try await served.call("Ping", interface: "org.freedesktop.DBus.Peer") == [])
        let introspection = try #require(try await served.call("Introspect", interface: "org.freedesktop.DBus.Introspectable").first?.stringValue)
        #expect(introspection.contains("<interface name=\"org.quiesce.Test1\">"))
        #expect(introspection.contains("<interface name=\"org.freedesktop.DBus.Properties\">"))
        let root = try #require(try await served.call("Introspect", interface: "org.freedesktop.DBus.Introspectable", path: "/").first?.stringValue)
        #expect(root.contains("<node name=\"test\"/>"), "busctl tree finds the object from /: \(root)")
    }

    @Test("Properties are readable at once, announced only when told, and never written")
    func properties() async throws {
        let served = try await Served.start()
        let changes = Mutex<[BusValue]>([])
        let subscription = try await served.client.subscribe(
            sender: served.server.uniqueName, interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged", path: "/test"
        ) { signal in
            changes.withLock { $0.append(signal.arguments[1]) }
        }
        defer { subscription.cancel() }
        #expect(served.object.setPropertiesSilently(["Count": .uint32(3)]) == ["Count"])
        #expect(served.object.setPropertiesSilently(["Count": .uint32(3)]) == [])
        let properties = "org.freedesktop.DBus.Properties"
        #expect(try await served.call("Get", [.string(TestInterface.name), .string("Count")], interface: properties) == [.variant(.uint32(3))])
        #expect(try await served.call("GetAll", [.string(TestInterface.name)], interface: properties) == [.vardict(["Count": .uint32(3)])])
        try await Task.sleep(for: .milliseconds(200))
        #expect(changes.withLock { $0 }.isEmpty, "nothing announced yet")
        served.object.announceProperties(["Count"])
        _ = try await Harness.waitUntil("the announcement arrives", timeout: .seconds(5)) { changes.withLock { !$0.isEmpty } }
        #expect(changes.withLock { $0 } == [.vardict(["Count": .uint32(3)])])
        #expect(await served.errorName("Set", [.string(TestInterface.name), .string("Count"), .variant(.uint32(9))], interface: properties) == "org.freedesktop.DBus.Error.PropertyReadOnly")
        #expect(await served.errorName("Get", [.string(TestInterface.name), .string("Size")], interface: properties) == "org.freedesktop.DBus.Error.UnknownProperty")
        #expect(await served.errorName("GetAll", [.string("org.quiesce.Other1")], interface: properties) == BusError.invalidArgs)
        #expect(served.object.property("Count") == .uint32(3))
    }

    @Test("A slow handler does not hold up other calls: each reply is written by its own task")
    func concurrentCalls() async throws {
        let served = try await Served.start()
        async let slow: [BusValue] = served.call("Sleep", [.uint32(3000)], timeout: .milliseconds(300))
        for index in 0..<20 {
            #expect(try await served.call("Echo", [.variant(.int32(Int32(index)))]) == [.variant(.int32(Int32(index)))])
        }
        do {
            _ = try await slow
            Issue.record("the slow call did not time out")
        } catch let error as BusError {
            #expect(error.isTimeout)
        }
    }

    @Test("Name owners are followed; a taken name is refused; when the bus goes away, waiting calls fail and the connection ends")
    func namesAndTheEnd() async throws {
        let bus = try await PrivateBus.start()
        let watcher = try await ServingConnection.connect(to: .address(bus.address))
        let changes = try await watcher.nameOwnerChanges(of: "org.quiesce.Writer.t")
        let writer = try await ServingConnection.connect(to: .address(bus.address))
        try await writer.requestName("org.quiesce.Writer.t")
        #expect(try await watcher.nameOwner("org.quiesce.Writer.t") == writer.uniqueName)
        let other = try await ServingConnection.connect(to: .address(bus.address))
        await #expect(throws: NameRequestError.self) { try await other.requestName("org.quiesce.Writer.t") }
        await writer.close()
        #expect(writer.isClosed)
        var seen: [NameOwnerChange] = []
        for await change in changes {
            seen.append(change)
            if change.newOwner == nil { break }
        }
        #expect(seen.map(\.newOwner) == [writer.uniqueName, nil])
        #expect(try await watcher.nameOwner("org.quiesce.Writer.t") == nil)

        _ = other.export(path: "/test", interface: try TestInterface.description(), handler: TestInterface.handler)
        let stranded = Task {
            try await watcher.call(destination: other.uniqueName, path: "/test", interface: TestInterface.name, method: "Sleep", arguments: [.uint32(10_000)], timeout: .seconds(30))
        }
        try await Task.sleep(for: .milliseconds(100))
        await bus.stop()
        await #expect(throws: BusError.self) { _ = try await stranded.value }
        await watcher.waitUntilClosed()
        #expect(watcher.isClosed)
        await #expect(throws: BusError.self) { try await watcher.nameOwner("org.quiesce.Writer.t") }
    }
}

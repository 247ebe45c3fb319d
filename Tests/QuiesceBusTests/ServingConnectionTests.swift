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
        let object = try server.export(path: "/test", interface: try TestInterface.description(), properties: ["Count": .uint32(0)], handler: TestInterface.handler)
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
    @Test("Values of every D-Bus type arrive unchanged between two libdbus-1 connections (quiesced and a writer)", arguments: BusConnectionTests.values)
    func roundTrip(value: BusValue) async throws {
        let served = try await Served.start()
        let caller = try await ServingConnection.connect(to: .address(served.bus.address))
        let reply = try await caller.call(destination: served.server.uniqueName, path: "/test", interface: TestInterface.name, method: "Echo", arguments: [.variant(value)])
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
        // Set and announced at once, as quiesced publishes its sessions.
        served.object.setProperty("Count", .uint32(4))
        _ = try await Harness.waitUntil("the second announcement arrives", timeout: .seconds(5)) { changes.withLock { $0.count == 2 } }
        #expect(changes.withLock { $0.last } == .vardict(["Count": .uint32(4)]))
    }

    @Test("Objects come and go at paths chosen at run time; Introspect of a parent lists every child; a taken or malformed path is refused")
    func objectsAtRunTime() async throws {
        let served = try await Served.start()
        let interface = try TestInterface.description()
        let first = try served.server.export(path: "/org/quiesce/Session/a", interface: interface, handler: TestInterface.handler)
        _ = try served.server.export(path: "/org/quiesce/Session/b", interface: interface, handler: TestInterface.handler)
        #expect(throws: BusError.self) { try served.server.export(path: "/org/quiesce/Session/a", interface: interface, handler: TestInterface.handler) }
        #expect(throws: BusError.self) { try served.server.export(path: "/org/quiesce/../x", interface: interface, handler: TestInterface.handler) }
        let introspect = { (path: String) async throws -> String in
            try await served.call("Introspect", interface: "org.freedesktop.DBus.Introspectable", path: path).first?.stringValue ?? ""
        }
        let root = try await introspect("/")
        #expect(root.contains("<node name=\"org\"/>") && root.contains("<node name=\"test\"/>"), "\(root)")
        let sessions = try await introspect("/org/quiesce/Session")
        #expect(sessions.contains("<node name=\"a\"/>") && sessions.contains("<node name=\"b\"/>"), "\(sessions)")
        #expect(try await served.call("WhoAmI", path: "/org/quiesce/Session/a") == [.string(served.client.uniqueName)])
        first.unexport()
        #expect(await served.errorName("WhoAmI", path: "/org/quiesce/Session/a") == "org.freedesktop.DBus.Error.UnknownMethod")
        #expect(try await served.call("WhoAmI", path: "/org/quiesce/Session/b") == [.string(served.client.uniqueName)])
        #expect(!(try await introspect("/org/quiesce/Session")).contains("<node name=\"a\"/>"))
        // The path is free again.
        _ = try served.server.export(path: "/org/quiesce/Session/a", interface: interface, handler: TestInterface.handler)
    }

    @Test("Signals go out to subscribers; subscriptions get exactly the signals that match them, until cancelled")
    func signals() async throws {
        let served = try await Served.start()
        // libdbus-1 emits, GDBus listens.
        let heard = Mutex<[BusValue]>([])
        let listening = try await served.client.subscribe(sender: served.server.uniqueName, interface: TestInterface.name, member: "Ping") { signal in
            heard.withLock { $0.append(contentsOf: signal.arguments) }
        }
        defer { listening.cancel() }
        _ = try await served.client.listNames()  // GDBus sends its AddMatch without waiting: this follows it
        try served.server.emitSignal(path: "/test", interface: TestInterface.name, name: "Ping", arguments: [.uint32(1)])
        try served.server.emitSignal(path: "/test", interface: TestInterface.name, name: "Ping", arguments: [.uint32(2)], destination: served.client.uniqueName)
        #expect(throws: BusError.self) { try served.server.emitSignal(path: "not a path", interface: TestInterface.name, name: "Ping", arguments: []) }
        _ = try await Harness.waitUntil("both signals arrive", timeout: .seconds(5)) { heard.withLock { $0.count == 2 } }
        #expect(heard.withLock { $0 } == [.uint32(1), .uint32(2)])

        // Another libdbus-1 connection emits; subscriptions pick what they asked for.
        let emitter = try await ServingConnection.connect(to: .address(served.bus.address))
        let byPath = Mutex<[String]>([]), byNamespace = Mutex<[String]>([]), exact = Mutex<[String]>([])
        let subscriptions = [
            try await served.server.subscribe(interface: TestInterface.name, member: "Ping", path: "/one") { signal in byPath.withLock { $0.append(signal.path) } },
            try await served.server.subscribe(interface: "org.quiesce.Named1", arg0: "org.quiesce.Writer", arg0IsNamespace: true) { signal in
                byNamespace.withLock { $0.append(signal.arguments[0].stringValue ?? "") }
            },
            try await served.server.subscribe(sender: emitter.uniqueName, interface: "org.quiesce.Named1", arg0: "org.quiesce.Writer") { signal in
                exact.withLock { $0.append(signal.arguments[0].stringValue ?? "") }
            },
        ]
        for path in ["/one", "/two", "/one"] {
            try emitter.emitSignal(path: path, interface: TestInterface.name, name: "Ping", arguments: [.uint32(0)])
        }
        for name in ["org.quiesce.Writer", "org.quiesce.Writer.notes", "org.quiesce.WriterX", "org.other"] {
            try emitter.emitSignal(path: "/named", interface: "org.quiesce.Named1", name: "Named", arguments: [.string(name)])
        }
        try emitter.emitSignal(path: "/named", interface: "org.quiesce.Named1", name: "Named", arguments: [.string("end")])
        let end = try await served.server.subscribe(interface: "org.quiesce.Named1", arg0: "end") { _ in }
        defer { end.cancel() }
        _ = try await Harness.waitUntil("the signals arrive", timeout: .seconds(5)) { byNamespace.withLock { $0.count == 2 } && byPath.withLock { $0.count == 2 } }
        // The last signal went out after the others: once a Ping to ourselves returns, all are in.
        _ = try await served.server.call(destination: emitter.uniqueName, path: "/", interface: "org.freedesktop.DBus.Peer", method: "Ping")
        #expect(byPath.withLock { $0 } == ["/one", "/one"])
        #expect(byNamespace.withLock { $0 } == ["org.quiesce.Writer", "org.quiesce.Writer.notes"])
        #expect(exact.withLock { $0 } == ["org.quiesce.Writer"])
        subscriptions.forEach { $0.cancel() }
        subscriptions.forEach { $0.cancel() }  // twice is harmless
        try emitter.emitSignal(path: "/one", interface: TestInterface.name, name: "Ping", arguments: [.uint32(0)])
        _ = try await served.server.call(destination: emitter.uniqueName, path: "/", interface: "org.freedesktop.DBus.Peer", method: "Ping")
        try await Task.sleep(for: .milliseconds(100))
        #expect(byPath.withLock { $0.count } == 2, "nothing after cancel")
    }

    @Test("A call from libdbus-1 ends as its caller needs: a timeout is a timeout, a peer that leaves is gone, a cancelled task stops waiting, a malformed name is refused")
    func callOutcomes() async throws {
        let served = try await Served.start()
        let callee = try await ServingConnection.connect(to: .address(served.bus.address))
        _ = try callee.export(path: "/test", interface: try TestInterface.description(), handler: TestInterface.handler)
        let sleep: @Sendable (UInt32, Duration) async throws -> [BusValue] = { milliseconds, timeout in
            try await served.server.call(
                destination: callee.uniqueName, path: "/test", interface: TestInterface.name, method: "Sleep", arguments: [.uint32(milliseconds)], timeout: timeout
            )
        }
        do {
            _ = try await sleep(5000, .milliseconds(200))
            Issue.record("no timeout")
        } catch let error as BusError {
            #expect(error.isTimeout, "\(error)")
            #expect(!error.isPeerGone)
        }
        let cancelled = Task { try await sleep(10_000, .seconds(30)) }
        try await Task.sleep(for: .milliseconds(100))
        let clock = ContinuousClock()
        let start = clock.now
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { _ = try await cancelled.value }
        #expect(clock.now - start < .seconds(5), "the task stopped waiting when cancelled")
        #expect(try await sleep(0, .seconds(5)) == [], "the connection still works")

        let leaving = try await ServingConnection.connect(to: .address(served.bus.address))
        _ = try leaving.export(path: "/test", interface: try TestInterface.description(), handler: TestInterface.handler)
        let stranded = Task {
            try await served.server.call(destination: leaving.uniqueName, path: "/test", interface: TestInterface.name, method: "Sleep", arguments: [.uint32(10_000)], timeout: .seconds(30))
        }
        try await Task.sleep(for: .milliseconds(100))
        await leaving.close()
        do {
            _ = try await stranded.value
            Issue.record("the call outlived its peer")
        } catch let error as BusError {
            #expect(error.isPeerGone && !error.isTimeout, "\(error)")
        }
        for (destination, path, interface, method) in [
            ("not a name!", "/test", TestInterface.name, "Echo"), (served.client.uniqueName, "relative", TestInterface.name, "Echo"),
            (served.client.uniqueName, "/test", "nodots", "Echo"), (served.client.uniqueName, "/test", TestInterface.name, "Bad-Member"),
            (served.client.uniqueName, "/te\u{0}st", TestInterface.name, "Echo"),
        ] {
            await #expect(throws: BusError(name: BusError.invalidArgs, message: "malformed destination, object path, interface or method name")) {
                try await served.server.call(destination: destination, path: path, interface: interface, method: method)
            }
        }
    }

    @Test("Thousands of calls from many tasks at once each get their own reply, none lost")
    func manyCallsAtOnce() async throws {
        let served = try await Served.start()
        let callee = try await ServingConnection.connect(to: .address(served.bus.address))
        _ = try callee.export(path: "/test", interface: try TestInterface.description(), handler: TestInterface.handler)
        let mismatches = try await withThrowingTaskGroup(of: Int.self) { group in
            for task in 0..<16 {
                group.addTask {
                    var wrong = 0
                    for index in 0..<150 {
                        let value = BusValue.variant(.int32(Int32(task * 1000 + index)))
                        let reply = try await served.server.call(destination: callee.uniqueName, path: "/test", interface: TestInterface.name, method: "Echo", arguments: [value])
                        if reply != [value] { wrong += 1 }
                    }
                    return wrong
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(mismatches == 0)
    }

    @Test("The bus's own methods work on libdbus-1 as on GDBus: names, activatable names, credentials")
    func busMethods() async throws {
        let served = try await Served.start()
        try await served.server.requestName("org.quiesce.Writer.busmethods")
        let names = try await served.client.listNames()
        #expect(names.contains("org.quiesce.Writer.busmethods") && names.contains(served.server.uniqueName))
        #expect(try await served.server.listNames().contains(served.client.uniqueName))
        #expect(try await served.server.listActivatableNames().contains("org.freedesktop.DBus"))
        #expect(try await served.server.unixUser(of: served.client.uniqueName) == getuid())
        #expect(try await served.server.unixCredentials(of: served.client.uniqueName).uid == getuid())
        await #expect(throws: BusError.self) { try await served.server.unixUser(of: ":1.999999") }
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
        let changes = try await watcher.nameOwnerChanges(of: .name("org.quiesce.Writer.t"))
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

        _ = try other.export(path: "/test", interface: try TestInterface.description(), handler: TestInterface.handler)
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

#!/usr/bin/python3
"""A Quiesce writer in Python (python3-dbus), written from dbus/org.quiesce.Writer1.xml,
dbus/schemas/ and docs/protocol.md alone: what a writer in another language does.

It sends only the metadata keys the schema requires (plus freeze-timeout-ms), takes events only
from the owner of org.quiesce.Coordinator (others get org.quiesce.Error.AccessDenied), keeps its
State/LastError/LastMessage/Sessions properties with PropertiesChanged, and prints one JSON line
per event it receives ({"event", "session", "sender", "options"}) for the tests to read."""
import argparse
import json
import sys
import uuid

import dbus
import dbus.bus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

INTERFACE = "org.quiesce.Writer1"
PATH = "/org/quiesce/Writer"
COORDINATOR = "org.quiesce.Coordinator"
# The state after each event when it succeeds (docs/protocol.md, "States").
STATES = {
    "PrepareForBackup": "stable", "PrepareForSnapshot": "waiting-for-freeze", "Freeze": "waiting-for-thaw",
    "Thaw": "waiting-for-post-snapshot", "PostSnapshot": "waiting-for-backup-complete", "Abort": "stable",
    "BackupComplete": "stable", "BackupShutdown": "stable", "PreRestore": "waiting-for-post-restore", "PostRestore": "stable",
}
FAILED_STATES = {
    "PrepareForBackup": "failed-at-prepare-backup", "PrepareForSnapshot": "failed-at-prepare-snapshot", "Freeze": "failed-at-freeze",
    "Thaw": "failed-at-thaw", "PostSnapshot": "failed-at-post-snapshot", "Abort": "failed-at-freeze",
    "BackupComplete": "failed-at-backup-complete", "BackupShutdown": "failed-at-backup-shutdown",
    "PreRestore": "failed-at-pre-restore", "PostRestore": "failed-at-post-restore",
}


class AccessDenied(dbus.DBusException):
    _dbus_error_name = "org.quiesce.Error.AccessDenied"


def plain(value):
    """A D-Bus value as plain JSON."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, dbus.Boolean):
        return bool(value)
    if isinstance(value, (int, float)):
        return int(value) if isinstance(value, int) else float(value)
    return str(value)


def event_method(event):
    """The method of one event: (s session, a{sv} options) -> a{sv} result."""
    def handler(self, session, options, sender=None):
        return self.handle(event, str(session), options, sender)
    handler.__name__ = event
    return dbus.service.method(INTERFACE, in_signature="sa{sv}", out_signature="a{sv}", sender_keyword="sender")(handler)


class ForeignWriter(dbus.service.Object):
    def __init__(self, bus, options):
        super().__init__(bus, PATH)
        self.bus = bus
        self.options = options
        self.sessions = set()
        self.properties = {
            "Name": options.name, "ClassId": "6f1f8a52-3f0e-4d5b-9d84-1c2a3b4c5d6e", "InstanceId": str(uuid.uuid4()),
            "ApplicationLevel": "back-end", "State": "stable", "LastError": "no-error", "LastMessage": "", "Sessions": dbus.UInt32(0),
        }

    @dbus.service.method(INTERFACE, in_signature="", out_signature="s")
    def Identify(self):
        metadata = {
            "name": self.options.name, "class-id": self.properties["ClassId"], "instance-id": self.properties["InstanceId"],
            "freeze-timeout-ms": self.options.freeze_timeout_ms,
            "components": [{"name": "data", "files": [{"path": self.options.data, "recursive": True}]}],
        }
        if self.options.broken_metadata:
            del metadata["class-id"]
        return json.dumps(metadata)

    def handle(self, event, session, options, sender):
        if sender != self.bus.get_name_owner(COORDINATOR):
            raise AccessDenied("writer events are accepted only from the owner of org.quiesce.Coordinator")
        print(json.dumps({"event": event, "session": session, "sender": str(sender), "options": plain(options)}), flush=True)
        failure, message = "", ""
        if self.options.veto and self.options.veto.split(":")[0] == event:
            _, failure, message = self.options.veto.split(":", 2)
        state = FAILED_STATES[event] if failure else STATES[event]
        if not failure and event in ("Abort", "BackupShutdown") and self.properties["State"].startswith("failed-at-"):
            state = self.properties["State"]  # Abort and BackupShutdown leave a failed state as it was
        if event in ("BackupShutdown",):
            self.sessions.discard(session)
        else:
            self.sessions.add(session)
        changed = {"Sessions": dbus.UInt32(len(self.sessions))}
        if state != self.properties["State"] or failure:
            changed.update({"State": state, "LastError": failure or "no-error", "LastMessage": message})
        self.properties.update(changed)
        self.PropertiesChanged(INTERFACE, changed, [])
        return dbus.Dictionary({
            "state": dbus.String(state), "failure": dbus.String(failure), "message": dbus.String(message),
            "duration-us": dbus.UInt64(0), "components": dbus.Dictionary({}, signature="sa{sv}"),
        }, signature="sv")

    for _event in STATES:
        locals()[_event] = event_method(_event)

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="ss", out_signature="v")
    def Get(self, interface, name):
        return self.properties[name]

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="s", out_signature="a{sv}")
    def GetAll(self, interface):
        return dbus.Dictionary(self.properties, signature="sv")

    @dbus.service.signal(dbus.PROPERTIES_IFACE, signature="sa{sv}as")
    def PropertiesChanged(self, interface, changed, invalidated):
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--address", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--data", required=True, help="the directory of its one component")
    parser.add_argument("--freeze-timeout-ms", type=int, default=60000)
    parser.add_argument("--broken-metadata", action="store_true", help="leave class-id out of Identify's reply")
    parser.add_argument("--veto", help="EVENT:failure-code:message, e.g. Freeze:retryable:busy")
    options = parser.parse_args()
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.bus.BusConnection(options.address)
    ForeignWriter(bus, options)
    name = dbus.service.BusName("org.quiesce.Writer." + options.name, bus)
    print("writer %s is on the bus" % options.name, file=sys.stderr, flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()

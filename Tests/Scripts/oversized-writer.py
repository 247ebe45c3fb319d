#!/usr/bin/python3
"""A Quiesce writer in Python (python3-dbus), written from dbus/org.quiesce.Writer1.xml and
docs alone, that sends the coordinator more than it accepts, for the bounded-input tests:
a huge Identify reply, many components, thousands of component reports for components that do
not exist, or huge backup metadata. It answers every caller (no sender check: it is hostile)."""
import argparse
import json
import uuid

import dbus
import dbus.bus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

INTERFACE = "org.quiesce.Writer1"
PATH = "/org/quiesce/Writer"
STATES = {
    "PrepareForBackup": "stable", "PrepareForSnapshot": "waiting-for-freeze", "Freeze": "waiting-for-thaw",
    "Thaw": "waiting-for-post-snapshot", "PostSnapshot": "waiting-for-backup-complete", "Abort": "stable",
    "BackupComplete": "stable", "BackupShutdown": "stable", "PreRestore": "waiting-for-post-restore", "PostRestore": "stable",
}


def event_method(event):
    """The method of one event: (s session, a{sv} options) -> a{sv} result."""
    def handler(self, session, options):
        return self.answer(event)
    handler.__name__ = event
    return dbus.service.method(INTERFACE, in_signature="sa{sv}", out_signature="a{sv}")(handler)


class OversizedWriter(dbus.service.Object):
    def __init__(self, bus, options):
        super().__init__(bus, PATH)
        self.options = options
        self.properties = {
            "Name": options.name, "ClassId": "9b7e4b1e-5d0a-4c3e-8f43-0d6c2b7a1e55", "InstanceId": str(uuid.uuid4()),
            "ApplicationLevel": "back-end", "State": "stable", "LastError": "no-error", "LastMessage": "", "Sessions": dbus.UInt32(0),
        }

    def component(self, name, caption=""):
        return {"logical-path": "", "name": name, "type": "file-group", "caption": caption, "selectable": True,
                "files": [{"path": self.options.data, "pattern": "*", "recursive": True}]}

    @dbus.service.method(INTERFACE, in_signature="", out_signature="s")
    def Identify(self):
        components = [self.component("data", "x" * self.options.identify_bytes)]
        components += [self.component("extra%d" % index) for index in range(self.options.components)]
        return json.dumps({
            "name": self.options.name, "class-id": self.properties["ClassId"], "instance-id": self.properties["InstanceId"],
            "application-level": "back-end", "freeze-timeout-ms": 60000, "restore-method": "restore-if-can-replace",
            "components": components,
        })

    def answer(self, event):
        components = {}
        for index in range(self.options.report_components):
            messages = dbus.Dictionary({event: dbus.String("boo")}, signature="ss")
            components["ghost%d" % index] = dbus.Dictionary({"failure-messages": messages}, signature="sv")
        if self.options.metadata_bytes and event == "PrepareForBackup":
            components["data"] = dbus.Dictionary({"backup-metadata": dbus.String("m" * self.options.metadata_bytes)}, signature="sv")
        self.properties["State"] = STATES[event]
        self.PropertiesChanged(INTERFACE, {"State": STATES[event]}, [])
        return dbus.Dictionary({
            "state": dbus.String(STATES[event]), "failure": dbus.String(""), "message": dbus.String(""),
            "duration-us": dbus.UInt64(0), "components": dbus.Dictionary(components, signature="sa{sv}"),
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
    parser.add_argument("--data", required=True, help="the directory of its one real component")
    parser.add_argument("--identify-bytes", type=int, default=0, help="pad the Identify reply by this many bytes")
    parser.add_argument("--components", type=int, default=0, help="declare this many more components")
    parser.add_argument("--report-components", type=int, default=0, help="report on this many components that do not exist")
    parser.add_argument("--metadata-bytes", type=int, default=0, help="set this much backup metadata in PrepareForBackup")
    options = parser.parse_args()
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.bus.BusConnection(options.address)
    writer = OversizedWriter(bus, options)
    name = dbus.service.BusName("org.quiesce.Writer." + options.name, bus)
    print("writer %s is on the bus" % options.name, flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()

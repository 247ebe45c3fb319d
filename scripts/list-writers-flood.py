#!/usr/bin/python3
"""Calls org.quiesce.Coordinator1.ListWriters as fast as one connection can, for a while, and
prints how many calls it made: the admin-query flood of the benchmark and the security tests."""
import sys
import time

import dbus
import dbus.bus

address, seconds = sys.argv[1], float(sys.argv[2])
bus = dbus.bus.BusConnection(address)
coordinator = bus.get_object("org.quiesce.Coordinator", "/org/quiesce/Coordinator", introspect=False)
list_writers = coordinator.get_dbus_method("ListWriters", "org.quiesce.Coordinator1")
calls, deadline = 0, time.monotonic() + seconds
while time.monotonic() < deadline:
    list_writers()
    calls += 1
print(calls)

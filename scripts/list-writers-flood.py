#!/usr/bin/python3
"""Calls org.quiesce.Coordinator1.ListWriters as fast as one connection can, for SECONDS, and prints
how many calls it has made, twice a second and at the end (a killed flood leaves its count):
the admin-query flood of the benchmark and the security tests.
Usage: list-writers-flood.py ADDRESS SECONDS"""
import sys
import time

import dbus
import dbus.bus

address, seconds = sys.argv[1], float(sys.argv[2])
bus = dbus.bus.BusConnection(address)
coordinator = bus.get_object("org.quiesce.Coordinator", "/org/quiesce/Coordinator", introspect=False)
list_writers = coordinator.get_dbus_method("ListWriters", "org.quiesce.Coordinator1")
calls, deadline, reported = 0, time.monotonic() + seconds, time.monotonic()
while time.monotonic() < deadline:
    list_writers()
    calls += 1
    if time.monotonic() - reported >= 0.5:
        print(calls, flush=True)
        reported = time.monotonic()
print(calls, flush=True)

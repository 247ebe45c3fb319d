#!/usr/bin/python3
"""A FAKE device-snapshot command, for the tests of the freeze and command providers only.

This machine has no device-mapper (so no LVM snapshots) and no ZFS, so nothing here can snapshot
a block device. This command follows the real contract (docs/providers.md) but "snapshots" each
filesystem by copying it with cp -a (reading works while a filesystem is frozen) into
STORE/SET-ID/N, and prints where each copy is.

Usage: fake-device-snapshot.py --store DIR [--hang] [--fail MESSAGE] (create|delete) SET-ID
  --hang  create writes STORE/SET-ID.hanging (holding its pid) and never finishes: kill tests.
  --fail  create prints MESSAGE to standard error and exits 1."""
import json
import os
import shutil
import subprocess
import sys
import time

arguments = sys.argv[1:]
action, set_id = arguments[-2], arguments[-1]
options = arguments[:-2]
store = options[options.index("--store") + 1]
request = json.loads(sys.stdin.readline())
assert request["action"] == action and request["set-id"] == set_id, "the request does not match the arguments"

if action == "create":
    if "--fail" in options:
        print(options[options.index("--fail") + 1], file=sys.stderr)
        sys.exit(1)
    if "--hang" in options:
        marker = os.path.join(store, set_id + ".hanging")
        with open(marker + ".new", "w") as pid:
            pid.write(str(os.getpid()))
        os.rename(marker + ".new", marker)  # whole when it appears
        while True:
            time.sleep(3600)
    snapshots = {}
    for index, mount in enumerate(sorted({volume["mount-point"] for volume in request["volumes"]})):
        target = os.path.join(store, set_id, str(index))
        os.makedirs(target)
        subprocess.run(["cp", "-a", "--one-file-system", mount + "/.", target], check=True)
        snapshots[mount] = target
    print(json.dumps({"snapshots": snapshots}))
elif action == "delete":
    shutil.rmtree(os.path.join(store, set_id), ignore_errors=True)
else:
    sys.exit("unknown action " + action)

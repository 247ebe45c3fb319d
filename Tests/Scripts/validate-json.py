#!/usr/bin/python3
"""Validates JSON documents against one of Quiesce's schemas in dbus/schemas with
python3-jsonschema, an implementation independent of ours.

    validate-json.py SCHEMA-NAME FILE...      (e.g. writer-metadata FILE)

Prints one line per invalid document and exits 1 if any is; the $refs between the schema
files resolve inside dbus/schemas (nothing is fetched)."""
import json
import os
import sys

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMAS = os.path.join(HERE, "..", "..", "dbus", "schemas")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    store = {}
    for name in os.listdir(SCHEMAS):
        with open(os.path.join(SCHEMAS, name)) as handle:
            schema = json.load(handle)
        store[schema["$id"]] = schema
    schema = store["https://quiesce.invalid/schemas/%s.schema.json" % sys.argv[1]]
    jsonschema.Draft202012Validator.check_schema(schema)
    resolver = jsonschema.RefResolver.from_schema(schema, store=store)
    validator = jsonschema.Draft202012Validator(schema, resolver=resolver, format_checker=jsonschema.FormatChecker())
    failed = False
    for path in sys.argv[2:]:
        with open(path) as handle:
            document = json.load(handle)
        for error in validator.iter_errors(document):
            failed = True
            print("%s: %s: %s" % (path, "/".join(str(part) for part in error.absolute_path) or "(top)", error.message))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

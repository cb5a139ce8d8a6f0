"""Turns the JSON Schemas that refresh-schemas.sh generated from npm type declarations into the vendored
schemas of k8s/schemas/: one file per custom resource, `<group>/<kind>-<version>.json`, draft-07, strict (an
object refuses properties it does not list), without descriptions or status.

    python3 schemas.py write OUT_DIR SOURCE...

SOURCE is `model:API_VERSION:KIND:FILE` (a @kubernetes-models type: the whole object),
`plain:PATH:FILE` (any other schema, written to OUT_DIR/PATH as is, descriptions dropped) or
`spec:API_VERSION:KIND:FILE:DTS` (a cdk8s import: the spec only; DTS is its declaration file, whose `@schema
Type#name` tags give each property's upstream name where the TypeScript name differs, e.g. `postInitSQL`).
`metadata` is left open here: the validator checks it against Kubernetes' own ObjectMeta."""

import json
import re
import sys
from pathlib import Path


def upstream_names(dts: str) -> dict:
    """(type, TypeScript property) -> upstream property name, where they differ."""
    names = {}
    for m in re.finditer(r"@schema (\w+)#([^\s*]+)\s*\*/\s*readonly (\w+)\??:", dts):
        if m.group(2) != m.group(3):
            names[(m.group(1), m.group(3))] = m.group(2)
    return names


def is_quantity_class(d: dict) -> bool:
    """cdk8s wraps int-or-string values (quantities, ports) in a class with one `value` property."""
    return d.get("type") == "object" and set(d.get("properties", {})) == {"value"}


def strip(node):
    """Drops descriptions, and `status`, which is written by controllers, never by a manifest."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k in ("description", "markdownDescription"):
                continue
            if k == "properties" and isinstance(v, dict):
                out[k] = {pk: strip(pv) for pk, pv in v.items() if pk != "status"}
            else:
                out[k] = strip(v)
        return out
    if isinstance(node, list):
        return [strip(x) for x in node]
    return node


def reachable(schema: dict) -> dict:
    """Keeps only the definitions the schema still references."""
    defs = schema.get("definitions", {})
    keep, todo = set(), [schema]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/definitions/"):
                name = ref.split("/")[-1]
                if name not in keep:
                    keep.add(name)
                    todo.append(defs[name])
            todo.extend(v for k, v in node.items() if k != "definitions")
        elif isinstance(node, list):
            todo.extend(node)
    schema["definitions"] = {k: defs[k] for k in sorted(keep)}
    return schema


def from_model(api_version: str, kind: str, generated: dict) -> dict:
    defs = generated["definitions"]
    root = defs[generated["$ref"].split("/")[-1]]
    root["properties"]["metadata"] = {"type": "object"}
    root["required"] = sorted(set(root.get("required", [])) | {"apiVersion", "kind"})
    return {"$schema": "http://json-schema.org/draft-07/schema#", "title": f"{kind} ({api_version})",
            "$ref": generated["$ref"], "definitions": defs}


def from_spec(api_version: str, kind: str, generated: dict, dts: str) -> dict:
    defs = generated["definitions"]
    for (type_name, ts_name), name in upstream_names(dts).items():
        d = defs.get(type_name)
        if d and ts_name in d.get("properties", {}):
            d["properties"][name] = d["properties"].pop(ts_name)
            if ts_name in d.get("required", []):
                d["required"] = [name if r == ts_name else r for r in d["required"]]
    for name, d in list(defs.items()):
        if is_quantity_class(d):
            defs[name] = {"type": ["string", "number"]}
    spec_ref = generated["$ref"]
    root = {"type": "object", "additionalProperties": False, "required": ["apiVersion", "kind", "spec"],
            "properties": {"apiVersion": {"const": api_version}, "kind": {"const": kind},
                           "metadata": {"type": "object"}, "spec": {"$ref": spec_ref}}}
    return {"$schema": "http://json-schema.org/draft-07/schema#", "title": f"{kind} ({api_version})",
            **root, "definitions": defs}


def main(argv):
    if len(argv) < 3 or argv[0] != "write":
        sys.exit(__doc__)
    out = Path(argv[1])
    for source in argv[2:]:
        parts = source.split(":")
        if parts[0] == "plain":
            target = out / parts[1]
            schema = strip(json.loads(Path(parts[2]).read_text()))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
            print(f"{parts[1]}: {len(schema.get('definitions', {}))} definitions")
            continue
        form, api_version, kind, file = parts[:4]
        generated = json.loads(Path(file).read_text())
        if form == "model":
            schema = from_model(api_version, kind, generated)
        else:
            schema = from_spec(api_version, kind, generated, Path(parts[4]).read_text())
        schema = reachable(strip(schema))
        group, _, version = api_version.rpartition("/")
        target = out / group / f"{kind.lower()}-{version}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
        print(f"{target.relative_to(out)}: {len(schema['definitions'])} definitions")


if __name__ == "__main__":
    main(sys.argv[1:])

"""Compact OpenAPI 3.0 checker for the Neon API v2 contract tests (stdlib only).

Checks request and response bodies against the schemas of the operation a
method and path resolve to: type, required, enum, properties,
additionalProperties, items, allOf, oneOf, anyOf, $ref, nullable,
minimum/maximum, minLength/maxLength, pattern, and the formats date-time
and uuid. Query parameters are checked for being known and, when required,
present. Used by neon_proxy.py (and runnable alone:
`openapi_check.py SPEC METHOD PATH STATUS BODY-FILE`).
"""
import json
import re
import sys

DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class Spec:
    def __init__(self, path, base_path="/api/v2"):
        with open(path) as f:
            self.doc = json.load(f)
        self.base_path = base_path
        self.routes = []
        for tmpl, item in self.doc["paths"].items():
            segs = tmpl.strip("/").split("/")
            for method, op in item.items():
                if method in ("get", "post", "put", "patch", "delete") and isinstance(op, dict):
                    params = list(item.get("parameters", [])) + list(op.get("parameters", []))
                    self.routes.append((method.upper(), segs, tmpl, op, params))

    def resolve(self, node):
        seen = 0
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise ValueError("external $ref not supported: " + ref)
            node = self.doc
            for part in ref[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            seen += 1
            if seen > 50:
                raise ValueError("$ref loop at " + ref)
        return node

    def find(self, method, path):
        """(template, operation, parameters) for METHOD PATH, or None."""
        if path.startswith(self.base_path):
            path = path[len(self.base_path):]
        segs = path.split("?", 1)[0].strip("/").split("/")
        best = None
        for m, tsegs, tmpl, op, params in self.routes:
            if m != method or len(tsegs) != len(segs):
                continue
            literal = 0
            for t, s in zip(tsegs, segs):
                if t.startswith("{") and t.endswith("}"):
                    if s == "":
                        break
                elif t == s:
                    literal += 1
                else:
                    break
            else:
                if best is None or literal > best[0]:
                    best = (literal, tmpl, op, params)
        return None if best is None else best[1:]

    # ---- schema validation ------------------------------------------------
    def validate(self, schema, value, where="$"):
        errors = []
        self._v(schema, value, where, errors)
        return errors

    def _v(self, schema, value, where, errors):
        schema = self.resolve(schema)
        if not isinstance(schema, dict) or schema == {}:
            return
        if value is None:
            if not schema.get("nullable"):
                # a null is only valid when the schema (or all of an allOf) allows it
                if "allOf" in schema and schema.get("nullable"):
                    return
                errors.append("%s: null is not allowed" % where)
            return
        if "allOf" in schema:
            for sub in schema["allOf"]:
                self._v(sub, value, where, errors)
        if "anyOf" in schema:
            if not any(not self.validate(sub, value, where) for sub in schema["anyOf"]):
                errors.append("%s: matches none of anyOf" % where)
        if "oneOf" in schema:
            n = sum(1 for sub in schema["oneOf"] if not self.validate(sub, value, where))
            if n != 1:
                errors.append("%s: matches %d of oneOf (need exactly 1)" % (where, n))
        t = schema.get("type")
        if t is not None and not self._type_ok(t, value):
            errors.append("%s: expected %s, got %s" % (where, t, type(value).__name__))
            return
        if "enum" in schema and value not in schema["enum"]:
            errors.append("%s: %r is not one of %s" % (where, value, schema["enum"]))
        if isinstance(value, str):
            fmt = schema.get("format")
            if fmt == "date-time" and not DATE_TIME.match(value):
                errors.append("%s: %r is not a date-time" % (where, value))
            if fmt == "uuid" and not UUID.match(value):
                errors.append("%s: %r is not a uuid" % (where, value))
            if "pattern" in schema and not re.search(schema["pattern"], value):
                errors.append("%s: %r does not match %s" % (where, value, schema["pattern"]))
            if "minLength" in schema and len(value) < schema["minLength"]:
                errors.append("%s: shorter than %d" % (where, schema["minLength"]))
            if "maxLength" in schema and len(value) > schema["maxLength"]:
                errors.append("%s: longer than %d" % (where, schema["maxLength"]))
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in schema and value < schema["minimum"]:
                errors.append("%s: %r below minimum %r" % (where, value, schema["minimum"]))
            if "maximum" in schema and value > schema["maximum"]:
                errors.append("%s: %r above maximum %r" % (where, value, schema["maximum"]))
        if isinstance(value, dict):
            props = schema.get("properties", {})
            for name in schema.get("required", []):
                if name not in value:
                    errors.append("%s: missing required property %r" % (where, name))
            for name, sub in props.items():
                if name in value:
                    self._v(sub, value[name], "%s.%s" % (where, name), errors)
            extra = schema.get("additionalProperties")
            if extra is False:
                for name in value:
                    if name not in props:
                        errors.append("%s: unexpected property %r" % (where, name))
            elif isinstance(extra, dict):
                for name, v in value.items():
                    if name not in props:
                        self._v(extra, v, "%s.%s" % (where, name), errors)
        if isinstance(value, list) and "items" in schema:
            for i, item in enumerate(value):
                self._v(schema["items"], item, "%s[%d]" % (where, i), errors)

    @staticmethod
    def _type_ok(t, value):
        if t == "object":
            return isinstance(value, dict)
        if t == "array":
            return isinstance(value, list)
        if t == "string":
            return isinstance(value, str)
        if t == "boolean":
            return isinstance(value, bool)
        if t == "integer":
            return (isinstance(value, int) and not isinstance(value, bool)) or (
                isinstance(value, float) and value.is_integer())
        if t == "number":
            return isinstance(value, (int, float)) and not isinstance(value, bool)
        return True

    # ---- requests and responses ------------------------------------------
    def check_request(self, method, path, query, body_bytes):
        """Violations (strings) of a request; query is a dict of lists."""
        found = self.find(method, path)
        if found is None:
            return ["%s %s: no such operation in the spec" % (method, path)]
        tmpl, op, params = found
        where = "%s %s request" % (method, tmpl)
        errors = []
        qparams = {}
        for p in params:
            p = self.resolve(p)
            if p.get("in") == "query":
                qparams[p["name"]] = p
        for name in query:
            if name not in qparams:
                errors.append("%s: unknown query parameter %r" % (where, name))
            else:
                sch = self.resolve(qparams[name].get("schema", {}))
                if sch.get("type") in ("integer", "boolean"):
                    v = query[name][0]
                    ok = re.match(r"^-?\d+$", v) if sch["type"] == "integer" else v in ("true", "false")
                    if not ok:
                        errors.append("%s: query %s=%r is not %s" % (where, name, v, sch["type"]))
        for name, p in qparams.items():
            if p.get("required") and name not in query:
                errors.append("%s: missing required query parameter %r" % (where, name))
        rb = self.resolve(op.get("requestBody")) if op.get("requestBody") else None
        if not body_bytes:
            if rb is not None and rb.get("required"):
                errors.append("%s: body is required" % where)
            return errors
        if rb is None:
            errors.append("%s: the spec defines no request body" % where)
            return errors
        try:
            body = json.loads(body_bytes)
        except ValueError as e:
            return errors + ["%s: body is not json: %s" % (where, e)]
        schema = rb.get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            return errors + ["%s: no application/json request schema" % where]
        return errors + [where + " " + e for e in self.validate(schema, body)]

    def check_response(self, method, path, status, content_type, body_bytes):
        found = self.find(method, path)
        if found is None:
            return ["%s %s: no such operation in the spec" % (method, path)]
        tmpl, op, _ = found
        where = "%s %s response %d" % (method, tmpl, status)
        responses = op.get("responses", {})
        resp = responses.get(str(status))
        if resp is None:
            if 200 <= status < 300:
                return ["%s: status not declared by the spec" % where]
            resp = responses.get("default")
            if resp is None:
                return ["%s: status not declared and no default" % where]
        resp = self.resolve(resp)
        content = resp.get("content")
        if not content:
            return [] if not body_bytes else ["%s: body where the spec declares none" % where]
        if "application/json" not in (content_type or ""):
            return ["%s: content type %r is not application/json" % (where, content_type)]
        try:
            body = json.loads(body_bytes)
        except ValueError as e:
            return ["%s: body is not json: %s" % (where, e)]
        schema = content.get("application/json", {}).get("schema")
        return [where + " " + e for e in self.validate(schema, body)]


def main(argv):
    if len(argv) != 6:
        print("usage: openapi_check.py SPEC METHOD PATH STATUS BODY-FILE", file=sys.stderr)
        return 2
    spec = Spec(argv[1])
    with open(argv[5], "rb") as f:
        body = f.read()
    errs = spec.check_response(argv[2], argv[3], int(argv[4]), "application/json", body)
    for e in errs:
        print(e)
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

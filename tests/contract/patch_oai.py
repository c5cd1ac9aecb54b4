#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Make a Prism-ready copy of one of Twilio's OpenAPI files.

Twilio's specs declare some form fields as arrays (StatusCallbackEvent and
nine others in twilio_api_v2010.json) without saying how a form body encodes
them, so Prism rejects every request that sends one ("must be array").  This
script copies a spec and, in every operation's
application/x-www-form-urlencoded request body, adds an `encoding` entry with
style "form" and explode true (repeated keys: StatusCallbackEvent=answered&
StatusCallbackEvent=completed) for each array-typed property that has none
yet.  See docs/design/platform.md#contract-tests.  The input file is never modified.

Usage: python3 patch_oai.py IN.json OUT.json
Standard library only.
"""

import json
import sys

FORM = "application/x-www-form-urlencoded"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch",
           "trace")


def resolve(doc, node):
    """Follow local $ref pointers ("#/components/schemas/x") in doc."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 32:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            return node
        cur = doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            cur = cur[part]
        node = cur
        seen += 1
    return node


def form_media(doc, op):
    """The form media object of op's request body, or None."""
    body = resolve(doc, op.get("requestBody"))
    if not isinstance(body, dict):
        return None
    media = body.get("content", {}).get(FORM)
    return media if isinstance(media, dict) else None


def form_properties(doc, op):
    """Declared form properties of op: {name: resolved schema} ({} if none)."""
    media = form_media(doc, op)
    if media is None:
        return {}
    schema = resolve(doc, media.get("schema"))
    if not isinstance(schema, dict):
        return {}
    props = schema.get("properties", {})
    return {k: resolve(doc, v) for k, v in props.items()}


def patch(doc):
    """Add the form/explode encodings to doc in place.  Returns how many
    properties were patched."""
    count = 0
    for item in doc.get("paths", {}).values():
        if not isinstance(item, dict):
            continue
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            media = form_media(doc, op)
            if media is None:
                continue
            for name, schema in form_properties(doc, op).items():
                if not isinstance(schema, dict) or \
                        schema.get("type") != "array":
                    continue
                enc = media.setdefault("encoding", {})
                if name in enc:
                    continue
                enc[name] = {"style": "form", "explode": True}
                count += 1
    return count


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: patch_oai.py IN.json OUT.json\n")
        return 2
    with open(argv[1], encoding="utf-8") as f:
        doc = json.load(f)
    n = patch(doc)
    with open(argv[2], "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False)
    sys.stderr.write("patch_oai: %d array properties given form/explode "
                     "encoding\n" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

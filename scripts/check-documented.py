#!/usr/bin/env python3
"""Fails when a public symbol declared in Sources/MedVol has no doc comment.

Reads the symbol graph that `swift package generate-documentation --target MedVol` extracts (under .build);
symbols the compiler synthesises (no source location) are not counted.
"""
import glob
import json
import sys

graphs = glob.glob(".build/*/extracted-symbols/*/MedVol/MedVol.symbols.json")
if not graphs:
    sys.exit("no MedVol symbol graph under .build: run `swift package generate-documentation --target MedVol` first")
symbols = json.load(open(graphs[0]))["symbols"]
declared = [s for s in symbols if s.get("accessLevel") == "public" and "/Sources/MedVol/" in s.get("location", {}).get("uri", "")]
missing = [s for s in declared if "docComment" not in s]
for symbol in missing:
    where = symbol["location"]["uri"].split("/Sources/MedVol/")[1]
    print(f"Sources/MedVol/{where}:{symbol['location']['position']['line'] + 1}: "
          f"{symbol['kind']['displayName']} {'.'.join(symbol['pathComponents'])} has no doc comment")
print(f"{len(declared) - len(missing)} of {len(declared)} public symbols declared in Sources/MedVol are documented")
sys.exit(1 if missing else 0)

"""The include graph of src/ reads bottom up: each folder includes only its own
headers and those of the folders below it, in the order Makefile's LAYERS gives
(base < model < estimators < formats < data < train < explain < serve < cli), and
no file includes itself through others (no circle). Prints each violation and
exits 1, else says how many includes it checked.

usage: python3 tests/layers.py   (from the repository's root; make unit-test runs it)
"""
import os
import re
import sys

layers = re.search(r"^LAYERS := (.*)$", open("Makefile").read(), re.M)[1].split()
rank = {name: i for i, name in enumerate(layers)}
includes = {}
for layer in layers:
    for name in sorted(os.listdir(os.path.join("src", layer))):
        path = f"{layer}/{name}"
        with open(os.path.join("src", path)) as f:
            includes[path] = re.findall(r'^#include "([\w/.]+)"', f.read(), re.M)
problems = []
for path, incs in includes.items():
    for inc in incs:
        layer = inc.split("/")[0]
        if layer not in rank:
            problems.append(f"{path} includes {inc}, which is in no layer")
        elif rank[layer] > rank[path.split("/")[0]]:
            problems.append(f"{path} includes {inc}: an arrow up, from {path.split('/')[0]} to {layer}")


def circle(start):
    """A path of includes from start's header back to it, or None."""
    seen, stack = set(), [(start, [start])]
    while stack:
        at, trail = stack.pop()
        for inc in includes.get(at, []):
            if inc == start:
                return trail + [inc]
            if inc not in seen:
                seen.add(inc)
                stack.append((inc, trail + [inc]))
    return None


for path in includes:
    if path.endswith(".h") and (trail := circle(path)):
        problems.append("a circle: " + " -> ".join(trail))
for p in problems:
    print(p)
if problems:
    sys.exit(1)
print(f"layers: {sum(map(len, includes.values()))} includes in {len(includes)} files, none upward, no circle")

"""The include graph of src/ reads bottom up: each folder includes only its own
headers and those of the folders below it, in the order Makefile's LAYERS gives
(base < model < estimators < formats < data < train < explain < serve < cli), and
no file includes itself through others (no circle); and outside model/ no
file assigns a field of struct model (models are made by model/builder.h and
read through const views), and nobody tells estimators apart by their kind
string (each estimator offers a checked view: trees_of, blend_of). Prints each violation and exits 1, else says how
many includes and files it checked.

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
# a variable declared as a model (model *m, const model *m) whose field is assigned
FIELDS = r"(?:schema|features|predictor|output|metadata|n_features|n_outputs|hash|background|n_background)"
checked = 0
for layer in layers:
    if layer == "model":
        continue
    for name in sorted(os.listdir(os.path.join("src", layer))):
        if not name.endswith(".c"):
            continue
        text = open(os.path.join("src", layer, name)).read()
        checked += 1
        for m in re.finditer(r"strcmp\([^;]*ops->kind", text):
            line = text.count("\n", 0, m.start()) + 1
            problems.append(f"{layer}/{name}:{line}: compares a predictor's kind string (use its estimator's view)")
        for var in set(re.findall(r"\bmodel\s*\*\s*(\w+)", text)):
            pattern = rf"\b{var}->{FIELDS}(?:\.\w+|\[[^]]*\])*\s*(?:=[^=]|\+=|-=|\+\+|--)"
            for m in re.finditer(pattern, text):
                line = text.count("\n", 0, m.start()) + 1
                problems.append(f"{layer}/{name}:{line}: assigns a field of struct model ({m.group(0).strip()})")
for p in problems:
    print(p)
if problems:
    sys.exit(1)
print(f"layers: {sum(map(len, includes.values()))} includes in {len(includes)} files, none upward, no circle; "
      f"no field of struct model assigned in {checked} files outside model/")

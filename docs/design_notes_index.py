"""Writes docs/design-notes.md, the index of the design notes under docs/design-notes/: each
file's title and, under it, every note's title (its `##`/`###` headings and, in the issue #17
files, the bold titles that open its paragraphs), so a search of the index finds any note.
Run from anywhere: `python3 docs/design_notes_index.py`. A new notes file must be added to
ORDER (the script refuses to leave one out)."""

import os
import re

os.chdir(os.path.dirname(os.path.abspath(__file__)))
ORDER = [
    "training.md",
    "bo-engine.md",
    "runtime.md",
    "study.md",
    "user-data-and-models.md",
    "python.md",
    "mobo-suite/overview.md",
    "mobo-suite/reference-point.md",
    "mobo-suite/warps-exploration-mixed.md",
    "mobo-suite/ask-time.md",
    "mobo-suite/steps-and-inputs.md",
    "mobo-suite/rules-measured.md",
    "mobo-suite/prior-mean-and-tails.md",
    "mobo-suite/trend-and-warp-choice.md",
    "mobo-suite/unseen-parts.md",
    "mobo-suite/fits-and-ask-speed.md",
    "mobo-suite/draws-and-fit-recipe.md",
    "mobo-suite/penicillin-trials.md",
    "mobo-suite/model-recipe.md",
]
found = sorted(
    os.path.relpath(os.path.join(folder, name), "design-notes")
    for folder, _, names in os.walk("design-notes")
    for name in names
)
missing = set(found) ^ set(ORDER)
if missing:
    raise SystemExit(f"add to or remove from ORDER: {sorted(missing)}")
generic = {"What went wrong", "The rule", "Measured", "Why", "What it did", "What was wrong",
           "What differed from BoTorch", "Rejected"}
out = ["# Design notes: where qfront departs from `design.md` / `methods.md`, and why", "",
       "The notes are kept one topic to a file under [`design-notes/`](design-notes/). Code and",
       "other documents cite a note by its title (\"design notes, 'Anchor steps'\"); every title",
       "is listed here under its file, so a search of this page finds it. This page is written",
       "by `python3 docs/design_notes_index.py`.", ""]
section = None
for path in ORDER:
    lines = open(f"design-notes/{path}").read().split("\n")
    title = lines[0][2:]
    issue = path.startswith("mobo-suite/")
    group = "The MOBO engine on problems it has never seen (issue #17)" if issue else "By part of the tool"
    if group != section:
        out += (["", f"## {group}", ""] if section else [f"## {group}", ""])
        if issue:
            out += ["How `bench/python/mobo_suite.py` drives qfront beside Optuna and BoTorch on 28 problems,",
                    "each failure it found, what was changed and what was measured and not kept, in the",
                    "order the sessions found them.", ""]
        section = group
    out.append(f"- [**{title}**](design-notes/{path})")
    seen_heading = False
    for i, l in enumerate(lines[1:], 1):
        m = re.match(r"^#{2,3} (.*)", l)
        if m:
            out.append(f"  - {m.group(1)}"); seen_heading = True
        elif issue and l.startswith("**") and lines[i - 1] == "":
            m = re.match(r"^\*\*([A-Z].*?)\*\*", " ".join(lines[i:i + 4]))
            if not m: continue
            t = m.group(1).rstrip(". ")
            if t.startswith("Where it stood") or t.startswith("What changed") or t in generic: continue
            out.append(("    - " if seen_heading else "  - ") + t)
open("design-notes.md", "w").write("\n".join(out).rstrip("\n") + "\n")

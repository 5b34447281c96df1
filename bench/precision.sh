#!/usr/bin/env bash
# Secret-scanning precision on real code: secgate and the gitleaks CLI
# (v8.30.1, the library secgate links) on the working tree and the whole
# history of the public repositories in bench/precision/repos.tsv, at pinned
# commits. None of them holds a live credential, so every blocking finding
# is a false positive. Each finding of either tool was classified by hand once
# (bench/precision/classes.tsv: repository, mode, commit, path, line, rule,
# class); the script reruns both tools and prints, per repository, the
# findings of each, secgate's blocking findings, and precision against the
# recorded classes (a finding nobody classified is listed: classify it).
#
# Target: no repository fails the gate; secgate's blocking findings <= the
# findings gitleaks reports on the same repositories.
#
# Repositories come from PRECISION_MIRROR/<owner>+<name>/repo when that
# exists (the workplace's mirrors), else are cloned from GitHub.
#
# Usage: bench/precision.sh [--collect]   (--collect: also write every
# finding to bench/.out/precision/findings.tsv, for classifying new ones)
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
out=bench/.out/precision
mkdir -p "$out/repos" bench/.out/bin
mirror=${PRECISION_MIRROR:-/work/.mirror}
GITLEAKS_VERSION=v8.30.1
if ! bench/.out/bin/gitleaks version 2>/dev/null | grep -q "${GITLEAKS_VERSION#v}"; then
  GOBIN="$PWD/bench/.out/bin" go install "github.com/zricethezav/gitleaks/v8@$GITLEAKS_VERSION"
fi
go build -o bench/.out/bin/secgate ./cmd/secgate

: > "$out/findings.tsv"
while IFS=$'\t' read -r repo commit lang why; do
  case "$repo" in ''|'#'*) continue ;; esac
  dir="$out/repos/${repo/\//+}"
  if [ ! -d "$dir/.git" ]; then
    src="$mirror/${repo/\//+}/repo"
    [ -d "$src" ] || src="https://github.com/$repo.git"
    git clone -q --no-checkout "$src" "$dir"
  fi
  git -C "$dir" -c advice.detachedHead=false checkout -q -f "$commit"
  for mode in tree history; do
    if [ "$mode" = tree ]; then
      sg_args=(); gl_args=(dir "$dir")
    else
      sg_args=(--history); gl_args=(git "$dir")
    fi
    env -u CI bench/.out/bin/secgate run --only secrets --format json "${sg_args[@]}" "$dir" > "$out/sg.json" 2>/dev/null || true
    bench/.out/bin/gitleaks "${gl_args[@]}" --no-banner --log-level error --exit-code 0 --report-format json --report-path "$out/gl.json" >/dev/null 2>&1 || true
    python3 - "$repo" "$mode" "$dir" "$out/sg.json" "$out/gl.json" >> "$out/findings.tsv" <<'PY'
import json, os, sys
repo, mode, root, sgp, glp = sys.argv[1:]
sg = json.load(open(sgp))
for f in sg["findings"]:
    l = f["location"]
    blocking = f["action"] in ("fail", "block-production")
    print("\t".join([repo, mode, l.get("commit", "")[:12], l["path"], str(l.get("line", 0)), f["rule"], "secgate", f["severity"], "block" if blocking else "-", f.get("context", "")]))
gl = json.load(open(glp)) if os.path.getsize(glp) else []
for f in gl:
    p = os.path.relpath(f["File"], root) if os.path.isabs(f["File"]) else f["File"]
    if p.startswith(root.rstrip("/") + "/"):
        p = p[len(root.rstrip("/")) + 1:]
    print("\t".join([repo, mode, f.get("Commit", "")[:12], p, str(f["StartLine"]), f["RuleID"], "gitleaks", "-", "-", "-"]))
PY
  done
done < bench/precision/repos.tsv

python3 - "$out/findings.tsv" bench/precision/classes.tsv bench/precision/repos.tsv <<'PY'
import collections, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
repos = [l.split("\t")[0] for l in open(sys.argv[3]) if l.strip() and not l.startswith("#")]
classes = {}
try:
    for l in open(sys.argv[2]):
        if l.startswith("#") or not l.strip():
            continue
        repo, mode, commit, path, line, rule, cls = l.rstrip("\n").split("\t")[:7]
        classes[(repo, mode, commit, path, line, rule)] = cls
except FileNotFoundError:
    pass
per = collections.defaultdict(lambda: collections.Counter())
unclassified = []
for r in rows:
    repo, mode, commit, path, line, rule, tool, sev, block, ctx = r
    key = (repo, mode, commit, path, line, rule)
    cls = classes.get(key)
    if cls is None:
        unclassified.append(r)
        cls = "?"
    c = per[repo]
    c[f"{tool}-{mode}"] += 1
    true = cls in ("live", "hardcoded")  # a gate should stop both
    if true:
        c[f"{tool}-{mode}-live"] += 1
    if tool == "secgate" and block == "block":
        c[f"block-{mode}"] += 1
        if true:
            c[f"block-{mode}-live"] += 1
hdr = ["repository", "gitleaks tree", "gitleaks hist", "secgate tree", "secgate hist", "secgate blocking tree", "blocking hist", "true positives"]
print("\t".join(hdr))
tot = collections.Counter()
for repo in sorted(repos):
    c = per[repo]
    tot.update(c)
    live = c["gitleaks-tree-live"] + c["gitleaks-history-live"]
    print("\t".join([repo, str(c["gitleaks-tree"]), str(c["gitleaks-history"]), str(c["secgate-tree"]), str(c["secgate-history"]), str(c["block-tree"]), str(c["block-history"]), str(live)]))
print("\t".join(["total", str(tot["gitleaks-tree"]), str(tot["gitleaks-history"]), str(tot["secgate-tree"]), str(tot["secgate-history"]), str(tot["block-tree"]), str(tot["block-history"]), str(tot["gitleaks-tree-live"] + tot["gitleaks-history-live"])]))
def prec(live, n):
    return "n/a (no findings)" if n == 0 else f"{live / n:.2f} ({live}/{n})"
print()
print("precision of secgate's blocking findings (true positives / blocking):", prec(tot["block-tree-live"] + tot["block-history-live"], tot["block-tree"] + tot["block-history"]))
print("precision of gitleaks' findings (true positives / reported):", prec(tot["gitleaks-tree-live"] + tot["gitleaks-history-live"], tot["gitleaks-tree"] + tot["gitleaks-history"]))
failing = [r for r in sorted(per) if per[r]["block-tree"] + per[r]["block-history"] > per[r]["block-tree-live"] + per[r]["block-history-live"]]
print("repositories the gate fails on a false positive:", ", ".join(failing) or "none")
gl_total = tot["gitleaks-tree"] + tot["gitleaks-history"]
bl_total = tot["block-tree"] + tot["block-history"]
ok = not failing and bl_total <= gl_total
print(f"target (no repository fails on a false positive; secgate blocking {bl_total} <= gitleaks findings {gl_total}):", "met" if ok else "NOT met")
if unclassified:
    print(f"\n{len(unclassified)} findings not classified yet (add them to bench/precision/classes.tsv):")
    for r in unclassified:
        print("  " + "\t".join(r))
PY

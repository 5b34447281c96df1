# Writes each ```yaml block of a markdown file whose first line is
# "# workflow: NAME" to DIR/.github/workflows/NAME.yml (awk -v dir=DIR).
/^```yaml$/ { inblock=1; buf=""; next }
inblock && /^```$/ { if (name != "") { f = dir "/.github/workflows/" name ".yml"; printf "%s", buf > f; close(f) } inblock=0; name=""; next }
inblock { if ($0 ~ /^# workflow: /) { name=$0; sub(/^# workflow: /, "", name); gsub(/[^a-z0-9]+/, "-", name) } buf = buf $0 "\n" }

# Shared helpers of the bench/ scripts (sourced, not run).

# timed CMD...: seconds of wall-clock time of one run of CMD (its output dropped)
timed() {
  local s e
  s=$(date +%s.%N)
  "$@" >/dev/null 2>&1 || true
  e=$(date +%s.%N)
  awk -v s="$s" -v e="$e" 'BEGIN { printf "%.6f\n", e - s }'
}

# ratio A B: A / B
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f\n", a / b }'; }

# median N...: the median of its arguments
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }

# measured CMD...: "wall cpu rss" of one run (seconds, user+system seconds,
# peak RSS in MB; its output dropped; $out/time is scratch)
measured() {
  /usr/bin/time -f '%e %U %S %M' -o "$out/time" "$@" >/dev/null 2>&1 || true
  # the last line: time writes "Command exited with non-zero status N" first
  tail -n 1 "$out/time" | awk '{ printf "%.3f %.3f %.0f\n", $1, $2 + $3, $4 / 1024 }'
}

# col N "a b c"...: the median of the Nth fields of its arguments
col() {
  local i=$1
  shift
  # shellcheck disable=SC2046
  median $(printf '%s\n' "$@" | awk -v i="$i" '{ print $i }')
}

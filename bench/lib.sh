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

# peakmem CMD...: "anon file" — the peak anonymous and file-backed resident
# memory in MB of CMD's process tree (CMD and its children, summed as they
# run: gitleaks' git log counts with it), sampled every 10 ms. A run of its
# own, not timed: the sampling costs CPU. Anonymous memory is what a
# memory limit presses on; file-backed pages (the binary, mapped git packs)
# are clean page cache the kernel drops under pressure.
peakmem() {
  "$@" >/dev/null 2>&1 &
  local pid=$! anon=0 file=0 a f p k v state
  while :; do
    a=0 f=0 state=
    for p in "$pid" $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
      { while read -r k v _; do
        case $k in
          State:) [ "$p" = "$pid" ] && state=$v ;;
          RssAnon:) a=$((a + v)) ;;
          RssFile:) f=$((f + v)) ;;
        esac
      done < /proc/"$p"/status; } 2>/dev/null || true # a child may be gone
    done
    [ -z "$state" ] || [ "$state" = Z ] && break
    [ "$a" -gt "$anon" ] && anon=$a
    [ "$f" -gt "$file" ] && file=$f
    sleep 0.01
  done
  wait "$pid" || true
  echo "$((anon / 1024)) $((file / 1024))"
}

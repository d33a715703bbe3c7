# What the bench scripts share (sourced by scripts/bench-build.sh and
# scripts/bench-dh.sh; POSIX sh).

# "median1 median2 median3": the median of each of the three
# space-separated columns of file $1 (one run a line).
column_medians() {
  for col in 1 2 3; do
    cut -d' ' -f$col "$1" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
  done | tr '\n' ' '
}

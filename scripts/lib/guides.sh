# The guides' checks (sourced by scripts/test; about two seconds, no network).

# check_guides — every error sentence docs/troubleshooting.md quotes is one the code can show
# (scripts/lib/guides/quotes.py), and every relative link of the user and operator guides points at a file.
check_guides() {
  local root="$1"
  python3 "$root/scripts/lib/guides/quotes.py" "$root"
  python3 "$root/scripts/lib/guides/links.py" "$root"
}

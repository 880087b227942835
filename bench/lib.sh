# Shared by the bench scripts (sourced from the repository root).

# bench_need COMMAND[:PACKAGE]...: installs from Debian the packages of the commands that are missing.
bench_need() {
  local missing=() item command package
  for item in "$@"; do
    command=${item%%:*}
    package=${item#*:}
    command -v "$command" >/dev/null || [ -x "/usr/sbin/$command" ] || missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# bench_build_pnyx: the README's release build (runtime exclusivity checks off in every module), in its own build
# folder; sets PNYX to the binary.
bench_build_pnyx() {
  local build=(swift build -c release --scratch-path .build-opt -Xswiftc -enforce-exclusivity=unchecked)
  echo "building pnyx (release; the first build takes several minutes)…" >&2
  "${build[@]}" --product pnyx >/dev/null
  PNYX="$("${build[@]}" --show-bin-path)/pnyx"
}

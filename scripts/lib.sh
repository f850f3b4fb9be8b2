# Shared helpers for scripts/* (sourced, not run).
# shellcheck shell=bash

# missing_pkgs PKG... prints the Debian packages among PKG that are not
# installed, one a line.
missing_pkgs() {
	local p
	for p in "$@"; do
		if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
			printf '%s\n' "$p"
		fi
	done
}

# ensure_pkgs WHAT PKG... installs the missing ones among PKG (apt-get update
# first), and prints nothing when none is missing. WHAT names the caller in
# messages.
ensure_pkgs() {
	local what=$1
	shift
	local missing=()
	mapfile -t missing < <(missing_pkgs "$@")
	[ "${#missing[@]}" -eq 0 ] && return 0
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "$what: missing packages and no apt-get (these scripts target Debian): ${missing[*]}" >&2
		return 1
	fi
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		if ! command -v sudo >/dev/null 2>&1; then
			echo "$what: missing packages, not root and no sudo: ${missing[*]}" >&2
			return 1
		fi
		sudo=(sudo)
	fi
	echo "$what: installing ${missing[*]}" >&2
	local log
	log=$(mktemp)
	if ! { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } \
		>"$log" 2>&1 </dev/null; then
		tail -n 20 "$log" >&2
		rm -f "$log"
		echo "$what: installing ${missing[*]} failed (apt-get output above)" >&2
		return 1
	fi
	rm -f "$log"
}

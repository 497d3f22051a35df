#!/usr/bin/env bash
# images/bootstrap.sh KIND — make a local base image without any registry.
#
#   tiny    dockstep-local/tiny:bootstrap     busybox-static rootfs (~2 MB)
#   debian  dockstep-local/debian:bookworm    debootstrap --variant=minbase bookworm
#
# Idempotent: if the tag already exists, nothing is built. Prints ONLY the
# image id (sha256:<64 hex>) on stdout; progress goes to stderr. Installs
# busybox-static / debootstrap with apt when missing (root needed then) and
# starts the engine through scripts/ensure-docker.sh when none answers.
#
# Env: DOCKSTEP_DEBIAN_MIRROR overrides the mirror, which is otherwise read
# from the host's apt sources (never hard-coded); TMPDIR for the work dir.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/.." && pwd)"
STATE="${DOCKSTEP_STATE:-$REPO_ROOT/.dockstep}"

TINY_TAG="dockstep-local/tiny:bootstrap"
DEBIAN_TAG="dockstep-local/debian:bookworm"
SUITE="bookworm"

log() { printf 'bootstrap: %s\n' "$*" >&2; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }

usage() {
    echo "usage: $0 tiny|debian" >&2
    exit 2
}

[[ $# -eq 1 ]] || usage
KIND="$1"
case "$KIND" in
tiny) TAG="$TINY_TAG" ;;
debian) TAG="$DEBIAN_TAG" ;;
*) usage ;;
esac

image_id() { docker image inspect --format '{{.Id}}' "$1" 2>/dev/null; }

# Print the id of $TAG and exit, if it exists.
print_if_present() {
    local id
    if id="$(image_id "$TAG")" && [[ "$id" =~ ^sha256:[0-9a-f]{64}$ ]]; then
        printf '%s\n' "$id"
        exit 0
    fi
}

# apt-get install PKG unless installed; only `apt-get update` when needed.
ensure_pkg() {
    local pkg="$1" status
    status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
    [[ "$status" == "install ok installed" ]] && return 0
    [[ "$(id -u)" -eq 0 ]] || die "package $pkg is missing and installing it needs root: apt-get install -y $pkg"
    log "installing $pkg with apt-get"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$pkg" </dev/null >&2; then
        apt-get update </dev/null >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$pkg" </dev/null >&2
    fi
}

# The Debian mirror apt already uses: the URIs: line of the stanza in the
# deb822 *.sources files that carries the release suite (not -security,
# -updates), else the matching `deb URI SUITE ...` line of sources.list.
debian_mirror() {
    if [[ -n "${DOCKSTEP_DEBIAN_MIRROR:-}" ]]; then
        printf '%s\n' "$DOCKSTEP_DEBIAN_MIRROR"
        return
    fi
    local files=() f m=""
    for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list.d/*.sources; do
        [[ -f "$f" ]] && files+=("$f")
    done
    if ((${#files[@]})); then
        m="$(awk '
            function flush() {
                if (uri != "" && types ~ /(^| )deb( |$)/ && enabled != "no" && \
                    suites ~ /(^| )(bookworm|stable)( |$)/ && found == "") found = uri
                uri = ""; types = ""; suites = ""; enabled = ""
            }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            tolower($1) == "types:"   { $1 = ""; types = $0 }
            tolower($1) == "uris:"    { uri = $2 }
            tolower($1) == "suites:"  { $1 = ""; suites = $0 }
            tolower($1) == "enabled:" { enabled = tolower($2) }
            END { flush(); print found }
        ' "${files[@]}")"
    fi
    if [[ -z "$m" ]]; then
        files=()
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
            [[ -f "$f" ]] && files+=("$f")
        done
        if ((${#files[@]})); then
            m="$(awk '
                $1 == "deb" {
                    i = 2
                    if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                    if ($(i + 1) ~ /^(bookworm|stable)$/) { print $i; exit }
                }
            ' "${files[@]}")"
        fi
    fi
    [[ "$m" =~ ^(https?|file):// ]] ||
        die "could not find the Debian mirror in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list (set DOCKSTEP_DEBIAN_MIRROR)"
    printf '%s\n' "${m%/}"
}

WORK=""
cleanup() {
    [[ -n "$WORK" && -d "$WORK" ]] || return 0
    # debootstrap mounts proc/sys inside the target; never delete through them.
    local mnt
    while read -r mnt; do
        umount -l "$mnt" 2>/dev/null || true
    done < <(awk -v w="$WORK" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r)
    rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

build_tiny() {
    ensure_pkg busybox-static
    local bb=/bin/busybox root
    "$bb" --list-full >/dev/null 2>&1 || die "$bb is not a working busybox"
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/dockstep-tiny.XXXXXX")"
    root="$WORK/rootfs"
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,var/tmp,proc,sys,dev,home}
    cp "$bb" "$root/bin/busybox"
    chmod 0755 "$root/bin/busybox"
    local applet
    while read -r applet; do
        [[ -n "$applet" && ! -e "$root/$applet" ]] || continue
        mkdir -p "$root/$(dirname "$applet")"
        ln -s /bin/busybox "$root/$applet"
    done < <("$bb" --list-full)
    [[ -e "$root/bin/sh" ]] || ln -s /bin/busybox "$root/bin/sh"
    chmod 1777 "$root/tmp" "$root/var/tmp"
    chmod 0700 "$root/root"
    cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
    cat >"$root/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
nobody:x:65534:
EOF
    chmod 0644 "$root/etc/passwd" "$root/etc/group"
    log "importing $TAG"
    tar --numeric-owner --owner=0 --group=0 -C "$root" -c . |
        docker import --change 'CMD ["/bin/sh"]' \
            --message "dockstep images/bootstrap.sh tiny (busybox-static)" - "$TAG" >&2
}

build_debian() {
    ensure_pkg debootstrap
    local mirror root t0
    mirror="$(debian_mirror)"
    WORK="$(mktemp -d "${TMPDIR:-/var/tmp}/dockstep-debian.XXXXXX")"
    root="$WORK/rootfs"
    log "debootstrap --variant=minbase $SUITE from $mirror (takes ~25 s)"
    t0=$(date +%s.%N)
    if ! debootstrap --variant=minbase "$SUITE" "$root" "$mirror" </dev/null >&2; then
        if [[ -f "$root/debootstrap/debootstrap.log" ]]; then
            echo "bootstrap: last lines of debootstrap.log:" >&2
            tail -n 20 "$root/debootstrap/debootstrap.log" >&2
        fi
        die "debootstrap from $mirror failed"
    fi
    # Smaller image: drop what apt can fetch again.
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* 2>/dev/null || true
    log "debootstrap took $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s; importing $TAG"
    t0=$(date +%s.%N)
    tar --numeric-owner -C "$root" -c . |
        docker import --change 'CMD ["/bin/sh"]' \
            --message "dockstep images/bootstrap.sh debian (debootstrap minbase $SUITE)" - "$TAG" >&2
    log "import took $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
}

"$REPO_ROOT/scripts/ensure-docker.sh" >&2

print_if_present

# One builder per kind at a time (parallel tests may all ask for the image).
mkdir -p "$STATE"
exec 9>"$STATE/bootstrap-$KIND.lock"
flock 9
print_if_present # another process may have built it while we waited

SECONDS=0
case "$KIND" in
tiny) build_tiny ;;
debian) build_debian ;;
esac
cleanup
WORK=""
exec 9>&-

id="$(image_id "$TAG")" || die "import finished but $TAG is missing"
log "made $TAG ($id) in ${SECONDS} s"
printf '%s\n' "$id"

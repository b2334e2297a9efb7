#!/usr/bin/env bash
# The path of the README's first command (`make run`) in a virtualenv built
# from requirements.txt alone, so that code which imports a package that only
# requirements-dev.txt installs (pypdf once, pytest, factory_boy, ...) fails
# here, although every test passes in the development virtualenv.
#
#   bash scripts/runtime_smoke.sh
#
# In a fresh SQLite database under a temporary folder, in debug mode with
# eager Celery (as `make run`): check_system, migrate, seed_demo; then every
# demo case exported in each format (pdf, json) and variant (full, vendor)
# from the shell, once as demo-legal through the Export row and the render
# task (what the case page does), and the first one rendered in parts by
# worker processes and joined (the path of long timelines); every PDF must
# pass verify_export
# with its anchors: the development CA made in debug mode
# (var/keys/export-signing/ca.pem) and the development ledger key
# (ledger_public_key); and the direct load's checker (Polars) is made and
# fed. Exits non-zero at the first failure; .ci/run counts it in its verdict.
#
# Overridable: PYTHON (creates the virtualenv), RUNTIME_VENV (.venv-runtime).
# The virtualenv is rebuilt from scratch whenever requirements.txt changes
# (a package removed from it must disappear from the virtualenv too).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
VENV="${RUNTIME_VENV:-.venv-runtime}"
PY="$VENV/bin/python"
say() { printf 'runtime-only: %s\n' "$*"; }
fail() { printf 'runtime-only: FAIL: %s\n' "$*" >&2; exit 1; }

# --- the virtualenv: requirements.txt and nothing else
wanted="$(sha256sum requirements.txt | cut -d' ' -f1)"
if [ ! -x "$PY" ] || [ "$(cat "$VENV/.requirements-sha256" 2>/dev/null)" != "$wanted" ]; then
    say "building $VENV from requirements.txt alone"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$PY" -m pip install --disable-pip-version-check -q -r requirements.txt > "$VENV.pip.log" 2>&1 \
        || { cat "$VENV.pip.log" >&2; fail "pip install -r requirements.txt"; }
    rm -f "$VENV.pip.log"
    echo "$wanted" > "$VENV/.requirements-sha256"
fi
for dev in pytest pytest_django factory hypothesis playwright schemathesis; do
    if "$PY" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$dev') is None)"; then
        fail "$VENV has the dev-only package '$dev': it must hold requirements.txt alone"
    fi
done

# --- a fresh database and private folders; debug mode, eager Celery
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
unset CELERY_BROKER_URL CELERY_RESULT_BACKEND CACHE_URL DJANGO_SETTINGS_MODULE
export DJANGO_DEBUG=1
export DATABASE_URL="sqlite:///$work/db.sqlite3"
export PRIVATE_STORAGE_ROOT="$work/private"
export DISCLOSURE_ANCHOR_DIR="$work/anchor"
export PYTHONDONTWRITEBYTECODE=1
manage() { "$PY" manage.py "$@"; }

say "check_system, migrate, seed_demo (make run's steps)"
"$PY" scripts/check_system.py
manage migrate --noinput -v 0
manage seed_demo > "$work/seed.txt" || { cat "$work/seed.txt"; fail "seed_demo"; }

refs="$(manage shell -v 0 -c \
    "from disclosure.cases.models import Case
print(' '.join(Case.objects.order_by('reference').values_list('reference', flat=True)))")"
[ -n "$refs" ] || fail "seed_demo made no case"
say "demo cases: $refs"

# --- the direct load's checker: only PostgreSQL imports run it, so no step
# above does, and it imports Polars only when made
manage shell -v 0 -c "
from disclosure.affected.cleanlines import Checker
checker = Checker(['email', 'country'], b'\\n', emails=True)
checker.feed(b'a@contoso.com,US\\nA@Contoso.com,DE\\n')
result = checker.result()
assert (result.rows, result.emails, sorted(result.countries)) == (2, 1, ['DE', 'US']), result
" || fail "the direct load's checker (Polars) on the runtime requirements"
say "the direct load's checker runs"

# --- exports: each case in each format and variant, and as demo-legal
count=0
pdfs=()
for ref in $refs; do
    for format in pdf json; do
        for variant in full vendor; do
            out="$work/$ref-$variant.$format"
            manage export_case "$ref" -o "$out" --format "$format" --variant "$variant" \
                2> "$work/export.log" || { cat "$work/export.log" >&2; fail "export_case $ref $format $variant"; }
            [ -s "$out" ] || fail "export_case $ref $format $variant wrote nothing"
            cat "$work/export.log" >> "$work/exports.log"
            count=$((count + 1))
            if [ "$format" = pdf ]; then pdfs+=("$out"); fi
        done
    done
    out="$work/$ref-as-legal.pdf"
    manage export_case "$ref" -o "$out" --as demo-legal 2> "$work/export.log" \
        || { cat "$work/export.log" >&2; fail "export_case $ref --as demo-legal (the case page's path)"; }
    cat "$work/export.log" >> "$work/exports.log"
    count=$((count + 1))
    pdfs+=("$out")
done
# A timeline over 500 events is rendered in parts by worker processes and
# joined (exports/pdfjoin.py); no demo case is that long, so force it.
first="${refs%% *}"
manage shell -v 0 -c "
from pathlib import Path
from disclosure.cases.models import Case
from disclosure.exports import services
case = Case.objects.get(reference='$first')
data, _bundle, pages, signed = services.produce(
    case=case, variant='full', communications='full', format='pdf', split=2
)
assert signed and pages > 1, (signed, pages)
Path('$work/$first-in-parts.pdf').write_bytes(data)
" 2>> "$work/exports.log" || { cat "$work/exports.log" >&2; fail "$first rendered in parts and joined"; }
count=$((count + 1))
pdfs+=("$work/$first-in-parts.pdf")
if grep -q "Step [0-9] - " "$work/exports.log"; then
    fail "WeasyPrint's progress lines are printed by export_case"
fi
say "$count exports written"

# --- every PDF verifies against the development anchors
ca="var/keys/export-signing/ca.pem"
[ -f "$ca" ] || fail "debug mode made no development CA at $ca"
# The ledger's public key as --ledger-key HEX (the same key, read directly,
# where the ledger_public_key command is not there).
anchors="$(manage ledger_public_key --as-arguments 2>/dev/null)" || anchors="$(manage shell -v 0 -c \
    "from disclosure.ledger.signing import public_hex, signing_key
print('--ledger-key', public_hex(signing_key()))")"
read -r -a ledger_keys <<<"$anchors"
[ "${#ledger_keys[@]}" -ge 2 ] || fail "no ledger public key"
for pdf in "${pdfs[@]}"; do
    if ! manage verify_export "$pdf" --trust "$ca" "${ledger_keys[@]}" > "$work/verify.txt" 2>&1; then
        cat "$work/verify.txt" >&2
        fail "verify_export $(basename "$pdf")"
    fi
    if ! grep -q "VERIFIED" "$work/verify.txt" || grep -q "NOT VERIFIED" "$work/verify.txt"; then
        cat "$work/verify.txt" >&2
        fail "no VERIFIED for $(basename "$pdf")"
    fi
done
say "${#pdfs[@]} PDFs VERIFIED with --trust $ca and the ledger key"
say "PASS"

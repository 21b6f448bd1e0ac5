#!/bin/bash
# The independent C2SP verifier (c2sp_verify.py) against notes made by
# ecluse's signer and ecl_note_* (note_sign), and the worked example of
# docs/audit-format.md.
set -euo pipefail
exec /usr/bin/python3 tests/interop/c2sp_verify.py test tests/interop/note_sign docs/audit-format.md

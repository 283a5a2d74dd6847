//! A Gradescope autograder: the zip an instructor uploads to a programming assignment.
//!
//! Gradescope unpacks the zip into `/autograder/source`, runs `setup.sh` once when it builds the
//! assignment's image, then, for every submission, puts the student's files in
//! `/autograder/submission` and runs `/autograder/run_autograder`, which must leave
//! `/autograder/results/results.json`. Here `setup.sh` installs bubblewrap and the toolchain this
//! workbook was built with, builds the grader and warms the dependency build once (by grading the
//! untouched stubs), so that a submission costs only its own crates; `run_autograder` grades the
//! submission with the grader's sandbox and writes Gradescope's `results.json` (compile errors and
//! the sandbox's status in its top-level `output`). Whatever goes wrong, a `results.json` is
//! written: Gradescope shows a submission without one as an autograder failure.
//!
//! `AUTOGRADER=<dir>` moves `/autograder` (the tests run the scripts in a directory of their own).

use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes the autograder zip for the workbook at `root` to `dest`; `toolchain` is the Rust version
/// `setup.sh` installs (the one this workbook is built and checked with). Returns how many files
/// it holds.
pub fn write_autograder(root: &Path, dest: &Path, toolchain: &str) -> Result<usize, String> {
    let files: Vec<PathBuf> = crate::export::files(root)?
        .into_iter()
        .filter(|f| !f.starts_with("target") && !f.starts_with(".git"))
        .collect();
    let out = std::fs::File::create(dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    let mut zip = zip::ZipWriter::new(out);
    let options = |mode: u32| {
        zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(mode)
    };
    let mut add = |name: &str, bytes: &[u8], mode: u32| -> Result<(), String> {
        zip.start_file(name, options(mode))
            .and_then(|()| zip.write_all(bytes).map_err(Into::into))
            .map_err(|e| format!("{name}: {e}"))
    };
    add("setup.sh", setup_script(toolchain).as_bytes(), 0o755)?;
    add("run_autograder", RUN_AUTOGRADER.as_bytes(), 0o755)?;
    for file in &files {
        let bytes =
            std::fs::read(root.join(file)).map_err(|e| format!("{}: {e}", file.display()))?;
        let name = format!("workbook/{}", file.to_string_lossy().replace('\\', "/"));
        let executable = std::fs::metadata(root.join(file))
            .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0)
            .unwrap_or(false);
        add(&name, &bytes, if executable { 0o755 } else { 0o644 })?;
    }
    zip.finish().map_err(|e| e.to_string())?;
    Ok(files.len() + 2)
}

fn setup_script(toolchain: &str) -> String {
    SETUP.replace("@TOOLCHAIN@", toolchain)
}

const SETUP: &str = r#"#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the assignment's image.
set -euo pipefail
AUTOGRADER="${AUTOGRADER:-/autograder}"
export DEBIAN_FRONTEND=noninteractive
if ! command -v bwrap >/dev/null || ! command -v cc >/dev/null || ! command -v curl >/dev/null \
  || ! command -v python3 >/dev/null; then
  apt-get update -qq </dev/null
  apt-get install -y -qq bubblewrap build-essential curl ca-certificates python3 </dev/null >/dev/null
fi
# The toolchain the workbook was built and checked with.
if ! command -v cargo >/dev/null; then
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs \
    | sh -s -- -y --profile minimal --default-toolchain @TOOLCHAIN@
fi
# shellcheck disable=SC1091
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
cd "$AUTOGRADER/source/workbook"
cargo build --locked --release -p workbook
# Build every dependency the grader needs once, here, rather than in the first submission's time:
# grade the untouched stubs (they score 0).
./target/release/workbook grade exercises --json /tmp/workbook-warm.json >/dev/null
cp "$AUTOGRADER/source/run_autograder" "$AUTOGRADER/run_autograder"
chmod +x "$AUTOGRADER/run_autograder"
echo "workbook autograder ready: $(./target/release/workbook --version)"
"#;

const RUN_AUTOGRADER: &str = r#"#!/usr/bin/env bash
# Gradescope runs this for every submission: the student's files are in $AUTOGRADER/submission
# (their copy of the workbook, or of its exercises/ directory).
set -uo pipefail
AUTOGRADER="${AUTOGRADER:-/autograder}"
results="$AUTOGRADER/results/results.json"
mkdir -p "$AUTOGRADER/results"
# shellcheck disable=SC1091
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
cd "$AUTOGRADER/source/workbook" || exit 1
log=$(mktemp)
if ! ./target/release/workbook grade "$AUTOGRADER/submission" --gradescope "$results" >"$log" 2>&1 \
  || [ ! -s "$results" ]; then
  # No results: say why, in the form Gradescope shows.
  python3 - "$results" "$log" <<'PY'
import json, sys
log = open(sys.argv[2], errors="replace").read()[-20000:]
json.dump({"score": 0, "output": "The autograder could not grade this submission:\n" + log, "tests": []},
          open(sys.argv[1], "w"))
PY
fi
cat "$log"
"#;

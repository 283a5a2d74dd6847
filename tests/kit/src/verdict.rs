//! The grader's channel: a verdict the learner's code cannot forge.
//!
//! When the grader runs a hidden test it creates two files and names them in the environment: a
//! *key* file holding a fresh random key, and the *verdict* file it will read when the test's
//! process has ended. Before any of the learner's code runs, the kit reads the key into memory and
//! deletes the file. When the test ends, the kit writes the outcome to the verdict file together
//! with a MAC of (test name, outcome) under that key.
//!
//! So a test counts as passed only if the kit itself got to the end of the test and said so:
//! `std::process::exit(0)` in the learner's code leaves no verdict at all; printing
//! `test x ... ok` changes nothing; writing the verdict file without the key gives a MAC the grader
//! rejects. (Code that reads its own process memory could find the key: that needs a sandbox, see
//! the README's threat model.)
//!
//! Outside the grader (a learner's `cargo test`) none of this is active.

use siphasher::sip::SipHasher24;
use std::hash::Hasher;
use std::path::PathBuf;
use std::sync::Mutex;

/// The environment variable naming the key file.
pub const KEY_FILE_VAR: &str = "WORKBOOK_VERDICT_KEY_FILE";
/// The environment variable naming the verdict file.
pub const VERDICT_FILE_VAR: &str = "WORKBOOK_VERDICT_FILE";

/// What the kit knows in grading mode.
struct Armed {
    key: [u8; 16],
    verdict_file: PathBuf,
}

static ARMED: Mutex<Option<Armed>> = Mutex::new(None);

/// Called at the start of every run. In grading mode it takes the key (first run only) and marks
/// the test as *running*: a signed "running" verdict replaces whatever an earlier run of the same
/// test wrote, so if the process ends before this run finishes — `std::process::exit` in the
/// middle of it, say — the grader sees "running", never an earlier run's "passed".
pub(crate) fn arm() {
    let mut armed = ARMED.lock().unwrap_or_else(|e| e.into_inner());
    if armed.is_none()
        && let (Some(key_file), Some(verdict_file)) = (
            std::env::var_os(KEY_FILE_VAR),
            std::env::var_os(VERDICT_FILE_VAR),
        )
    {
        let key = std::fs::read_to_string(&key_file)
            .ok()
            .and_then(|hex| parse_key(hex.trim()));
        // Gone before the learner's code can look for it.
        let _ = std::fs::remove_file(&key_file);
        if let Some(key) = key {
            *armed = Some(Armed {
                key,
                verdict_file: verdict_file.into(),
            });
        }
    }
    drop(armed);
    record("running", "");
}

/// Writes the verdict of the test running on this thread (grading mode only).
pub(crate) fn record(kind: &str, message: &str) {
    let armed = ARMED.lock().unwrap_or_else(|e| e.into_inner());
    let Some(armed) = armed.as_ref() else { return };
    let test = std::thread::current().name().unwrap_or("").to_owned();
    let text = format!("{kind}\n{}\n{message}", sign(&armed.key, &test, kind));
    let _ = std::fs::write(&armed.verdict_file, text);
}

/// The MAC of one verdict: SipHash-2-4 keyed with the grader's key, over the test's name and the
/// outcome, as 16 hex digits.
pub fn sign(key: &[u8; 16], test: &str, kind: &str) -> String {
    let mut mac = SipHasher24::new_with_key(key);
    mac.write(test.as_bytes());
    mac.write_u8(0);
    mac.write(kind.as_bytes());
    format!("{:016x}", mac.finish())
}

/// Reads a verdict file written by [`record`]: `Some((kind, message))` if its MAC is valid for
/// `test` under `key`.
pub fn verify(key: &[u8; 16], test: &str, text: &str) -> Option<(String, String)> {
    let mut parts = text.splitn(3, '\n');
    let kind = parts.next()?;
    let mac = parts.next()?;
    let message = parts.next().unwrap_or("");
    (mac == sign(key, test, kind)).then(|| (kind.to_owned(), message.to_owned()))
}

/// `"00ff…"` (32 hex digits) as 16 bytes.
pub fn parse_key(hex: &str) -> Option<[u8; 16]> {
    if hex.len() != 32 {
        return None;
    }
    let mut key = [0u8; 16];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verdict_verifies_only_for_its_test_its_kind_and_its_key() {
        let key = parse_key("000102030405060708090a0b0c0d0e0f").unwrap();
        let text = format!("passed\n{}\n", sign(&key, "t1", "passed"));
        assert_eq!(
            verify(&key, "t1", &text),
            Some(("passed".into(), String::new()))
        );
        assert_eq!(verify(&key, "t2", &text), None, "another test's verdict");
        let forged = text.replacen("passed", "failed", 1);
        assert_eq!(verify(&key, "t1", &forged), None, "a changed kind");
        let other = parse_key("ff0102030405060708090a0b0c0d0e0f").unwrap();
        assert_eq!(verify(&other, "t1", &text), None, "another key");
        assert_eq!(parse_key("zz"), None);
    }
}

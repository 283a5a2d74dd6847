//! The grader's channel: a verdict the learner's code cannot forge or replay.
//!
//! When the grader runs a hidden test it starts the test process with two extra file descriptors
//! and names the channel in the environment: on fd 3 a pipe holding a fresh random *key* and
//! *nonce*, on fd 4 the write end of the *verdict* pipe the grader reads. The first time the kit
//! runs a test body it takes both: it reads and closes fd 3 and moves fd 4 to a descriptor that is
//! closed on `exec`. At the start and at the end of every run it writes a record to the verdict
//! pipe: a sequence number, the outcome, the message, and a MAC over all of them, the test's name
//! and the nonce, under the key.
//!
//! So a test counts as passed only if the kit itself got to the end of its last run and said so:
//! `std::process::exit(0)` in the learner's code leaves a "running" record last; printing
//! `test x ... ok` changes nothing; a record without the key has a MAC the grader rejects; a
//! record of an earlier run, or of an earlier process, has the wrong sequence number or nonce.
//! Safe Rust cannot name a file descriptor, and the grader's sandbox mounts no `/proc` (no
//! `/proc/self/fd`, no `/proc/self/mem`), so the learner's code can reach neither the key nor the
//! pipe — not before the kit takes them either. (Code that breaks memory safety through a compiler
//! soundness bug could; the sandbox contains such code, it cannot make in-process secrets safe.)
//!
//! Outside the grader (a learner's `cargo test`) none of this is active.

use siphasher::sip::SipHasher24;
use std::hash::Hasher;
use std::io::{Read, Write};
use std::sync::Mutex;

/// The environment variable that turns the channel on (its value is ignored).
pub const CHANNEL_VAR: &str = "WORKBOOK_VERDICT_CHANNEL";
/// The descriptor the key and nonce arrive on (`<32 hex digits> <32 hex digits>`).
pub const KEY_FD: i32 = 3;
/// The descriptor verdict records are written to.
pub const VERDICT_FD: i32 = 4;
/// A message longer than this is cut (the grader reads a bounded amount).
pub const MAX_MESSAGE: usize = 64 * 1024;

/// What the kit holds in grading mode.
struct Armed {
    key: [u8; 16],
    nonce: [u8; 16],
    out: std::fs::File,
    next: u64,
}

/// `None` until the first run; then `Some(None)` outside the grader.
static ARMED: Mutex<Option<Option<Armed>>> = Mutex::new(None);

/// Called at the start of every run. In grading mode it takes the channel (first run only) and
/// writes a *running* record: if the process ends before this run finishes — `std::process::exit`
/// in the middle of it, say — the last record the grader sees is "running", never an earlier
/// run's "passed".
pub(crate) fn arm() {
    let mut armed = ARMED.lock().unwrap_or_else(|e| e.into_inner());
    if armed.is_none() {
        *armed = Some(std::env::var_os(CHANNEL_VAR).and_then(|_| take_channel()));
    }
    drop(armed);
    record("running", "");
}

/// Takes fds 3 and 4 from the grader — if they are the pipes it handed over.
#[allow(unsafe_code)]
fn take_channel() -> Option<Armed> {
    use std::os::fd::{FromRawFd, IntoRawFd};
    use std::os::unix::fs::FileTypeExt;
    // SAFETY: the channel variable is set only by the grader's sandbox helper, which placed the
    // two pipes at fds 3 and 4; the kit takes them once, on its first run, under the lock. A
    // descriptor that is not a pipe (a process the test itself started inherits the variable, not
    // the pipes) is handed back untouched with `into_raw_fd`, never closed.
    let (key_pipe, verdict) = unsafe {
        (
            std::fs::File::from_raw_fd(KEY_FD),
            std::fs::File::from_raw_fd(VERDICT_FD),
        )
    };
    let is_pipe = |f: &std::fs::File| f.metadata().is_ok_and(|m| m.file_type().is_fifo());
    if !is_pipe(&key_pipe) || !is_pipe(&verdict) {
        let _ = (key_pipe.into_raw_fd(), verdict.into_raw_fd());
        return None;
    }
    let mut text = String::new();
    let _ = (&key_pipe).take(256).read_to_string(&mut text);
    drop(key_pipe);
    // A duplicate is close-on-exec; the original, inherited without that flag, is closed: a
    // process the test starts does not inherit the pipe.
    let out = verdict.try_clone().ok()?;
    drop(verdict);
    let mut words = text.split_whitespace();
    Some(Armed {
        key: parse_hex(words.next()?)?,
        nonce: parse_hex(words.next()?)?,
        out,
        next: 0,
    })
}

/// Writes a record for the test running on this thread (grading mode only).
pub(crate) fn record(kind: &str, message: &str) {
    let mut armed = ARMED.lock().unwrap_or_else(|e| e.into_inner());
    let Some(Some(armed)) = armed.as_mut() else {
        return;
    };
    let test = std::thread::current().name().unwrap_or("").to_owned();
    let mut end = message.len().min(MAX_MESSAGE);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    let message = &message[..end];
    let seq = armed.next;
    armed.next += 1;
    let mac = sign(&armed.key, &armed.nonce, seq, &test, kind, message);
    let record = format!("{seq} {kind} {mac} {}\n{message}", message.len());
    let _ = armed.out.write_all(record.as_bytes());
}

/// The MAC of one record: SipHash-2-4 keyed with the grader's key, over the nonce, the sequence
/// number, the test's name, the outcome and the message, as 16 hex digits.
pub fn sign(
    key: &[u8; 16],
    nonce: &[u8; 16],
    seq: u64,
    test: &str,
    kind: &str,
    message: &str,
) -> String {
    let mut mac = SipHasher24::new_with_key(key);
    mac.write(nonce);
    mac.write_u64(seq);
    for part in [test, kind, message] {
        mac.write_usize(part.len());
        mac.write(part.as_bytes());
    }
    format!("{:016x}", mac.finish())
}

/// The last record of a channel, if every record on it is valid and they are numbered 0, 1, 2…:
/// `(kind, message)`. `Err` says why the channel holds no trustworthy verdict.
pub fn last_record(
    key: &[u8; 16],
    nonce: &[u8; 16],
    test: &str,
    bytes: &[u8],
) -> Result<Option<(String, String)>, String> {
    let mut rest = bytes;
    let mut last = None;
    let mut seq = 0u64;
    while !rest.is_empty() {
        let newline = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("a record without its header")?;
        let header =
            std::str::from_utf8(&rest[..newline]).map_err(|_| "a record that is not text")?;
        let mut words = header.split(' ');
        let (Some(n), Some(kind), Some(mac), Some(len), None) = (
            words.next(),
            words.next(),
            words.next(),
            words.next(),
            words.next(),
        ) else {
            return Err(format!("a malformed record header {header:?}"));
        };
        let len: usize = len.parse().map_err(|_| "a malformed record length")?;
        let body = rest
            .get(newline + 1..newline + 1 + len)
            .ok_or("a record cut short")?;
        let message = std::str::from_utf8(body).map_err(|_| "a record that is not text")?;
        if n != seq.to_string() {
            return Err(format!("record {n} where record {seq} was due"));
        }
        if mac != sign(key, nonce, seq, test, kind, message) {
            return Err(format!("record {seq} has a MAC that does not verify"));
        }
        last = Some((kind.to_owned(), message.to_owned()));
        rest = &rest[newline + 1 + len..];
        seq += 1;
    }
    Ok(last)
}

/// `"00ff…"` (32 hex digits) as 16 bytes.
pub fn parse_hex(hex: &str) -> Option<[u8; 16]> {
    if hex.len() != 32 {
        return None;
    }
    let mut bytes = [0u8; 16];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(
        key: &[u8; 16],
        nonce: &[u8; 16],
        seq: u64,
        test: &str,
        kind: &str,
        msg: &str,
    ) -> String {
        let mac = sign(key, nonce, seq, test, kind, msg);
        format!("{seq} {kind} {mac} {}\n{msg}", msg.len())
    }

    #[test]
    fn the_last_record_counts_only_if_every_record_verifies_in_order() {
        let key = parse_hex("000102030405060708090a0b0c0d0e0f").unwrap();
        let nonce = parse_hex("f0e0d0c0b0a090807060504030201000").unwrap();
        let r = |seq, kind: &str, msg: &str| rec(&key, &nonce, seq, "t1", kind, msg);
        let runs = format!(
            "{}{}{}{}",
            r(0, "running", ""),
            r(1, "passed", ""),
            r(2, "running", ""),
            r(3, "failed", "boom\nline 2")
        );
        assert_eq!(
            last_record(&key, &nonce, "t1", runs.as_bytes()),
            Ok(Some(("failed".into(), "boom\nline 2".into())))
        );
        assert_eq!(last_record(&key, &nonce, "t1", b""), Ok(None), "no record");
        // An earlier run's "passed" replayed after a later run's records.
        let replay = format!(
            "{}{}{}",
            r(0, "running", ""),
            r(1, "passed", ""),
            r(2, "running", "")
        ) + &r(1, "passed", "");
        assert!(
            last_record(&key, &nonce, "t1", replay.as_bytes()).is_err(),
            "a replayed record"
        );
        assert!(
            last_record(&key, &nonce, "t2", runs.as_bytes()).is_err(),
            "another test's records"
        );
        let other_nonce = parse_hex("00000000000000000000000000000000").unwrap();
        assert!(
            last_record(&key, &other_nonce, "t1", runs.as_bytes()).is_err(),
            "another process's records"
        );
        let forged = runs.replacen("failed", "passed", 1);
        assert!(
            last_record(&key, &nonce, "t1", forged.as_bytes()).is_err(),
            "a changed kind"
        );
        let cut = &runs.as_bytes()[..runs.len() - 3];
        assert!(
            last_record(&key, &nonce, "t1", cut).is_err(),
            "a record cut short"
        );
        assert_eq!(parse_hex("zz"), None);
    }
}

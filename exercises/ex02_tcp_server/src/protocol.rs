//! The wire protocol: one command per line in, one reply per line out.
//!
//! Parsing is kept apart from the networking on purpose: it is plain synchronous code, tested
//! without a socket, and the connection handler only glues lines to it.

use std::fmt;

/// A request, parsed from one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `SET <key> <value>` — store `value` under `key`, replacing any previous value.
    Set { key: String, value: String },
    /// `GET <key>` — read the value stored under `key`.
    Get { key: String },
    /// `DEL <key>` — remove `key`.
    Del { key: String },
    /// `INCR <key>` — add one to the integer stored under `key` (a missing key counts as 0).
    Incr { key: String },
    /// `QUIT` — say goodbye and close the connection.
    Quit,
}

impl Command {
    /// Parses one line (without its `\n`).
    ///
    /// * Words are separated by ASCII whitespace; leading, trailing and repeated whitespace is
    ///   ignored.
    /// * The command word is case-insensitive (`get` is `GET`); keys and values are
    ///   case-sensitive, and each is one word.
    /// * On error, returns the reason that follows `ERR ` in the reply:
    ///   - a line with no word at all: `empty command`;
    ///   - an unknown command word: `unknown command 'FOO'` (the word as it was sent);
    ///   - a known command with the wrong number of words after it:
    ///     `wrong number of arguments for 'SET'` (the command's name in capitals).
    pub fn parse(line: &str) -> Result<Command, String> {
        todo!("split the line into words and match the command and its arguments")
    }
}

/// A reply, sent back as one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `OK` — a `SET` was done.
    Ok,
    /// `VALUE <value>` — what a `GET` found.
    Value(String),
    /// `NIL` — a `GET` found nothing.
    Nil,
    /// `INT <n>` — the new value after `INCR`, or how many keys `DEL` removed (1 or 0).
    Int(i64),
    /// `BYE` — the answer to `QUIT`; the connection is closed right after it.
    Bye,
    /// `ERR <reason>` — the request was refused, and why.
    Error(String),
}

impl fmt::Display for Reply {
    /// The reply's line, without its `\n`: `OK`, `VALUE v`, `NIL`, `INT 3`, `BYE`, `ERR busy`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        todo!("write the reply as its protocol line")
    }
}

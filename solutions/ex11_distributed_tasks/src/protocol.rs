//! The wire protocol (given): one message per line, words separated by one space.
//!
//! ```text
//! submitter → coordinator   SUBMIT <key> <payload>
//! coordinator → submitter   ACCEPTED <key> | BUSY <key> | DONE <key> <output> | DEAD <key> <error>
//! worker → coordinator      READY | BEAT <lease> | OK <lease> <output> | ERR <lease> <error>
//! coordinator → worker      TASK <lease> <attempt> <key> <payload>
//! ```
//!
//! A key is one word; a payload, an output or an error is the rest of the line (spaces allowed,
//! no line break).

use std::fmt;
use std::io;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

/// One line of the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Submit a task under an idempotency key.
    Submit { key: String, payload: String },
    /// The task is queued (or was already, under that key).
    Accepted { key: String },
    /// Refused: too many tasks wait. Nothing was queued.
    Busy { key: String },
    /// The task's outcome: it succeeded with this output.
    Done { key: String, output: String },
    /// The task's outcome: every attempt failed, the last with this error.
    Dead { key: String, error: String },
    /// A worker asks for a task.
    Ready,
    /// A task leased to the worker.
    Task {
        lease: u64,
        attempt: u32,
        key: String,
        payload: String,
    },
    /// A worker still runs the task of this lease.
    Beat { lease: u64 },
    /// The task of this lease succeeded.
    Ok { lease: u64, output: String },
    /// The task of this lease failed.
    Err { lease: u64, error: String },
}

impl Message {
    /// Parses one line (without its line end). `None` for anything else.
    pub fn parse(line: &str) -> Option<Message> {
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        let word = |s: &str| (!s.is_empty() && !s.contains(' ')).then(|| s.to_owned());
        let pair = |s: &str| {
            let (first, rest) = s.split_once(' ').unwrap_or((s, ""));
            (!first.is_empty()).then(|| (first.to_owned(), rest.to_owned()))
        };
        let lease_and = |s: &str| {
            let (lease, rest) = pair(s)?;
            Some((lease.parse::<u64>().ok()?, rest))
        };
        Some(match verb {
            "SUBMIT" => {
                let (key, payload) = pair(rest)?;
                Message::Submit { key, payload }
            }
            "ACCEPTED" => Message::Accepted { key: word(rest)? },
            "BUSY" => Message::Busy { key: word(rest)? },
            "DONE" => {
                let (key, output) = pair(rest)?;
                Message::Done { key, output }
            }
            "DEAD" => {
                let (key, error) = pair(rest)?;
                Message::Dead { key, error }
            }
            "READY" if rest.is_empty() => Message::Ready,
            "TASK" => {
                let (lease, rest) = lease_and(rest)?;
                let (attempt, rest) = pair(&rest)?;
                let (key, payload) = pair(&rest)?;
                Message::Task {
                    lease,
                    attempt: attempt.parse().ok()?,
                    key,
                    payload,
                }
            }
            "BEAT" => Message::Beat {
                lease: word(rest)?.parse().ok()?,
            },
            "OK" => {
                let (lease, output) = lease_and(rest)?;
                Message::Ok { lease, output }
            }
            "ERR" => {
                let (lease, error) = lease_and(rest)?;
                Message::Err { lease, error }
            }
            _ => return None,
        })
    }
}

impl fmt::Display for Message {
    /// The message as a line, without its line end.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Message::Submit { key, payload } => write!(f, "SUBMIT {key} {payload}"),
            Message::Accepted { key } => write!(f, "ACCEPTED {key}"),
            Message::Busy { key } => write!(f, "BUSY {key}"),
            Message::Done { key, output } => write!(f, "DONE {key} {output}"),
            Message::Dead { key, error } => write!(f, "DEAD {key} {error}"),
            Message::Ready => write!(f, "READY"),
            Message::Task {
                lease,
                attempt,
                key,
                payload,
            } => write!(f, "TASK {lease} {attempt} {key} {payload}"),
            Message::Beat { lease } => write!(f, "BEAT {lease}"),
            Message::Ok { lease, output } => write!(f, "OK {lease} {output}"),
            Message::Err { lease, error } => write!(f, "ERR {lease} {error}"),
        }
    }
}

/// A connection that speaks the protocol over any byte stream.
pub struct Connection<S> {
    stream: BufReader<S>,
    line: String,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    /// Wraps a stream.
    pub fn new(stream: S) -> Self {
        Connection {
            stream: BufReader::new(stream),
            line: String::new(),
        }
    }

    /// The next message; `Ok(None)` when the peer closed the connection. A line that is not a
    /// message is an `InvalidData` error. Cancel-safe only between messages.
    pub async fn receive(&mut self) -> io::Result<Option<Message>> {
        self.line.clear();
        if self.stream.read_line(&mut self.line).await? == 0 {
            return Ok(None);
        }
        let line = self.line.trim_end_matches(['\r', '\n']);
        Message::parse(line).map(Some).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("not a message: {line:?}"),
            )
        })
    }

    /// Sends one message (and flushes it).
    pub async fn send(&mut self, message: &Message) -> io::Result<()> {
        let stream = self.stream.get_mut();
        stream.write_all(format!("{message}\n").as_bytes()).await?;
        stream.flush().await
    }
}

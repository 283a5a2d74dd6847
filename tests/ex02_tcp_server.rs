//! Hidden tests for exercise 02 — a concurrent TCP server.
//!
//! The exercise is split in two layers, and so are the tests:
//!
//! * `handle_connection` is driven over in-memory `tokio::io::duplex` pipes: exact, and free of
//!   any operating-system behaviour;
//! * `serve` is driven over real loopback sockets on `127.0.0.1:0`, with the server and *every*
//!   client a task on the test's own paused-clock runtime — the one arrangement in which real
//!   sockets stay deterministic under a paused clock (tokio >= 1.53.3). No std thread ever talks
//!   to the server, and test clients set `TCP_NODELAY` so that no write waits for an ACK in real
//!   time.
//!
//! Every test runs on tokio's paused clock (`testkit::run`): instants are virtual and exact.
//! Test names are the specification; each assertion message says what was expected and the
//! likely cause when it is not.
//!
//! Traceability (checked by the dev check): each test cites the sentences of the stub's docs it
//! checks (`/// contract: "…"`); these state no rule a test could observe:
//!
//! not a rule: "The server's limits." — the heading of the configuration's docs
//! not a rule: "Called by `Framed` once the client has closed its side" — how `Framed` drives the codec; what the server must do with the rest is the next sentences' rule
//! not a rule: "`LinesCodec` would hand that rest back as one more line." — what the given codec would do: the reason for the rule that follows

use ex02_tcp_server::*;
use pretty_assertions::assert_eq;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use testkit::servers::{reraise, spawn_watched};
use testkit::{Probe, Timeline, fmt_duration, ms, now, secs};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout};
use tokio_util::sync::CancellationToken;

// The learner's `==` is trusted only where it is derived (testkit::derived_eq!).
testkit::derived_eq! {
    Command = Command::Quit,
    Reply = Reply::Ok,
    Config = CONFIG,
}

/// The limits most tests use: ten connections, 64-byte lines, 10 s of idleness, 10 s a line, 5 s
/// of grace.
const CONFIG: Config = Config {
    max_connections: 10,
    max_line_length: 64,
    idle_timeout: secs(10),
    line_timeout: secs(10),
    shutdown_grace: secs(5),
};

// ---------------------------------------------------------------------------------------------
// Harness: panics in the code under test, clients, connections, servers
// ---------------------------------------------------------------------------------------------

/// Sleeps until virtual instant `t` of the test.
async fn until(t: Duration) {
    sleep(t.saturating_sub(now())).await;
}

/// What a client heard next.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Heard {
    /// A reply line, without its `\n`.
    Line(String),
    /// The server closed the connection (end of stream, or a reset).
    Closed,
    /// Nothing arrived in the time allowed.
    Silence,
    /// The start of a line arrived, but not its end, in the time allowed.
    Partial(String),
}

impl fmt::Display for Heard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Heard::Line(line) => write!(f, "{line}"),
            Heard::Closed => write!(f, "(closed)"),
            Heard::Silence => write!(f, "(silence)"),
            Heard::Partial(start) => write!(
                f,
                "{start:?} and then nothing: the rest of the line (its \\n) never came. Write \
                 each reply line in one write, as Framed's send does: a second small write \
                 waits for the client's ACK (Nagle's algorithm)"
            ),
        }
    }
}

fn line(text: &str) -> Heard {
    Heard::Line(text.to_owned())
}

/// One client: writes raw bytes or lines, reads reply lines.
struct Client<S> {
    name: String,
    io: BufReader<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    fn new(name: &str, stream: S) -> Self {
        Self {
            name: name.to_owned(),
            io: BufReader::new(stream),
        }
    }

    /// Writes `text` as is (add the `\n` yourself). False if the server had already closed.
    async fn send(&mut self, text: &str) -> bool {
        self.send_bytes(text.as_bytes()).await
    }

    async fn send_bytes(&mut self, bytes: &[u8]) -> bool {
        self.io.get_mut().write_all(bytes).await.is_ok()
    }

    /// The next thing heard within `within`.
    async fn hear(&mut self, within: Duration) -> Heard {
        let mut buf = Vec::new();
        match timeout(within, self.io.read_until(b'\n', &mut buf)).await {
            // `read_until` keeps what it has read so far in `buf` when it is cancelled.
            Err(_) if buf.is_empty() => Heard::Silence,
            Err(_) => Heard::Partial(String::from_utf8_lossy(&buf).into_owned()),
            Ok(Ok(0)) | Ok(Err(_)) => Heard::Closed,
            Ok(Ok(_)) => {
                let text = String::from_utf8_lossy(&buf);
                Heard::Line(text.strip_suffix('\n').unwrap_or(&text).to_owned())
            }
        }
    }

    /// Sends `request` as a line and returns the reply, which must come at once.
    async fn ask(&mut self, request: &str) -> String {
        let asked_at = now();
        self.send(&format!("{request}\n")).await;
        let heard = self.hear(secs(1)).await;
        reraise();
        match heard {
            Heard::Line(reply) => {
                assert_eq!(
                    now(),
                    asked_at,
                    "{}: the reply to {request:?} must come at once (asked at t={}, answered at \
                     t={})",
                    self.name,
                    fmt_duration(asked_at),
                    fmt_duration(now())
                );
                reply
            }
            other => panic!(
                "{}: no reply to {request:?} (asked at t={}): {other} — every line gets exactly \
                 one reply line, at once",
                self.name,
                fmt_duration(asked_at)
            ),
        }
    }
}

/// A connection served by `handle_connection` over an in-memory pipe of `buffer` bytes each way.
/// The probe says when the handler returned.
fn open(
    name: &str,
    store: &Store,
    config: Config,
    shutdown: &CancellationToken,
    buffer: usize,
) -> (Client<DuplexStream>, Probe, JoinHandle<Option<()>>) {
    let (client, server) = tokio::io::duplex(buffer);
    let probe = Probe::new(format!("{name}'s handler"));
    let handler = handle_connection(server, store.clone(), config, shutdown.clone());
    let task = spawn_watched(probe.wrap(handler));
    (Client::new(name, client), probe, task)
}

const RETURNS: &str = "handle_connection must return once its connection is over";

/// Waits (up to `limit`) for a handler task to end; fails if it did not.
async fn handler_ends(task: JoinHandle<Option<()>>, probe: &Probe, limit: Duration, why: &str) {
    let ended = timeout(limit, task).await;
    reraise();
    assert!(
        ended.is_ok(),
        "{} — still running at t={}: {why}",
        probe.describe(),
        fmt_duration(now())
    );
}

/// Waits for a handler task to end, and checks that it ended at virtual instant `at`.
async fn handler_returns_at(task: JoinHandle<Option<()>>, probe: &Probe, at: Duration, why: &str) {
    handler_ends(task, probe, secs(60), RETURNS).await;
    assert_eq!(
        probe.completed_at(),
        Some(at),
        "{}: {why}",
        probe.describe()
    );
}

/// A server under test: `serve` on `127.0.0.1:0`, in a task of the test's runtime.
struct Server {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<Option<()>>,
    probe: Probe,
    /// A second descriptor of the listening socket, to make `accept` fail on purpose.
    listener: std::net::TcpListener,
}

async fn start_server(config: Config, store: &Store) -> Server {
    let (listener, addr) = testkit::servers::listener();
    let listener = listener.into_std().expect("the listener as std");
    let second = listener
        .try_clone()
        .expect("a second descriptor of the listener");
    let listener = tokio::net::TcpListener::from_std(listener).expect("the listener");
    let shutdown = CancellationToken::new();
    let probe = Probe::new("serve");
    let task = spawn_watched(probe.wrap(serve(listener, config, store.clone(), shutdown.clone())));
    tokio::task::yield_now().await;
    reraise();
    assert!(
        !task.is_finished(),
        "serve returned at once: it must accept connections until shutdown is requested"
    );
    Server {
        addr,
        shutdown,
        task,
        probe,
        listener: second,
    }
}

impl Server {
    /// Requests shutdown now and waits (up to a minute past the grace period) for `serve` to
    /// return. Returns the instant it returned.
    async fn shut_down(self, config: Config) -> Duration {
        self.shutdown.cancel();
        testkit::servers::serve_returns(self.task, &self.probe, config.shutdown_grace).await
    }
}

async fn connect(name: &str, addr: SocketAddr) -> Client<TcpStream> {
    Client::new(name, testkit::servers::connect(name, addr).await)
}

/// Compares (instant, event) rows regardless of the order in which tasks recorded events of the
/// same instant.
#[track_caller]
fn assert_schedule(timeline: &Timeline, expected: &[(u64, &str)], what: &str) {
    reraise();
    let mut observed: Vec<(Duration, String)> = timeline.entries();
    observed.sort();
    let observed: Vec<String> = observed
        .iter()
        .map(|(t, e)| format!("t={:<7} {e}", fmt_duration(*t)))
        .collect();
    let mut expected: Vec<(Duration, &str)> = expected.iter().map(|(t, e)| (ms(*t), *e)).collect();
    expected.sort();
    let expected: Vec<String> = expected
        .iter()
        .map(|(t, e)| format!("t={:<7} {e}", fmt_duration(*t)))
        .collect();
    assert_eq!(observed, expected, "{what}");
}

// ---------------------------------------------------------------------------------------------
// 1. The protocol, without a socket
// ---------------------------------------------------------------------------------------------

fn set(key: &str, value: &str) -> Command {
    Command::Set {
        key: key.into(),
        value: value.into(),
    }
}
fn get(key: &str) -> Command {
    Command::Get { key: key.into() }
}
fn del(key: &str) -> Command {
    Command::Del { key: key.into() }
}
fn incr(key: &str) -> Command {
    Command::Incr { key: key.into() }
}
fn err(reason: &str) -> Reply {
    Reply::Error(reason.into())
}

/// contract: "Parses one line (without its `\n`)."
/// contract: "Words are separated by ASCII whitespace; leading, trailing and repeated whitespace is ignored."
/// contract: "The command word is case-insensitive (`get` is `GET`); keys and values are case-sensitive, and each is one word."
/// contract: "On error, returns the reason that follows `ERR ` in the reply"
/// contract: "a line with no word at all: `empty command`"
/// contract: "an unknown command word: `unknown command 'FOO'` (the word as it was sent)"
/// contract: "a known command with the wrong number of words after it"
/// contract: "A request, parsed from one line."
#[test]
fn commands_are_parsed_from_one_line_each() {
    testkit::run(|| async {
        let wrong_args = |name: &str| Err(format!("wrong number of arguments for '{name}'"));
        let expected: Vec<(&str, Result<Command, String>)> = vec![
            ("SET k v", Ok(set("k", "v"))),
            ("GET k", Ok(get("k"))),
            ("DEL k", Ok(del("k"))),
            ("INCR visits", Ok(incr("visits"))),
            ("QUIT", Ok(Command::Quit)),
            ("get Key", Ok(get("Key"))),
            ("  SeT   a   B  ", Ok(set("a", "B"))),
            ("set\tk\tv", Ok(set("k", "v"))),
            ("quit", Ok(Command::Quit)),
            ("", Err("empty command".into())),
            ("   \t ", Err("empty command".into())),
            ("FLY me", Err("unknown command 'FLY'".into())),
            ("hello", Err("unknown command 'hello'".into())),
            ("SET k", wrong_args("SET")),
            ("set k v extra", wrong_args("SET")),
            ("GET", wrong_args("GET")),
            ("del a b", wrong_args("DEL")),
            ("INCR", wrong_args("INCR")),
            ("quit now", wrong_args("QUIT")),
            // Only ASCII whitespace separates words: a no-break space is part of a word.
            ("SET k\u{a0}v", wrong_args("SET")),
            ("GET\u{2003}k", Err("unknown command 'GET\u{2003}k'".into())),
        ];
        let observed: Vec<(&str, Result<Command, String>)> = expected
            .iter()
            .map(|(line, _)| (*line, Command::parse(line)))
            .collect();
        assert_eq!(
            observed, expected,
            "Command::parse: each line and what it must parse to (see its doc comment; words are \
             separated by ASCII whitespace only — `split_ascii_whitespace`, not \
             `split_whitespace`, which also splits on a no-break space)"
        );
    });
}

/// contract: "The reply's line, without its `\n`"
/// contract: "`OK` — a `SET` was done."
/// contract: "`VALUE <value>` — what a `GET` found."
/// contract: "`NIL` — a `GET` found nothing."
/// contract: "`INT <n>` — the new value after `INCR`, or how many keys `DEL` removed (1 or 0)."
/// contract: "`BYE` — the answer to `QUIT`"
/// contract: "`ERR <reason>` — the request was refused, and why."
/// contract: "A reply, sent back as one line."
#[test]
fn replies_are_written_in_the_documented_format() {
    testkit::run(|| async {
        let expected = vec![
            (Reply::Ok, "OK"),
            (Reply::Value("hello".into()), "VALUE hello"),
            (Reply::Nil, "NIL"),
            (Reply::Int(42), "INT 42"),
            (Reply::Int(-7), "INT -7"),
            (Reply::Bye, "BYE"),
            (err("busy"), "ERR busy"),
        ];
        let observed: Vec<(Reply, String)> = expected
            .iter()
            .map(|(reply, _)| (reply.clone(), reply.to_string()))
            .collect();
        let expected: Vec<(Reply, String)> = expected
            .into_iter()
            .map(|(r, s)| (r, s.to_owned()))
            .collect();
        assert_eq!(
            observed, expected,
            "Reply's Display: the reply's line, without its \\n"
        );
    });
}

/// contract: "Executes one command and returns its reply"
/// contract: "`SET k v` → `OK`"
/// contract: "`GET k` → `VALUE v`, or `NIL` when `k` is not set"
/// contract: "`DEL k` → `INT 1` when `k` was set (it is now removed), `INT 0` when it was not"
/// contract: "`INCR k` → `INT n`, the new value, which is also stored"
/// contract: "When the stored value is not a decimal `i64` (as `str::parse::<i64>` reads it"
/// contract: "In both cases the value is left as it was"
/// contract: "`QUIT` → `BYE`"
/// contract: "Every clone sees the same data."
/// contract: "`SET <key> <value>` — store `value` under `key`, replacing any previous value."
/// contract: "`GET <key>` — read the value stored under `key`."
/// contract: "`DEL <key>` — remove `key`."
/// contract: "`INCR <key>` — add one to the integer stored under `key` (a missing key counts as 0)."
#[test]
fn the_store_executes_each_command_and_every_clone_sees_the_same_data() {
    testkit::run(|| async {
        let store = Store::new();
        let script = vec![
            (get("a"), Reply::Nil),
            (set("a", "1"), Reply::Ok),
            (get("a"), Reply::Value("1".into())),
            (set("a", "2"), Reply::Ok),
            (get("a"), Reply::Value("2".into())),
            (incr("a"), Reply::Int(3)),
            (get("a"), Reply::Value("3".into())),
            (incr("fresh"), Reply::Int(1)),
            (del("a"), Reply::Int(1)),
            (del("a"), Reply::Int(0)),
            (get("a"), Reply::Nil),
            (set("w", "word"), Reply::Ok),
            (incr("w"), err("value is not an integer")),
            (get("w"), Reply::Value("word".into())),
            (set("big", "9223372036854775807"), Reply::Ok),
            (incr("big"), err("increment would overflow")),
            (get("big"), Reply::Value("9223372036854775807".into())),
            (set("neg", "-5"), Reply::Ok),
            (incr("neg"), Reply::Int(-4)),
            // A decimal i64 as `str::parse::<i64>` reads it: a sign, leading zeros.
            (set("plus", "+5"), Reply::Ok),
            (incr("plus"), Reply::Int(6)),
            (get("plus"), Reply::Value("6".into())),
            (set("zeros", "007"), Reply::Ok),
            (incr("zeros"), Reply::Int(8)),
            (set("hex", "0x10"), Reply::Ok),
            (incr("hex"), err("value is not an integer")),
            (set("float", "1e3"), Reply::Ok),
            (incr("float"), err("value is not an integer")),
            (Command::Quit, Reply::Bye),
        ];
        let mut observed = Vec::new();
        for (i, (command, _)) in script.iter().enumerate() {
            // Alternate between two clones: they must share one map.
            let handle = if i % 2 == 0 {
                store.clone()
            } else {
                store.clone().clone()
            };
            observed.push((command.clone(), handle.apply(command.clone()).await));
        }
        assert_eq!(
            observed, script,
            "Store::apply, in this order, alternating between two clones of one store (see its \
             doc comment; a stored value is an integer when `str::parse::<i64>` reads it: `+5` \
             and `007` are, `0x10` and `1e3` are not)"
        );
        assert_eq!(now(), Duration::ZERO, "the store answers at once");
    });
}

// ---------------------------------------------------------------------------------------------
// 2. One connection, over an in-memory pipe
// ---------------------------------------------------------------------------------------------

/// contract: "Serves one client until the connection ends."
/// contract: "Every line the client sends (ending in `\n`; a `\r` before it is dropped) gets exactly one reply line, in order"
/// contract: "a command is parsed with [`Command::parse`](crate::Command::parse) and executed with [`Store::apply`](crate::Store::apply)"
/// contract: "`QUIT` is answered `BYE`, then the connection is closed"
/// contract: "`QUIT` — say goodbye and close the connection."
/// contract: "the connection is closed right after it"
/// contract: "The next complete line in `buf`, if there is one"
/// contract: "a `\r` before the `\n` is dropped"
/// contract: "Returns once the connection is closed (dropping `stream` closes it)."
#[test]
fn a_connection_answers_every_line_in_order_and_quit_closes_it() {
    testkit::run(|| async {
        let store = Store::new();
        let token = CancellationToken::new();
        let (mut client, probe, task) = open("client", &store, CONFIG, &token, 4096);

        let session = [
            ("SET greeting hello", "OK"),
            ("GET greeting", "VALUE hello"),
            ("INCR visits", "INT 1"),
            ("INCR visits", "INT 2"),
            ("DEL greeting", "INT 1"),
            ("GET greeting", "NIL"),
            ("get visits\r", "VALUE 2"),
        ];
        let mut observed = Vec::new();
        for (request, _) in session {
            observed.push((request, client.ask(request).await));
        }
        let expected: Vec<(&str, String)> =
            session.iter().map(|(q, a)| (*q, a.to_string())).collect();
        assert_eq!(
            observed, expected,
            "one reply line per request line, in the documented format (a \\r before the \\n is \
             dropped)"
        );

        // Several lines in one write: each gets its reply, in order.
        client.send("SET a 1\nGET a\nDEL a\n").await;
        let mut pipelined = Vec::new();
        for _ in 0..3 {
            pipelined.push(client.hear(secs(1)).await);
        }
        reraise();
        assert_eq!(
            pipelined,
            vec![line("OK"), line("VALUE 1"), line("INT 1")],
            "three lines sent in one write get three replies, in order"
        );

        assert_eq!(
            client.ask("QUIT").await,
            "BYE",
            "QUIT must be answered BYE, before the connection is closed"
        );
        assert_eq!(
            client.hear(secs(1)).await,
            Heard::Closed,
            "after BYE the server closes the connection"
        );
        handler_ends(task, &probe, secs(1), "the handler returns after QUIT").await;
        assert_eq!(
            probe.completed_at(),
            Some(Duration::ZERO),
            "{}: after answering QUIT with BYE, the handler must close the connection and return \
             at once (t=0), without waiting for the client to hang up",
            probe.describe()
        );
    });
}

/// contract: "a line that does not parse is answered `ERR <reason>`, and the connection **stays open**"
#[test]
fn malformed_lines_get_an_error_reply_and_the_connection_stays_usable() {
    testkit::run(|| async {
        let store = Store::new();
        let token = CancellationToken::new();
        let (mut client, probe, task) = open("client", &store, CONFIG, &token, 4096);

        let session = [
            ("HELLO", "ERR unknown command 'HELLO'".to_owned()),
            ("", "ERR empty command".to_owned()),
            (
                "SET onlykey",
                "ERR wrong number of arguments for 'SET'".to_owned(),
            ),
            (
                "GET a b",
                "ERR wrong number of arguments for 'GET'".to_owned(),
            ),
            ("SET n x", "OK".to_owned()),
            ("INCR n", "ERR value is not an integer".to_owned()),
            ("\t", "ERR empty command".to_owned()),
            (
                "\u{0}\u{1}\u{7}\u{1b}[2J",
                "ERR unknown command '\u{0}\u{1}\u{7}\u{1b}[2J'".to_owned(),
            ),
            ("SET k v", "OK".to_owned()),
            ("GET k", "VALUE v".to_owned()),
        ];
        let mut observed = Vec::new();
        for (request, _) in &session {
            observed.push((*request, client.ask(request).await));
        }
        let expected: Vec<(&str, String)> = session.iter().map(|(q, a)| (*q, a.clone())).collect();
        assert_eq!(
            observed, expected,
            "a malformed line gets `ERR <reason>` and the connection stays open and usable: the \
             next commands must still work"
        );
        assert!(
            probe.is_running(),
            "the connection must stay open after malformed lines ({})",
            probe.describe()
        );

        drop(client);
        handler_ends(
            task,
            &probe,
            secs(1),
            "the handler returns when the client hangs up",
        )
        .await;
    });
}

/// contract: "a line that is not valid UTF-8 is answered `ERR invalid UTF-8`; the connection may then be closed"
#[test]
fn invalid_utf8_gets_an_error_reply_and_harms_no_one() {
    testkit::run(|| async {
        let store = Store::new();
        let token = CancellationToken::new();
        let garbage: Vec<u8> = (0x80u8..0xa8).chain([b'\n']).collect();
        let mut tasks = Vec::new();

        for (name, bytes) in [("A", &b"SET k \xff\xfe\n"[..]), ("B", &garbage[..])] {
            let (mut client, probe, task) = open(name, &store, CONFIG, &token, 4096);
            client.send_bytes(bytes).await;
            let first = client.hear(secs(1)).await;
            reraise();
            assert_eq!(
                first,
                line("ERR invalid UTF-8"),
                "client {name} sent a line that is not UTF-8: it must be answered `ERR invalid \
                 UTF-8` (and must not crash the server)"
            );
            // The server may close the connection now, or keep serving it: either is fine, as
            // long as it does one of the two at once.
            client.send("GET k\n").await;
            let then = client.hear(secs(1)).await;
            reraise();
            assert!(
                then == line("NIL") || then == Heard::Closed,
                "after `ERR invalid UTF-8`, client {name}'s connection must either go on (GET k \
                 → NIL: the bad line changed nothing) or be closed; it answered {then}"
            );
            drop(client);
            tasks.push((task, probe));
        }

        let (mut other, probe, task) = open("C", &store, CONFIG, &token, 4096);
        assert_eq!(
            other.ask("SET k v").await,
            "OK",
            "client C, on a connection of its own, must be served as usual after A and B sent \
             invalid UTF-8: `SET k v` is answered OK"
        );
        assert_eq!(
            other.ask("GET k").await,
            "VALUE v",
            "other clients are unaffected"
        );
        drop(other);
        tasks.push((task, probe));
        for (task, probe) in tasks {
            handler_ends(
                task,
                &probe,
                secs(1),
                "the handler returns when the client hangs up",
            )
            .await;
        }
    });
}

/// contract: "is answered `ERR line too long` and the connection is closed — as soon as more than that many bytes of the line have arrived"
/// contract: "A codec for lines of at most `max_line_length` bytes, not counting the `\n`."
/// contract: "The longest line accepted, in bytes, not counting the `\n`."
/// contract: "Cuts the incoming bytes into lines of at most `max_line_length` bytes"
#[test]
fn a_line_longer_than_the_limit_is_refused_at_once_and_the_connection_closed() {
    testkit::run(|| async {
        let store = Store::new();
        let token = CancellationToken::new();
        let (mut client, probe, task) = open("client", &store, CONFIG, &token, 4096);

        // Exactly max_line_length (64) bytes is still fine.
        let longest = format!("SET k {}", "v".repeat(58));
        assert_eq!(
            longest.len(),
            64,
            "the test's longest line must be exactly 64 bytes (a bug in the test)"
        );
        assert_eq!(
            client.ask(&longest).await,
            "OK",
            "a line of exactly max_line_length (64) bytes is allowed"
        );

        // 65 bytes and no end in sight.
        client.send(&"x".repeat(65)).await;
        let heard = client.hear(secs(1)).await;
        reraise();
        assert_eq!(
            heard,
            line("ERR line too long"),
            "65 bytes of a line have arrived, more than max_line_length (64), and no \\n: the \
             line must be refused as soon as more than 64 bytes of it have arrived, without \
             waiting for the end of the line (which may never come: memory must stay bounded). \
             Use LinesCodec::new_with_max_length"
        );
        assert_eq!(now(), Duration::ZERO, "refused at once");
        assert_eq!(
            client.hear(secs(1)).await,
            Heard::Closed,
            "after `ERR line too long` the connection is closed"
        );
        handler_ends(task, &probe, secs(1), "the handler returns after closing").await;
        assert_eq!(
            probe.completed_at(),
            Some(Duration::ZERO),
            "{}: after `ERR line too long` the handler must close the connection and return at \
             once (t=0)",
            probe.describe()
        );
    });
}

/// contract: "**idle timeout**: a connection is closed, without a reply, once `config.idle_timeout` has passed without a complete line from the client — exactly that long after the last complete line"
/// contract: "A partial line does not count as activity."
/// contract: "How long a connection may go without sending a complete line before it is closed."
#[test]
fn an_idle_connection_is_closed_exactly_idle_timeout_after_its_last_complete_line() {
    testkit::run(|| async {
        let store = Store::new();
        let token = CancellationToken::new();
        let (mut client, probe, task) = open("client", &store, CONFIG, &token, 4096);

        until(secs(3)).await;
        assert_eq!(
            client.ask("SET a 1").await,
            "OK",
            "`SET a 1` at t=3s must be answered OK: a SET stores the value and replies OK \
             (Store::apply, Reply's Display)"
        );
        // Partial lines are not activity: a client trickling bytes without ever finishing a line
        // must not keep its connection forever.
        until(secs(5)).await;
        client.send("GET").await;
        until(secs(9)).await;
        client.send(" a").await;
        until(secs(12)).await;
        client.send(" ").await;

        let heard = client.hear(secs(60)).await;
        reraise();
        assert!(
            heard == Heard::Closed,
            "the connection was still open at t={}: a connection with no complete line for \
             idle_timeout (10s) must be closed — here 10s after its last complete line (t=3s), \
             so at t=13s (heard: {heard})",
            fmt_duration(now())
        );
        handler_ends(task, &probe, secs(1), "the handler returns when it closes").await;
        let closed_at = probe.completed_at().expect("the handler has returned");
        assert_eq!(
            closed_at,
            secs(13),
            "the connection was closed at t={}, expected t=13s: the idle timeout counts from the \
             last complete line (at t=3s), not from the start of the connection, and partial \
             lines (t=5s, 9s, 12s) do not count as activity",
            fmt_duration(closed_at)
        );
    });
}

/// contract: "(or after the start, if none came)"
/// contract: "A partial line does not count as activity."
#[test]
fn a_connection_that_never_sends_a_complete_line_is_closed_after_the_idle_timeout() {
    testkit::run(|| async {
        let store = Store::new();
        let token = CancellationToken::new();
        let (mut silent, silent_probe, silent_task) = open("silent", &store, CONFIG, &token, 4096);
        let (mut partial, partial_probe, partial_task) =
            open("partial", &store, CONFIG, &token, 4096);

        until(secs(1)).await;
        partial.send("SET half").await;
        let (a, b) = tokio::join!(silent.hear(secs(60)), partial.hear(secs(60)));
        reraise();
        assert_eq!(
            (a, b),
            (Heard::Closed, Heard::Closed),
            "both connections must be closed by the idle timeout (without a reply)"
        );
        for probe in [&silent_probe, &partial_probe] {
            assert_eq!(
                probe.completed_at(),
                Some(secs(10)),
                "idle_timeout (10s) after the start, with no complete line: closed at t=10s \
                 ({}); half a line is not activity",
                probe.describe()
            );
        }
        handler_ends(silent_task, &silent_probe, secs(1), RETURNS).await;
        handler_ends(partial_task, &partial_probe, secs(1), RETURNS).await;
    });
}

/// contract: "when the client hangs up, the handler returns"
/// contract: "A last line cut off by the hang-up (no `\n`) is discarded, never executed"
/// contract: "This must not: a request the client never finished sending must not be executed"
#[test]
fn a_line_cut_off_by_a_hang_up_is_discarded_not_executed() {
    testkit::run(|| async {
        let store = Store::new();
        let token = CancellationToken::new();

        // A closes its sending side in the middle of `SET price 1000` (like `nc -N`): it can
        // still read, so a reply to the cut-off line would be heard.
        let (mut a, a_probe, a_task) = open("A", &store, CONFIG, &token, 4096);
        assert_eq!(
            a.ask("SET seen yes").await,
            "OK",
            "A's `SET seen yes` must be answered OK: a SET stores the value and replies OK \
             (Store::apply, Reply's Display)"
        );
        a.send("SET price 10").await;
        a.io.get_mut()
            .shutdown()
            .await
            .expect("closing A's sending side");
        let heard = a.hear(secs(1)).await;
        reraise();
        assert_eq!(
            heard,
            Heard::Closed,
            "A hung up in the middle of a line: no reply is due — the cut-off line must be \
             discarded, and the connection closed"
        );
        handler_ends(
            a_task,
            &a_probe,
            secs(1),
            "the handler returns when the client hangs up",
        )
        .await;

        // B vanishes altogether in the middle of a line.
        let (mut b, b_probe, b_task) = open("B", &store, CONFIG, &token, 4096);
        b.send("SET price 20").await;
        drop(b);
        handler_ends(
            b_task,
            &b_probe,
            secs(1),
            "the handler returns when the client vanishes",
        )
        .await;
        assert_eq!(
            (a_probe.completed_at(), b_probe.completed_at()),
            (Some(Duration::ZERO), Some(Duration::ZERO)),
            "a handler returns as soon as its client hangs up"
        );

        let (mut c, c_probe, c_task) = open("C", &store, CONFIG, &token, 4096);
        assert_eq!(
            c.ask("GET seen").await,
            "VALUE yes",
            "A's complete line was executed"
        );
        let price = c.ask("GET price").await;
        assert_eq!(
            price, "NIL",
            "GET price answered {price:?}: a line cut off by a hang-up (`SET price 10`, no \\n) \
             was executed. It may be what is left of `SET price 1000`: discard it. (LinesCodec's \
             decode_eof hands back the unterminated rest of the stream as a last line; see \
             RequestLines::decode_eof)"
        );
        drop(c);
        handler_ends(c_task, &c_probe, secs(1), RETURNS).await;
    });
}

/// contract: "Time spent unable to write a reply (a client that does not read) counts as idle too"
/// contract: "never keep the store locked while writing to the client: one slow client must not delay any other"
/// contract: "never keep the data locked across an `.await`"
#[test]
fn a_client_that_never_reads_is_closed_by_the_idle_timeout_and_delays_no_one() {
    testkit::run(|| async {
        let store = Store::new();
        let token = CancellationToken::new();
        // A tiny pipe: A's replies fill it after a few lines, and A never reads them.
        let (mut a, a_probe, a_task) = open("A", &store, CONFIG, &token, 64);
        let writer = testkit::spawn(async move {
            for _ in 0..1000 {
                if !a.send("GET k\n").await {
                    break; // the server closed the connection
                }
            }
            a // keep the pipe open (and unread) until the server closes it
        });

        let (mut b, b_probe, b_task) = open("B", &store, CONFIG, &token, 4096);
        until(secs(1)).await;
        let asked = now();
        b.send("SET k v\n").await;
        let heard = b.hear(secs(60)).await;
        reraise();
        assert!(
            heard == line("OK") && now() == asked,
            "B asked at t=1s and heard {heard} at t={}: a client that does not read its replies \
             (A) must delay no one else — is something shared (the store's lock?) held while \
             writing a reply to a client?",
            fmt_duration(now())
        );
        assert_eq!(
            b.ask("GET k").await,
            "VALUE v",
            "B set k to v and nothing changed it since (A only sends `GET k`): B's `GET k` must be \
             answered VALUE v"
        );

        handler_ends(
            a_task,
            &a_probe,
            secs(60),
            "a client that never reads its replies must be closed by the idle timeout: time \
             blocked writing a reply counts as idle (put the write under the same deadline)",
        )
        .await;
        assert_eq!(
            a_probe.completed_at(),
            Some(secs(10)),
            "A sent its last line at t=0 and then only failed to read: its connection must be \
             closed at t=10s, idle_timeout after its last line — time blocked writing counts as \
             idle ({})",
            a_probe.describe()
        );
        let a = timeout(secs(1), writer)
            .await
            .expect("A's writer stops once the server closed")
            .expect("A's writer");
        drop(a);
        drop(b);
        handler_ends(b_task, &b_probe, secs(1), RETURNS).await;
    });
}

/// contract: "Every clone sees the same data."
/// contract: "Each command is atomic"
#[test]
fn connections_share_one_store_and_incr_is_atomic() {
    testkit::run(|| async {
        let store = Store::new();
        let token = CancellationToken::new();
        let (mut a, a_probe, a_task) = open("A", &store, CONFIG, &token, 4096);
        let (mut b, b_probe, b_task) = open("B", &store, CONFIG, &token, 4096);
        assert_eq!(
            a.ask("SET shared 1").await,
            "OK",
            "A's `SET shared 1` must be answered OK: a SET stores the value and replies OK \
             (Store::apply, Reply's Display)"
        );
        assert_eq!(
            b.ask("GET shared").await,
            "VALUE 1",
            "what one connection SETs, another GETs: every connection shares one store"
        );

        let counting = |mut client: Client<DuplexStream>| async move {
            for _ in 0..50 {
                client.ask("INCR hits").await;
                tokio::task::yield_now().await;
            }
            client
        };
        let (mut a, b) = tokio::join!(counting(a), counting(b));
        assert_eq!(
            a.ask("GET hits").await,
            "VALUE 100",
            "two connections INCR the same key 50 times each, interleaved: 100"
        );
        drop((a, b));
        handler_ends(a_task, &a_probe, secs(1), RETURNS).await;
        handler_ends(b_task, &b_probe, secs(1), RETURNS).await;
    });
}

/// contract: "**shutdown**: once `shutdown` is cancelled, a connection waiting between requests (no part of a next line received) is closed at once"
#[test]
fn shutdown_closes_a_connection_waiting_between_requests_at_once() {
    testkit::run(|| async {
        let store = Store::new();
        let token = CancellationToken::new();
        let (mut client, probe, task) = open("client", &store, CONFIG, &token, 4096);
        assert_eq!(
            client.ask("SET k v").await,
            "OK",
            "`SET k v`, before shutdown, must be answered OK: a SET stores the value and replies \
             OK (Store::apply, Reply's Display)"
        );

        until(secs(1)).await;
        token.cancel();
        let heard = client.hear(secs(60)).await;
        reraise();
        assert!(
            heard == Heard::Closed && now() == secs(1),
            "shutdown at t=1s; the connection was waiting for a next request: it must be closed \
             at once, at t=1s (heard {heard} at t={}). Watch the token while waiting for a line \
             (select!)",
            fmt_duration(now())
        );
        handler_ends(task, &probe, secs(1), RETURNS).await;

        // A connection that starts after shutdown was requested is closed at once too.
        let (mut late, late_probe, late_task) = open("late", &store, CONFIG, &token, 4096);
        let heard = late.hear(secs(60)).await;
        reraise();
        assert!(
            heard == Heard::Closed && now() == secs(1),
            "a connection opened after shutdown must be closed at once (heard {heard} at t={})",
            fmt_duration(now())
        );
        handler_ends(late_task, &late_probe, secs(1), RETURNS).await;
    });
}

/// contract: "a request in flight — part of its line received, or its reply being written — is finished (read to its end, executed, answered) and then the connection is closed"
#[test]
fn shutdown_lets_the_request_in_flight_finish_then_closes() {
    testkit::run(|| async {
        let store = Store::new();
        let token = CancellationToken::new();
        let timeline = Timeline::new();
        let (mut a, a_probe, a_task) = open("A", &store, CONFIG, &token, 4096);
        let (mut b, b_probe, b_task) = open("B", &store, CONFIG, &token, 4096);
        assert_eq!(
            a.ask("SET k v").await,
            "OK",
            "A's `SET k v`, before shutdown, must be answered OK: a SET stores the value and \
             replies OK (Store::apply, Reply's Display)"
        );
        assert_eq!(
            b.ask("SET j w").await,
            "OK",
            "B's `SET j w`, before shutdown, must be answered OK: a SET stores the value and \
             replies OK (Store::apply, Reply's Display)"
        );

        let idle = testkit::spawn({
            let timeline = timeline.clone();
            async move {
                let heard = b.hear(secs(60)).await;
                timeline.record(format!("B (idle): {heard}"));
            }
        });

        // A is half-way through a request when shutdown comes.
        until(ms(500)).await;
        a.send("GET ").await;
        until(secs(1)).await;
        token.cancel();
        until(secs(2)).await;
        a.send("k\n").await;
        let reply = a.hear(secs(60)).await;
        timeline.record(format!("A (in flight): {reply}"));
        let then = a.hear(secs(60)).await;
        timeline.record(format!("A (in flight): {then}"));
        let _ = idle.await;

        assert_schedule(
            &timeline,
            &[
                (1000, "B (idle): (closed)"),
                (2000, "A (in flight): VALUE v"),
                (2000, "A (in flight): (closed)"),
            ],
            "shutdown at t=1s: B, waiting between requests, is closed at once; A, half-way \
             through `GET k` (its line began at t=0.5s), gets its request finished — the rest of \
             the line comes at t=2s, is answered, and then A is closed",
        );
        handler_ends(a_task, &a_probe, secs(1), RETURNS).await;
        handler_ends(b_task, &b_probe, secs(1), RETURNS).await;
    });
}

// ---------------------------------------------------------------------------------------------
// 3. The server, over loopback TCP
// ---------------------------------------------------------------------------------------------

/// contract: "Accepts connections on `listener` and serves each one with [`handle_connection`](crate::handle_connection) in its own task, until `shutdown` is cancelled."
/// contract: "The shared key-value store: a cheap handle, cloned into every connection."
#[test]
fn the_server_answers_clients_over_tcp_until_shutdown() {
    testkit::run(|| async {
        let store = Store::new();
        let server = start_server(CONFIG, &store).await;
        let mut client = connect("client", server.addr).await;
        assert_eq!(
            client.ask("SET city Lyon").await,
            "OK",
            "over TCP, serve must hand each connection to handle_connection: `SET city Lyon` is \
             answered OK"
        );
        assert_eq!(
            client.ask("GET city").await,
            "VALUE Lyon",
            "`GET city` after `SET city Lyon` on the same connection must be answered VALUE Lyon"
        );
        assert_eq!(
            client.ask("QUIT").await,
            "BYE",
            "QUIT must be answered BYE, before the connection is closed"
        );
        assert_eq!(
            client.hear(secs(1)).await,
            Heard::Closed,
            "closed after BYE"
        );

        until(secs(60)).await;
        assert!(
            !server.task.is_finished(),
            "serve must keep accepting until shutdown is requested"
        );
        let mut later = connect("later", server.addr).await;
        assert_eq!(
            later.ask("GET city").await,
            "VALUE Lyon",
            "a connection opened at t=60s must see what an earlier connection SET: every \
             connection shares the Store given to serve (clone it into each connection's task, \
             never make a new one)"
        );
        assert_eq!(
            later.ask("QUIT").await,
            "BYE",
            "QUIT must be answered BYE, before the connection is closed"
        );

        let returned = server.shut_down(CONFIG).await;
        assert_eq!(
            returned,
            secs(60),
            "shutdown at t=60s with no connection open: serve returns at once"
        );
    });
}

/// contract: "**Concurrency**: every connection is served by its own task, so a slow or silent client never delays another; the accept loop never waits for a client."
#[test]
fn a_slow_client_does_not_delay_the_others() {
    testkit::run(|| async {
        let config = Config {
            idle_timeout: secs(60),
            ..CONFIG
        };
        let store = Store::new();
        let server = start_server(config, &store).await;
        let timeline = Timeline::new();

        // The slow client connects first and sends half a line: a server that serves one
        // connection at a time is stuck with it.
        let mut slow = connect("slow", server.addr).await;
        slow.send("SET slow").await;
        let mut clients = vec![testkit::spawn({
            let timeline = timeline.clone();
            async move {
                until(secs(5)).await;
                slow.send(" 1\n").await;
                timeline.record(format!("slow: {}", slow.hear(secs(60)).await));
                slow.send("QUIT\n").await;
                timeline.record(format!("slow: {}", slow.hear(secs(60)).await));
            }
        })];
        for i in 1..=3 {
            let (timeline, addr) = (timeline.clone(), server.addr);
            clients.push(testkit::spawn(async move {
                let name = format!("client {i}");
                let mut c = connect(&name, addr).await;
                c.send(&format!("SET k{i} v{i}\n")).await;
                timeline.record(format!("{name}: {}", c.hear(secs(60)).await));
                sleep(secs(1)).await;
                c.send(&format!("GET k{i}\n")).await;
                timeline.record(format!("{name}: {}", c.hear(secs(60)).await));
                c.send("QUIT\n").await;
                timeline.record(format!("{name}: {}", c.hear(secs(60)).await));
            }));
        }
        for client in clients {
            let _ = timeout(secs(120), client).await;
        }
        reraise();

        let first_reply = timeline
            .entries()
            .into_iter()
            .find(|(_, e)| e.starts_with("client 1:"))
            .map(|(t, _)| t);
        let diagnosis = match first_reply {
            Some(t) if t > Duration::ZERO => format!(
                "connections were served one at a time: client 1 connected at t=0 but got its \
                 first reply only at t={}, once the slow client was done. The accept loop must \
                 hand each connection to a task of its own (tokio::spawn) and go straight back \
                 to accept(), never await a client itself. ",
                fmt_duration(t)
            ),
            _ => String::new(),
        };
        assert_schedule(
            &timeline,
            &[
                (0, "client 1: OK"),
                (0, "client 2: OK"),
                (0, "client 3: OK"),
                (1000, "client 1: VALUE v1"),
                (1000, "client 1: BYE"),
                (1000, "client 2: VALUE v2"),
                (1000, "client 2: BYE"),
                (1000, "client 3: VALUE v3"),
                (1000, "client 3: BYE"),
                (5000, "slow: OK"),
                (5000, "slow: BYE"),
            ],
            &format!(
                "{diagnosis}Every client gets each reply the instant it asks, whatever the other \
                 clients do: clients 1-3 at t=0 and t=1s, the slow client (half a line, then \
                 5s of silence) at t=5s"
            ),
        );
        server.shut_down(config).await;
    });
}

/// contract: "**Connection limit**: at most `config.max_connections` connections are served at once."
/// contract: "The most connections served at once."
/// contract: "One more is answered `ERR busy` and closed."
/// contract: "the new connection is sent `ERR busy` and closed at once; it does not count against the limit"
#[test]
fn at_most_max_connections_are_served_and_the_next_one_is_told_busy() {
    testkit::run(|| async {
        let config = Config {
            max_connections: 2,
            ..CONFIG
        };
        let store = Store::new();
        let server = start_server(config, &store).await;
        let mut transcript: Vec<String> = Vec::new();
        let mut note = |who: &str, what: String| transcript.push(format!("{who}: {what}"));

        let mut a = connect("A", server.addr).await;
        note("A", a.ask("SET a 1").await);
        let mut b = connect("B", server.addr).await;
        note("B", b.ask("SET b 1").await);
        // Full: the third is told so, at once, and closed.
        let mut c = connect("C", server.addr).await;
        note("C", c.hear(secs(1)).await.to_string());
        note("C", c.hear(secs(1)).await.to_string());
        // The two served connections are unaffected.
        note("A", a.ask("GET b").await);
        // A leaves; a moment later its slot is free again.
        note("A", a.ask("QUIT").await);
        note("A", a.hear(secs(1)).await.to_string());
        sleep(ms(10)).await;
        let mut d = connect("D", server.addr).await;
        note("D", d.ask("GET a").await);
        // Full again: B and D.
        let mut e = connect("E", server.addr).await;
        note("E", e.hear(secs(1)).await.to_string());
        note("E", e.hear(secs(1)).await.to_string());
        reraise();

        assert_eq!(
            transcript,
            vec![
                "A: OK",
                "B: OK",
                "C: ERR busy",
                "C: (closed)",
                "A: VALUE 1",
                "A: BYE",
                "A: (closed)",
                "D: VALUE 1",
                "E: ERR busy",
                "E: (closed)",
            ],
            "with max_connections = 2: a third connection is answered `ERR busy` and closed at \
             once; a refused connection takes no slot; a slot frees up as soon as its connection \
             is closed"
        );
        drop((b, c, d, e));
        server.shut_down(config).await;
    });
}

/// contract: "A connection counts from the moment it is accepted until its handler has closed it, however it ended"
#[test]
fn a_client_that_vanishes_mid_line_frees_its_slot() {
    testkit::run(|| async {
        let config = Config {
            max_connections: 1,
            ..CONFIG
        };
        let store = Store::new();
        let server = start_server(config, &store).await;

        let mut a = connect("A", server.addr).await;
        assert_eq!(
            a.ask("SET a 1").await,
            "OK",
            "A is the first and only connection (max_connections = 1): it must be served, so \
             `SET a 1` is answered OK, not `ERR busy`"
        );
        a.send("GET").await;
        until(secs(1)).await;
        // Gone without a goodbye: a reset, not even a FIN.
        a.io.get_ref().set_zero_linger().expect("SO_LINGER");
        drop(a);

        until(secs(1) + ms(10)).await;
        let mut b = connect("B", server.addr).await;
        b.send("GET a\n").await;
        let heard = b.hear(secs(1)).await;
        reraise();
        assert_eq!(
            heard,
            line("VALUE 1"),
            "A (the only allowed connection) vanished in the middle of a line at t=1s: its \
             connection is over and its slot must be free for B at once. A connection counts \
             until its handler has closed it, however it ended (quit, hang-up, timeout, error)"
        );
        drop(b);
        server.shut_down(config).await;
    });
}

/// contract: "**Shutdown**: when `shutdown` is cancelled, `serve` stops accepting"
/// contract: "It returns as soon as every connection has closed, or `config.shutdown_grace` after the cancellation, whichever comes first; at that point every connection still open is closed."
/// contract: "When `serve` returns, no task it started is still alive."
/// contract: "After shutdown is requested: how long requests in flight get to finish before every connection still open is closed."
/// contract: "[`serve`](crate::serve) bounds that with its grace period."
#[test]
fn shutdown_stops_accepting_finishes_requests_in_flight_and_closes_the_rest_after_the_grace_period()
{
    testkit::run(|| async {
        let config = Config {
            idle_timeout: secs(60),
            ..CONFIG
        };
        let store = Store::new();
        let server = start_server(config, &store).await;
        let timeline = Timeline::new();
        let addr = server.addr;

        let mut a = connect("A", addr).await;
        assert_eq!(
            a.ask("SET a 1").await,
            "OK",
            "A, the first of three connections (max_connections = 10), must be served: \
             `SET a 1` is answered OK"
        );
        let mut b = connect("B", addr).await;
        assert_eq!(
            b.ask("SET b 1").await,
            "OK",
            "B, the second of three connections (max_connections = 10), must be served: \
             `SET b 1` is answered OK"
        );
        let mut c = connect("C", addr).await;
        assert_eq!(
            c.ask("SET c 1").await,
            "OK",
            "C, the third of three connections (max_connections = 10), must be served: \
             `SET c 1` is answered OK"
        );

        let record = |who: &'static str, timeline: &Timeline, heard: Heard| {
            timeline.record(format!("{who}: {heard}"))
        };
        let mut clients = Vec::new();
        // A: idle, between requests.
        clients.push(testkit::spawn({
            let timeline = timeline.clone();
            async move { record("A (idle)", &timeline, a.hear(secs(120)).await) }
        }));
        // B: starts a request at t=0.5s and finishes it at t=2s, after shutdown.
        clients.push(testkit::spawn({
            let timeline = timeline.clone();
            async move {
                until(ms(500)).await;
                b.send("GET b").await;
                until(secs(2)).await;
                b.send("\n").await;
                record("B (in flight)", &timeline, b.hear(secs(120)).await);
                record("B (in flight)", &timeline, b.hear(secs(120)).await);
            }
        }));
        // C: starts a request at t=0.5s and never finishes it.
        clients.push(testkit::spawn({
            let timeline = timeline.clone();
            async move {
                until(ms(500)).await;
                c.send("GET c").await;
                record("C (stalled)", &timeline, c.hear(secs(120)).await);
            }
        }));
        // D: tries to connect after shutdown was requested.
        let late = testkit::spawn(async move {
            until(ms(1500)).await;
            let Ok(stream) = TcpStream::connect(addr).await else {
                return Heard::Closed; // refused: fine
            };
            stream.set_nodelay(true).expect("TCP_NODELAY");
            let mut d = Client::new("D", stream);
            d.send("GET a\n").await;
            d.hear(secs(120)).await
        });

        until(secs(1)).await;
        let returned = server.shut_down(config).await;
        timeline.record("serve returned");
        for client in clients {
            let _ = timeout(secs(120), client).await;
        }
        let d = timeout(secs(120), late).await;

        let diagnosis = if returned < secs(6) {
            format!(
                "serve returned at t={}, before its connections were done (B's request was in \
                 flight until t=2s, C stayed open until the grace period ended at t=6s): it must \
                 wait for them, up to the grace period, and leave no task behind. ",
                fmt_duration(returned)
            )
        } else if returned > secs(6) {
            format!(
                "serve returned at t={}, after the grace period ended at t=6s: every connection \
                 still open then must be closed (abort its task) and serve must return. ",
                fmt_duration(returned)
            )
        } else {
            String::new()
        };
        assert_schedule(
            &timeline,
            &[
                (1000, "A (idle): (closed)"),
                (2000, "B (in flight): VALUE 1"),
                (2000, "B (in flight): (closed)"),
                (6000, "C (stalled): (closed)"),
                (6000, "serve returned"),
            ],
            &format!(
                "{diagnosis}Shutdown at t=1s, grace period 5s: the idle connection (A) is closed \
                 at once; the request in flight (B) is finished, then B is closed; the connection \
                 still open when the grace period ends (C) is closed at t=6s, and serve returns \
                 then"
            ),
        );
        let d = d.ok().and_then(Result::ok);
        assert!(
            matches!(d, Some(Heard::Closed)),
            "D connected at t=1.5s, after shutdown was requested: it must never be served (its \
             connection refused, or closed unanswered once the listener is gone); D heard {}",
            d.map_or("nothing (still waiting)".to_owned(), |h| h.to_string())
        );
    });
}

/// contract: "It returns as soon as every connection has closed"
#[test]
fn shutdown_returns_at_once_when_every_connection_is_idle() {
    testkit::run(|| async {
        let store = Store::new();
        let server = start_server(CONFIG, &store).await;
        let timeline = Timeline::new();
        let mut clients = Vec::new();
        for name in ["A", "B"] {
            let mut client = connect(name, server.addr).await;
            assert_eq!(
                client.ask(&format!("SET {name} 1")).await,
                "OK",
                "{name}, one of two connections (max_connections = 10), must be served: \
                 `SET {name} 1` is answered OK"
            );
            let timeline = timeline.clone();
            clients.push(testkit::spawn(async move {
                let heard = client.hear(secs(120)).await;
                timeline.record(format!("{name}: {heard}"));
            }));
        }
        until(secs(1)).await;
        let returned = server.shut_down(CONFIG).await;
        timeline.record("serve returned");
        for client in clients {
            let _ = timeout(secs(120), client).await;
        }
        assert_schedule(
            &timeline,
            &[
                (1000, "A: (closed)"),
                (1000, "B: (closed)"),
                (1000, "serve returned"),
            ],
            &format!(
                "shutdown at t=1s with every connection waiting between requests: nothing is in \
                 flight, so both are closed at once and serve returns at once (t=1s, here \
                 t={}), without waiting out the grace period",
                fmt_duration(returned)
            ),
        );
    });
}

// ---------------------------------------------------------------------------------------------
// 4. Limits that hold against bad clients: a bounded store, slow lines, a full server
// ---------------------------------------------------------------------------------------------

/// Applies each command in turn and compares every reply with the script's.
async fn run_script(store: &Store, script: &[(Command, Reply)], what: &str) {
    let mut observed = Vec::new();
    for (command, _) in script {
        observed.push((command.clone(), store.apply(command.clone()).await));
    }
    assert_eq!(observed, script.to_vec(), "{what}");
}

/// contract: "An empty store that holds at most `max_keys` keys and at most `max_bytes` bytes"
/// contract: "A command that would take the store beyond either limit"
/// contract: "A store exactly at a limit is fine"
/// contract: "a `SET` or `INCR` whose result would not fit the store's limits → `ERR store full`"
#[test]
fn the_store_refuses_what_would_exceed_its_limits_and_accepts_exactly_the_limit() {
    testkit::run(|| async {
        let full = || err("store full");
        // At most 3 keys and 20 bytes of keys and values together.
        let store = Store::bounded(3, 20);
        let script = vec![
            (set("a", "123456789"), Reply::Ok), // 10 bytes
            (set("b", "12345678"), Reply::Ok),  // 19 bytes
            (set("c", "1"), full()),            // would be 21
            (get("c"), Reply::Nil),             // a refused SET changes nothing
            (set("b", "123456789"), Reply::Ok), // replacing: exactly 20
            (set("b", "1234567890"), full()),   // would be 21
            (get("b"), Reply::Value("123456789".into())),
            (set("b", "1"), Reply::Ok),       // shrinking: 12
            (set("c", "1234567"), Reply::Ok), // 20 again, 3 keys
            (del("a"), Reply::Int(1)),        // frees 10 bytes and a key: 10
            (set("d", "9"), Reply::Ok),       // 12 bytes, 3 keys
            (set("e", "1"), full()),          // a 4th key: refused though bytes fit
            (incr("f"), full()),              // INCR of a new key is a new key too
            (get("f"), Reply::Nil),
            (incr("d"), Reply::Int(10)), // grows by a byte: 13
            (set("d", "x"), Reply::Ok),  // an existing key: fine at 3 keys
            // 2 + 8 + 10: exactly the limit again — DEL freed exactly what `a` used.
            (set("d", "123456789"), Reply::Ok),
            (set("d", "1234567890"), full()), // would be 21
        ];
        run_script(
            &store,
            &script,
            "Store::bounded(3 keys, 20 bytes): bytes are key.len() + value.len() over every key \
             stored; a store exactly at a limit is fine, one byte or one key more is `ERR store \
             full` and changes nothing; replacing a value counts only the difference; DEL frees \
             what the key used",
        )
        .await;

        // INCR can grow a value past the limit (999 → 1000), and bytes are UTF-8 bytes.
        let store = Store::bounded(10, 4);
        let script = vec![
            (set("n", "998"), Reply::Ok), // 4 bytes
            (incr("n"), Reply::Int(999)), // still 4
            (incr("n"), full()),          // "1000" would make 5
            (get("n"), Reply::Value("999".into())),
            (del("n"), Reply::Int(1)),  // 0 bytes
            (set("k", "é€"), full()),   // 1 + 2 + 3 = 6 bytes of UTF-8 (3 chars)
            (set("k", "é"), Reply::Ok), // 1 + 2 = 3
            (set("j", "1"), full()),    // would be 5
        ];
        run_script(
            &store,
            &script,
            "Store::bounded(10 keys, 4 bytes): an INCR that lengthens the value (999 → 1000) \
             beyond the limit is `ERR store full` and leaves the value as it was; sizes are \
             counted in bytes of UTF-8 (`str::len`), not in characters",
        )
        .await;
    });
}

/// Checks that `store` (empty) takes 10 000 keys and refuses the 10 001st, then drops it. Every
/// 250 keys, and after the drop, the test lets the runtime go idle for a virtual millisecond:
/// 10 000 commands in one stretch, on a loaded machine, could pass for a blocked executor.
async fn holds_exactly_10_000_keys(store: Store, which: &str) {
    for i in 0..10_000 {
        if i % 250 == 249 {
            sleep(ms(1)).await;
        }
        assert_eq!(
            store.apply(set(&format!("k{i}"), "v")).await,
            Reply::Ok,
            "{which} holds 10 000 keys: SET of key number {} was refused",
            i + 1
        );
    }
    assert_eq!(
        store.apply(set("one-more", "v")).await,
        err("store full"),
        "{which} holds at most 10 000 keys: the 10 001st must be `ERR store full`"
    );
    // A solution's store owns 10 000 keys; the untouched stub's is empty (nothing to drop there).
    #[allow(clippy::drop_non_drop)]
    drop(store);
    sleep(ms(1)).await;
}

/// contract: "An empty store with the default limits: 10 000 keys, and 1 MiB (1 048 576 bytes)"
#[test]
fn a_new_store_holds_10_000_keys_and_1_mib_and_not_one_more() {
    testkit::run(|| async {
        let store = Store::new();
        holds_exactly_10_000_keys(store, "Store::new()").await;

        let store = Store::new();
        let mib = 1024 * 1024;
        assert_eq!(
            store.apply(set("k", &"x".repeat(mib - 1))).await,
            Reply::Ok,
            "Store::new() holds 1 MiB: key `k` (1 byte) with a value of 1 048 575 bytes is \
             exactly 1 048 576 bytes and must be accepted"
        );
        assert_eq!(
            store.apply(set("k", &"x".repeat(mib))).await,
            err("store full"),
            "Store::new() holds at most 1 MiB (1 048 576 bytes of keys and values): a value one \
             byte longer must be `ERR store full`"
        );
        assert_eq!(
            store.apply(set("j", "1")).await,
            err("store full"),
            "the store is at 1 MiB exactly: a new key of 2 bytes must be `ERR store full`"
        );
    });
}

/// contract: "**line timeout**: once the first byte of a line has arrived, its `\n` must arrive within `config.line_timeout`"
/// contract: "A client that sends one byte a second cannot hold its connection with a line that never ends."
/// contract: "How long one line may take to arrive, from its first byte to its `\n`"
#[test]
fn a_line_that_takes_longer_than_line_timeout_is_refused_and_the_connection_closed() {
    testkit::run(|| async {
        let config = Config {
            idle_timeout: secs(60),
            ..CONFIG
        };
        let store = Store::new();
        let token = CancellationToken::new();

        // A trickles a line, one byte a second from t=1s: the line's deadline is t=11s.
        let (mut a, a_probe, a_task) = open("A", &store, config, &token, 4096);
        assert_eq!(
            a.ask("SET a 1").await,
            "OK",
            "A's `SET a 1` at t=0 must be answered OK"
        );
        // B's line takes 1 ms less than line_timeout: it is in time.
        let (mut b, b_probe, b_task) = open("B", &store, config, &token, 4096);
        let trickle = testkit::spawn(async move {
            for (i, byte) in "GET a GET a GET a GET a".bytes().enumerate() {
                until(secs(1 + i as u64)).await;
                if !a.send_bytes(&[byte]).await {
                    break;
                }
            }
            a
        });
        until(secs(2)).await;
        b.send("GET").await;
        until(secs(12) - ms(1)).await;
        b.send(" a\n").await;
        let heard = b.hear(secs(1)).await;
        reraise();
        assert!(
            heard == line("VALUE 1") && now() == secs(12) - ms(1),
            "B began a line at t=2s and ended it at t=11.999s, within line_timeout (10s) of its \
             first byte: it must be answered at once (heard {heard} at t={})",
            fmt_duration(now())
        );

        let mut a = timeout(secs(60), trickle)
            .await
            .expect("A's trickle stops once the server has closed")
            .expect("A's trickle");
        handler_ends(a_task, &a_probe, secs(60), RETURNS).await;
        let closed_at = a_probe.completed_at().expect("the handler has returned");
        assert_eq!(
            closed_at,
            secs(11),
            "A's line began at t=1s (one byte a second, never a \\n) and line_timeout is 10s: \
             the connection must be closed exactly at t=11s, not at t={} (the idle timeout is \
             60s, so only a deadline per line stops a client that trickles)",
            fmt_duration(closed_at)
        );
        let mut heard = Vec::new();
        for _ in 0..2 {
            heard.push(a.hear(secs(1)).await);
        }
        assert_eq!(
            heard,
            vec![line("ERR line timeout"), Heard::Closed],
            "A's line took too long: A must be told `ERR line timeout`, then its connection is \
             closed"
        );
        assert!(
            b_probe.is_running(),
            "B's connection must stay open ({})",
            b_probe.describe()
        );
        drop(b);
        handler_ends(b_task, &b_probe, secs(1), RETURNS).await;
    });
}

/// The limits of the full-server tests: `max_connections` slots, 5 min of idleness, 10 s a line.
fn full_server(max_connections: usize) -> Config {
    Config {
        max_connections,
        idle_timeout: secs(300),
        line_timeout: secs(10),
        ..CONFIG
    }
}

/// Records on `timeline` the next thing `client` hears (within 10 minutes).
fn watch(name: &'static str, mut client: Client<TcpStream>, timeline: &Timeline) -> JoinHandle<()> {
    let timeline = timeline.clone();
    testkit::spawn(async move {
        let heard = client.hear(secs(600)).await;
        timeline.record(format!("{name}: {heard}"));
    })
}

/// contract: "**When full**, a new connection does not simply wait for a slot or get refused"
/// contract: "It is closed as if shutdown had been requested for it alone"
/// contract: "If no connection has waited that long, the new connection is sent `ERR busy` and closed at once"
/// contract: "So a silent client holds its slot only while no one else needs it"
/// contract: "Also, when the server is full, how long a connection must have been waiting between requests"
#[test]
fn when_full_the_connection_waiting_longest_for_line_timeout_gives_up_its_slot() {
    testkit::run(|| async {
        let config = full_server(3);
        let server = start_server(config, &Store::new()).await;
        let timeline = Timeline::new();
        let mut watchers = Vec::new();
        // A, B and X each send one request (at t=0, 0.5s and 1s), then wait in silence.
        let mut x = None;
        for (name, t) in [("A", 0), ("B", 500), ("X", 1000)] {
            until(ms(t)).await;
            let mut client = connect(name, server.addr).await;
            assert_eq!(
                client.ask(&format!("SET {name} 1")).await,
                "OK",
                "{name} is one of the first three connections (max_connections = 3): served"
            );
            if name == "X" {
                x = Some(client);
                continue;
            }
            watchers.push(watch(name, client, &timeline));
        }
        let mut x = x.expect("X connected");
        let refused = |name: &str, heard: (Heard, Heard), why: &str| {
            assert_eq!(
                heard,
                (line("ERR busy"), Heard::Closed),
                "{name} connected at t={} to a full server (max_connections = 3): {why}, so \
                 {name} must be told `ERR busy` and closed at once",
                fmt_duration(now())
            );
        };

        // t=9.999s: A has waited 9.999s, less than line_timeout (10s): nobody gives way.
        until(secs(10) - ms(1)).await;
        let mut c = connect("C", server.addr).await;
        let heard = (c.hear(secs(1)).await, c.hear(secs(1)).await);
        reraise();
        refused(
            "C",
            heard,
            "no connection had waited line_timeout (10s) between requests (A 9.999s, B 9.499s, \
             X 8.999s)",
        );

        // t=10s: A has waited exactly line_timeout — it gives its slot to D.
        until(secs(10)).await;
        let mut d = connect("D", server.addr).await;
        d.send("GET A\n").await;
        let heard = d.hear(secs(1)).await;
        reraise();
        assert!(
            heard == line("VALUE 1") && now() == secs(10),
            "D connected at t=10s to a full server where A had waited exactly line_timeout (10s) \
             since its last line: A must be closed to make room and D served at once (D heard \
             {heard} at t={}). A few silent clients must not lock everyone else out for the \
             whole idle timeout (300s)",
            fmt_duration(now())
        );

        // t=12s: B (11.5s) and X (11s) have both waited long enough: B, the longest, gives way.
        until(secs(12)).await;
        let mut e = connect("E", server.addr).await;
        e.send("GET B\n").await;
        let heard = e.hear(secs(1)).await;
        reraise();
        assert_eq!(
            heard,
            line("VALUE 1"),
            "E connected at t=12s to a full server where B and X had waited 11.5s and 11s: one \
             must give way and E be served at once"
        );
        x.send("GET X\n").await;
        let heard = x.hear(secs(1)).await;
        reraise();
        assert_eq!(
            heard,
            line("VALUE 1"),
            "X (waiting 11s, less than B's 11.5s) keeps its connection at t=12s: the connection \
             that has waited the longest gives way, not any connection that has waited enough"
        );
        for watcher in watchers {
            let _ = timeout(secs(1), watcher).await;
        }
        assert_schedule(
            &timeline,
            &[(10_000, "A: (closed)"), (12_000, "B: (closed)")],
            "when full, the connection that has waited longest between requests gives way, \
             closed without a reply: A (waiting since t=0) at t=10s for D, then B (since t=0.5s) \
             at t=12s for E",
        );

        // t=13s: D and E asked at t=10s and t=12s, X at t=12s: nobody has waited 10s.
        until(secs(13)).await;
        let mut g = connect("G", server.addr).await;
        let heard = (g.hear(secs(1)).await, g.hear(secs(1)).await);
        reraise();
        refused(
            "G",
            heard,
            "D, E and X all sent a line within the last 3s (a connection active within \
             line_timeout keeps its slot)",
        );
        drop((c, d, e, g, x));
        server.shut_down(config).await;
    });
}

/// contract: "Between two that have waited equally long, either one."
#[test]
fn when_full_and_two_have_waited_equally_long_exactly_one_gives_way() {
    testkit::run(|| async {
        let config = full_server(2);
        let server = start_server(config, &Store::new()).await;
        let timeline = Timeline::new();
        let mut watchers = Vec::new();
        // A and B connect at the same instant and send nothing: they have waited equally long.
        for name in ["A", "B"] {
            watchers.push(watch(name, connect(name, server.addr).await, &timeline));
        }
        until(secs(10)).await;
        let mut c = connect("C", server.addr).await;
        c.send("SET c 1\n").await;
        let heard = c.hear(secs(1)).await;
        reraise();
        assert!(
            heard == line("OK") && now() == secs(10),
            "C connected at t=10s to a full server (max_connections = 2) where A and B had both \
             waited exactly line_timeout (10s) since they were accepted: one of them gives way \
             and C is served at once (C heard {heard} at t={})",
            fmt_duration(now())
        );
        sleep(ms(1)).await;
        let closed: Vec<String> = timeline.lines();
        assert_eq!(
            closed.len(),
            1,
            "A and B waited equally long: either one gives way, but exactly one — the other keeps \
             its slot (closed by t=10.001s: {closed:?})"
        );
        for watcher in watchers {
            watcher.abort();
        }
        drop(c);
        server.shut_down(config).await;
    });
}

/// A future of any type, boxed, so that several can be run side by side.
type Boxed<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + 'a>>;

/// Runs `futures` side by side on the test's task and returns their outputs in order: each is
/// polled once before any waits, so what they start (a connection, a read) starts together.
async fn together<'a, T>(futures: Vec<Boxed<'a, T>>) -> Vec<T> {
    let mut futures = futures;
    let mut outputs: Vec<Option<T>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none()
                && let std::task::Poll::Ready(value) = future.as_mut().poll(cx)
            {
                *output = Some(value);
            }
        }
        if outputs.iter().all(Option::is_some) {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// Connects one client per name at the same instant: every connection attempt is made before
/// the server's accept loop runs, so the server sees the newcomers together.
async fn connect_together(names: &[&str], addr: SocketAddr) -> Vec<Client<TcpStream>> {
    together(
        names
            .iter()
            .map(|name| Box::pin(connect(name, addr)) as Boxed<'_, _>)
            .collect(),
    )
    .await
}

/// Of `newcomers`, who arrived together at a full server at instant `at`: checks that exactly
/// `refused` of them are told `ERR busy` and closed at once, and that the others are served at
/// once. `why` says which connections could give way.
async fn newcomers_served_or_refused(
    newcomers: Vec<Client<TcpStream>>,
    refused: usize,
    why: &str,
) -> Vec<Client<TcpStream>> {
    let at = now();
    let mut clients = newcomers;
    // Each newcomer listens for 1 ms, all at once: a refused one hears `ERR busy` at once, a
    // served one nothing (it has not asked anything yet).
    let heard = together(
        clients
            .iter_mut()
            .map(|client| {
                Box::pin(async move { (client.name.clone(), client.hear(ms(1)).await, now()) })
                    as Boxed<'_, _>
            })
            .collect(),
    )
    .await;
    reraise();
    let busy: Vec<&String> = heard
        .iter()
        .filter(|(_, first, t)| *first == line("ERR busy") && *t == at)
        .map(|(name, _, _)| name)
        .collect();
    let summary: Vec<String> = heard
        .iter()
        .map(|(name, first, t)| format!("{name} heard {first} at t={}", fmt_duration(*t)))
        .collect();
    assert_eq!(
        busy.len(),
        refused,
        "{} newcomers connected at the same instant t={} to a full server: {why}. A connection \
         already asked to close makes room for one newcomer only; a newcomer for whom no other \
         connection has waited line_timeout must be sent `ERR busy` and closed at once, not \
         wait for a slot ({})",
        heard.len(),
        fmt_duration(at),
        summary.join(", ")
    );
    let mut served = Vec::new();
    for (mut client, (_, first, _)) in clients.into_iter().zip(heard) {
        if first == line("ERR busy") {
            let next = client.hear(secs(1)).await;
            reraise();
            assert_eq!(
                next,
                Heard::Closed,
                "{} was told `ERR busy`: its connection must then be closed at once",
                client.name
            );
            continue;
        }
        let asked_at = now();
        client.send(&format!("SET {} 1\n", client.name)).await;
        let reply = client.hear(secs(1)).await;
        reraise();
        assert!(
            reply == line("OK") && now() == asked_at,
            "{} connected at t={} to a full server with others arriving at the same instant \
             ({why}), and was not told `ERR busy`: it must be served at once, in the slot of a \
             connection that gave way (it asked at t={} and heard {reply} at t={})",
            client.name,
            fmt_duration(at),
            fmt_duration(asked_at),
            fmt_duration(now())
        );
        served.push(client);
    }
    served
}

/// contract: "**When full**, a new connection does not simply wait for a slot or get refused"
/// contract: "If no connection has waited that long, the new connection is sent `ERR busy` and closed at once"
#[test]
fn when_full_newcomers_arriving_together_each_need_a_connection_of_their_own_to_give_way() {
    testkit::run(|| async {
        let config = full_server(3);
        let server = start_server(config, &Store::new()).await;
        let timeline = Timeline::new();
        let mut watchers = Vec::new();
        // A (t=0) and B (t=0.5s) connect and stay silent; C connects at t=0 and sends a line at
        // t=5s.
        watchers.push(watch("A", connect("A", server.addr).await, &timeline));
        let mut c = connect("C", server.addr).await;
        until(ms(500)).await;
        watchers.push(watch("B", connect("B", server.addr).await, &timeline));
        until(secs(5)).await;
        assert_eq!(
            c.ask("SET C 1").await,
            "OK",
            "C is one of the first three connections (max_connections = 3): served"
        );
        watchers.push(watch("C", c, &timeline));

        // t=11s: three newcomers at once. A (11s) and B (10.5s) have waited line_timeout, C
        // (6s) has not: two newcomers take A's and B's slots, the third is told busy.
        until(secs(11)).await;
        let newcomers = connect_together(&["N1", "N2", "N3"], server.addr).await;
        let mut kept = newcomers_served_or_refused(
            newcomers,
            1,
            "A and B had waited line_timeout (10s) between requests, C only 6s, so two of them \
             are served (A and B give way) and one is told busy",
        )
        .await;
        assert_schedule(
            &timeline,
            &[(11_000, "A: (closed)"), (11_000, "B: (closed)")],
            "three newcomers at t=11s to a full server: A and B, who had waited line_timeout, \
             each give way to one of them, closed without a reply at t=11s; C (waiting 6s) \
             keeps its slot",
        );

        // t=15s: two newcomers at once. C has waited exactly line_timeout (since t=5s), the
        // newcomers served at t=11s only 4s: one newcomer takes C's slot, the other is told
        // busy at once.
        until(secs(15)).await;
        let newcomers = connect_together(&["M1", "M2"], server.addr).await;
        kept.extend(
            newcomers_served_or_refused(
                newcomers,
                1,
                "only C had waited line_timeout (10s) between requests, so one of them is \
                 served (C gives way) and the other is told busy",
            )
            .await,
        );
        for watcher in watchers {
            let _ = timeout(secs(1), watcher).await;
        }
        assert_schedule(
            &timeline,
            &[
                (11_000, "A: (closed)"),
                (11_000, "B: (closed)"),
                (15_000, "C: (closed)"),
            ],
            "C, waiting since t=5s, gives way at t=15s, exactly line_timeout later, closed \
             without a reply",
        );
        drop(kept);
        server.shut_down(config).await;
    });
}

/// contract: "An error accepting one connection is not fatal: the loop goes on, and the connections already open are still served."
/// contract: "It goes on after a short pause (say 100 ms), so that an error that persists (out of file descriptors) does not keep the executor busy."
#[test]
fn an_error_accepting_a_connection_does_not_stop_the_server() {
    testkit::run(|| async {
        let config = Config {
            idle_timeout: secs(60),
            ..CONFIG
        };
        let store = Store::new();
        let server = start_server(config, &store).await;
        let mut a = connect("A", server.addr).await;
        assert_eq!(
            a.ask("SET a 1").await,
            "OK",
            "A is served before accept fails"
        );

        // From now on every `accept` fails (EINVAL): the listening socket's read side is shut.
        socket2::SockRef::from(&server.listener)
            .shutdown(std::net::Shutdown::Read)
            .expect("shutting down the listener's read side");
        // Past the grace period (5s): a server that treated the error as a shutdown is gone.
        until(secs(8)).await;
        reraise();
        assert!(
            !server.task.is_finished(),
            "serve returned at t={} after accept began to fail at t=0: an error accepting a \
             connection is not fatal, the loop goes on (and the connections already open are \
             still served)",
            fmt_duration(server.probe.completed_at().unwrap_or_default())
        );
        a.send("GET a\n").await;
        let heard = a.hear(secs(1)).await;
        reraise();
        assert_eq!(
            heard,
            line("VALUE 1"),
            "A, connected before accept began to fail, must still be served at t=8s: an error \
             accepting a connection is not fatal"
        );
        let returned = server.shut_down(config).await;
        assert_eq!(
            returned,
            secs(8),
            "shutdown at t=8s while accept keeps failing: A is idle, so serve returns at once \
             (a pause after an accept error must watch for shutdown too)"
        );
        drop(a);
    });
}

/// A byte stream played by the test: it delivers `input`, then fails every read (or, when
/// `silent`, stays open and says nothing more: the handler's timers wake it); writes go through,
/// each one kept, until `writes_before_failing` of them have, and then fail.
struct Scripted {
    input: std::io::Cursor<Vec<u8>>,
    silent: bool,
    writes_before_failing: usize,
    writes: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
}

impl Scripted {
    /// A stream and the list its writes go to.
    fn new(
        input: &[u8],
        silent: bool,
        writes_before_failing: usize,
    ) -> (Self, std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>) {
        let writes = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stream = Scripted {
            input: std::io::Cursor::new(input.to_vec()),
            silent,
            writes_before_failing,
            writes: writes.clone(),
        };
        (stream, writes)
    }
}

/// Every write so far, as text.
fn writes_of(writes: &std::sync::Mutex<Vec<Vec<u8>>>) -> Vec<String> {
    writes
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect()
}

impl AsyncRead for Scripted {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.input.position() < self.input.get_ref().len() as u64 {
            return std::pin::Pin::new(&mut self.input).poll_read(cx, buf);
        }
        if self.silent {
            return std::task::Poll::Pending;
        }
        std::task::Poll::Ready(Err(std::io::ErrorKind::ConnectionReset.into()))
    }
}

impl AsyncWrite for Scripted {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        if self.writes_before_failing == 0 {
            return std::task::Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into()));
        }
        self.writes_before_failing -= 1;
        self.writes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(buf.to_vec());
        std::task::Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// contract: "Errors reading or writing end the connection; there is no one to report them to."
#[test]
fn a_connection_whose_reads_or_writes_fail_ends_quietly_and_harms_no_one() {
    testkit::run(|| async {
        let store = Store::new();
        let token = CancellationToken::new();
        let cases = [
            (
                "a read error after one line",
                b"SET r 1\n".to_vec(),
                usize::MAX,
                "OK\n",
            ),
            (
                "a write error on the first reply",
                b"SET w 1\nGET w\n".to_vec(),
                0,
                "",
            ),
        ];
        for (what, input, writes_before_failing, replies) in cases {
            let (stream, writes) = Scripted::new(&input, false, writes_before_failing);
            let probe = Probe::new(format!("the handler of a connection with {what}"));
            let handler = handle_connection(stream, store.clone(), CONFIG, token.clone());
            let task = spawn_watched(probe.wrap(handler));
            handler_ends(
                task,
                &probe,
                secs(1),
                &format!(
                    "{what} ends the connection: the handler must return at once (and must not \
                     panic: an I/O error is the client's problem, with no one to report it to)"
                ),
            )
            .await;
            let written = writes_of(&writes).concat();
            assert_eq!(
                written, replies,
                "with {what}, the handler wrote {written:?}: an I/O error ends the connection \
                 without a reply (there is no one to report it to, and it is no line of the \
                 client's to answer — least of all `ERR invalid UTF-8`)"
            );
        }
        let (mut c, c_probe, c_task) = open("C", &store, CONFIG, &token, 4096);
        assert_eq!(
            c.ask("GET r").await,
            "VALUE 1",
            "the line before the read error was executed, and the store still works for others"
        );
        drop(c);
        handler_ends(c_task, &c_probe, secs(1), RETURNS).await;
    });
}

// ---------------------------------------------------------------------------------------------
// 4b. Boundaries and ties the docs decide
// ---------------------------------------------------------------------------------------------

/// contract: "each reply line goes out whole, in one write"
/// contract: "Writes `line` followed by `\n`."
#[test]
fn every_reply_line_goes_out_whole_in_one_write() {
    testkit::run(|| async {
        let store = Store::new();
        let token = CancellationToken::new();
        let (stream, writes) = Scripted::new(
            b"SET k v\nGET k\nINCR n\nDEL k\nBOGUS\nQUIT\n",
            true,
            usize::MAX,
        );
        let probe = Probe::new("the handler");
        let task = spawn_watched(probe.wrap(handle_connection(stream, store, CONFIG, token)));
        handler_ends(task, &probe, secs(1), "the handler returns after QUIT").await;
        let writes = writes_of(&writes);
        assert_eq!(
            writes.concat(),
            "OK\nVALUE v\nINT 1\nINT 1\nERR unknown command 'BOGUS'\nBYE\n",
            "the replies to six lines, in order, each followed by \\n"
        );
        let split: Vec<&String> = writes.iter().filter(|w| !w.ends_with('\n')).collect();
        assert!(
            split.is_empty(),
            "a write ended in the middle of a reply line ({split:?}; every write: {writes:?}): \
             each reply line must go out whole, in one write — `Framed`'s `send`, or one \
             `write_all` of the line with its \\n. A reply and its \\n written separately make \
             the second write wait for the client's ACK (Nagle's algorithm), up to 40 ms a reply"
        );
    });
}

/// contract: "or its reply being written — is finished"
#[test]
fn shutdown_finishes_a_reply_being_written_then_closes() {
    testkit::run(|| async {
        let store = Store::new();
        let token = CancellationToken::new();
        // A 16-byte pipe: the reply to `GET k` (57 bytes) does not fit until the client reads.
        let (mut client, probe, task) = open("client", &store, CONFIG, &token, 16);
        let value = "x".repeat(50);
        assert_eq!(
            client.ask(&format!("SET k {value}")).await,
            "OK",
            "`SET k <50 x>` must be answered OK"
        );
        client.send("GET k\n").await;
        until(secs(1)).await;
        token.cancel();
        until(secs(2)).await;
        let (reply, then) = (client.hear(secs(1)).await, client.hear(secs(1)).await);
        reraise();
        assert_eq!(
            (reply, then, now()),
            (line(&format!("VALUE {value}")), Heard::Closed, secs(2)),
            "shutdown came at t=1s while the reply to `GET k` was being written (the client \
             reads it only at t=2s): a request in flight is finished — its whole reply written — \
             and then the connection closed. Do not race the write against the token"
        );
        handler_returns_at(
            task,
            &probe,
            secs(2),
            "the handler returns once the reply is out (t=2s)",
        )
        .await;
    });
}

/// contract: "a `\r` before it counts"
#[test]
fn a_carriage_return_counts_toward_the_line_length() {
    testkit::run(|| async {
        let token = CancellationToken::new();
        let (mut client, probe, task) = open("client", &Store::new(), CONFIG, &token, 4096);
        // `SET k ` and 57 bytes: 63, and the \r makes 64, the limit. With 58 bytes: 65.
        let heard = [
            client.ask(&format!("SET k {}\r", "v".repeat(57))).await,
            {
                client.send(&format!("SET k {}\r\n", "v".repeat(58))).await;
                client.hear(secs(1)).await.to_string()
            },
            client.hear(secs(1)).await.to_string(),
        ];
        reraise();
        assert_eq!(
            heard,
            ["OK", "ERR line too long", "(closed)"],
            "63 bytes and a \\r before the \\n make 64 bytes, exactly max_line_length: allowed; \
             64 bytes and a \\r make 65: a \\r before the \\n counts toward the limit (as in \
             LinesCodec), so that line is `ERR line too long` and the connection closed"
        );
        handler_ends(task, &probe, secs(1), RETURNS).await;
    });
}

/// The limits of the tie tests: 10 s of idleness, 5 s a line.
const TIES: Config = Config {
    idle_timeout: secs(10),
    line_timeout: secs(5),
    ..CONFIG
};

/// contract: "When the idle timeout and the line timeout fall at the same instant, either may close the connection."
#[test]
fn when_the_idle_and_the_line_deadlines_fall_together_the_connection_closes_then() {
    testkit::run(|| async {
        let (config, store, token) = (TIES, Store::new(), CancellationToken::new());
        let (mut client, probe, task) = open("client", &store, config, &token, 4096);
        assert_eq!(client.ask("SET a 1").await, "OK", "`SET a 1` at t=0: OK");
        // A line begins at t=5s: its deadline (t=10s) is the idle deadline too.
        until(secs(5)).await;
        client.send("GET").await;
        let mut heard = vec![client.hear(secs(60)).await];
        if heard[0] != Heard::Closed {
            heard.push(client.hear(secs(1)).await);
        }
        reraise();
        assert!(
            heard == [Heard::Closed] || heard == [line("ERR line timeout"), Heard::Closed],
            "idle deadline (last line at t=0 + 10s) and line deadline (first byte at t=5s + 5s) \
             both at t=10s: either rule may close the connection — silently, or with `ERR line \
             timeout` — but it must close; heard {heard:?}"
        );
        handler_returns_at(
            task,
            &probe,
            secs(10),
            "both deadlines fell at t=10s: it must return then",
        )
        .await;
    });
}

/// contract: "A line whose `\n` arrives at the very instant one of these deadlines falls is a tie too"
#[test]
fn a_line_that_ends_at_the_very_instant_of_a_deadline_is_answered_or_cut_off() {
    testkit::run(|| async {
        let (config, store, token) = (TIES, Store::new(), CancellationToken::new());
        let (mut a, a_probe, a_task) = open("A", &store, config, &token, 4096);
        let (mut b, b_probe, b_task) = open("B", &store, config, &token, 4096);
        assert_eq!(a.ask("SET k v").await, "OK", "A's `SET k v` at t=0: OK");
        assert_eq!(b.ask("SET j w").await, "OK", "B's `SET j w` at t=0: OK");
        // B's line begins at t=2s and ends at t=7s, exactly line_timeout (5s) later.
        until(secs(2)).await;
        b.send("GET").await;
        until(secs(7)).await;
        b.send(" j\n").await;
        let mut heard_b = vec![b.hear(secs(1)).await];
        if heard_b[0] == line("ERR line timeout") {
            heard_b.push(b.hear(secs(1)).await);
        }
        // A's next line comes at t=10s, exactly idle_timeout (10s) after its last one.
        until(secs(10)).await;
        a.send("GET k\n").await;
        let heard_a = a.hear(secs(1)).await;
        reraise();
        let b_answered = heard_b == [line("VALUE w")] && b_probe.is_running();
        let b_cut_off = heard_b == [line("ERR line timeout"), Heard::Closed]
            && b_probe.completed_at() == Some(secs(7));
        assert!(
            b_answered || b_cut_off,
            "B's line began at t=2s and its \\n came at t=7s, the very instant of its line \
             deadline: it may be answered (`VALUE w`, the connection open) or refused (`ERR line \
             timeout`, closed at t=7s) — B heard {heard_b:?} ({})",
            b_probe.describe()
        );
        let a_answered = heard_a == line("VALUE v") && a_probe.is_running();
        let a_cut_off = heard_a == Heard::Closed && a_probe.completed_at() == Some(secs(10));
        assert!(
            a_answered || a_cut_off,
            "A's line came at t=10s, the very instant of its idle deadline (last line at t=0): it \
             may be answered (`VALUE v`, the connection open) or the connection closed then, \
             without a reply — A heard {heard_a} ({})",
            a_probe.describe()
        );
        drop((a, b));
        handler_ends(a_task, &a_probe, secs(1), RETURNS).await;
        handler_ends(b_task, &b_probe, secs(1), RETURNS).await;
    });
}

/// contract: "100 connections, lines up to 1 KiB, 5 minutes of idleness, 10 seconds a line, 5 seconds of grace."
/// contract: "Same as [`Store::new`]."
#[test]
fn the_defaults_are_the_documented_ones() {
    testkit::run(|| async {
        assert_eq!(
            Config::default(),
            Config {
                max_connections: 100,
                max_line_length: 1024,
                idle_timeout: secs(300),
                line_timeout: secs(10),
                shutdown_grace: secs(5),
            },
            "Config::default(): 100 connections, 1 KiB lines, 5 min idle, 10 s a line, 5 s grace"
        );
        let store = Store::default();
        let mib = 1024 * 1024;
        assert_eq!(
            (
                store.apply(set("k", &"x".repeat(mib - 1))).await,
                store.apply(set("j", "1")).await,
            ),
            (Reply::Ok, err("store full")),
            "Store::default() is Store::new(), 1 MiB of keys and values: `k` and 1 048 575 bytes \
             fill it exactly, and `j 1` is one key and 2 bytes too many"
        );
        let store = Store::default();
        holds_exactly_10_000_keys(store, "Store::default() (it is Store::new())").await;
    });
}

// ---------------------------------------------------------------------------------------------
// 5. Real threads: "each command is atomic", on a multi-thread runtime
// ---------------------------------------------------------------------------------------------

/// How many tasks, and how many INCRs each, in the multi-thread tests.
const TASKS: usize = 8;
const INCRS: usize = 5_000;

/// contract: "Each command is atomic, on any runtime (many threads included)"
#[test]
fn incr_is_atomic_when_clones_of_the_store_are_used_from_many_threads() {
    testkit::threads::on_threads(4, secs(30), || async {
        let store = Store::new();
        // Every task starts counting at the same moment, so that they overlap on the threads.
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(TASKS));
        let mut tasks = Vec::new();
        for _ in 0..TASKS {
            let (store, start) = (store.clone(), start.clone());
            tasks.push(tokio::spawn(async move {
                start.wait().await;
                let mut seen = Vec::with_capacity(INCRS);
                for _ in 0..INCRS {
                    match store.apply(incr("hits")).await {
                        Reply::Int(n) => seen.push(n),
                        other => panic!("INCR hits must answer `INT n`, not {other}"),
                    }
                }
                seen
            }));
        }
        let mut seen = Vec::new();
        for task in tasks {
            match task.await {
                Ok(values) => seen.extend(values),
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            }
        }
        seen.sort_unstable();
        let total = (TASKS * INCRS) as i64;
        let duplicates = seen.windows(2).filter(|w| w[0] == w[1]).count();
        assert_eq!(
            (duplicates, store.apply(get("hits")).await),
            (0, Reply::Value(total.to_string())),
            "{TASKS} tasks on 4 threads each INCR the same key {INCRS} times: every INCR must \
             return a value no other returned, and the key must end at {total}. {duplicates} \
             INCRs returned a value another had already returned: lost updates. Each command \
             is atomic — read, add one and write back under one lock (or in one actor), never \
             the read and the write under two"
        );
    });
}

/// contract: "Each command is atomic, on any runtime (many threads included)"
/// contract: "Must never block the thread"
#[test]
fn connections_on_many_threads_lose_no_update() {
    const CLIENTS: usize = 8;
    const EACH: usize = 1_000;
    testkit::threads::on_threads(4, secs(30), || async {
        let store = Store::new();
        let token = CancellationToken::new();
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(CLIENTS));
        let mut clients = Vec::new();
        for i in 0..CLIENTS {
            let (client, server) = tokio::io::duplex(4096);
            let handler = tokio::spawn(handle_connection(
                server,
                store.clone(),
                CONFIG,
                token.clone(),
            ));
            let start = start.clone();
            clients.push(tokio::spawn(async move {
                let mut client = Client::new(&format!("client {i}"), client);
                start.wait().await;
                for _ in 0..EACH {
                    client.send("INCR shared\n").await;
                    match client.hear(secs(10)).await {
                        Heard::Line(reply) if reply.starts_with("INT ") => {}
                        other => panic!(
                            "client {i}: `INCR shared` must be answered `INT n`, heard {other}"
                        ),
                    }
                }
                drop(client);
                // The handler returns once its client has hung up.
                if let Err(e) = handler.await {
                    std::panic::resume_unwind(e.into_panic());
                }
            }));
        }
        for client in clients {
            if let Err(e) = client.await {
                std::panic::resume_unwind(e.into_panic());
            }
        }
        let total = CLIENTS * EACH;
        assert_eq!(
            store.apply(get("shared")).await,
            Reply::Value(total.to_string()),
            "{CLIENTS} connections served on a 4-thread runtime each sent `INCR shared` {EACH} \
             times: the key must end at {total}. Fewer means lost updates: each command must be \
             atomic on any runtime"
        );
    });
}

// ---- instructor only: tests against the reference
//
// Differential tests: generated runs of the whole server over loopback TCP — a few clients, each
// connecting at its own instant and then sending whole lines (commands of every kind, malformed
// ones, lines at and one past the length limit, the same keys again and again, INCR on text and
// at i64::MAX), parts of lines that trickle or never end, and hang-ups; a bounded store that
// fills up; one to three connection slots, so that full servers refuse or make room; a shutdown
// with requests in flight and a grace period. The reference and the learner's crate play the same
// run on the paused clock, and what every client hears — each reply line and when the connection
// closed, at its virtual instant — and when `serve` returned must be the same.
//
// Where the docs leave a tie open (an idle and a line deadline at one instant, two connections
// that waited equally long, a line that arrives at the very instant of a deadline), the runs never
// produce it: steps are 100 ms apart, client `i` acts at `100k + i + 1` ms (so no two clients ever
// act at one instant, nor wait equally long), every timeout is `100k + 50` ms and the shutdown
// comes at `100k + 25` ms. No line is invalid UTF-8 (after `ERR invalid UTF-8` the docs let the
// connection close or go on), and no client sends after QUIT in the same write (the server would
// close with unread data, and the kernel's reset could swallow the last reply).

use ex02_tcp_server_reference as reference;
use std::pin::Pin;
use testkit::differential::proptest::prelude::*;
use testkit::differential::{Check, same_events};
use tokio::net::tcp::OwnedReadHalf;

type Observed = Vec<(u64, String)>;

/// The length limit of every generated run: short enough that lines at and past it are common.
const GEN_MAX_LINE: usize = 16;

/// One thing a generated client does.
#[derive(Clone, Debug)]
enum Act {
    /// A whole line, its `\n` added, in one write.
    Line(String),
    /// Bytes of a line, without a `\n`.
    Part(String),
    /// Closes its sending side (like `nc -N`); it still hears the server.
    HangUp,
}

/// A generated client: the step at which it connects, then each act after a pause (in steps).
#[derive(Clone, Debug)]
struct GenClient {
    connect_at: u64,
    acts: Vec<(u64, Act)>,
}

/// A generated run: the server's limits (in ms), the store's, the clients, and the step at
/// which shutdown is requested.
#[derive(Clone, Debug)]
struct GenRun {
    max_connections: usize,
    idle_timeout: u64,
    line_timeout: u64,
    shutdown_grace: u64,
    max_keys: usize,
    max_bytes: usize,
    clients: Vec<GenClient>,
    shutdown_at: u64,
}

/// Step `k` of client `i`: `100k + i + 1` ms.
fn step(k: u64, client: usize) -> Duration {
    ms(100 * k + client as u64 + 1)
}

fn gen_line() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec!["a", "b", "c", "A"]);
    let value = prop::sample::select(vec!["1", "x", "-3", "+7", "99999", "9223372036854775807"]);
    let malformed = prop::sample::select(vec![
        String::new(),
        "  ".to_owned(),
        "FOO a".to_owned(),
        "SET a".to_owned(),
        "GET a b".to_owned(),
        "get b\r".to_owned(),
        "QUIT now".to_owned(),
        "x".repeat(GEN_MAX_LINE),
        "x".repeat(GEN_MAX_LINE + 1),
        format!("SET c {}", "v".repeat(GEN_MAX_LINE - 6)),
    ]);
    prop_oneof![
        3 => (key.clone(), value).prop_map(|(k, v)| format!("SET {k} {v}")),
        2 => key.clone().prop_map(|k| format!("GET {k}")),
        1 => key.clone().prop_map(|k| format!("DEL {k}")),
        2 => key.prop_map(|k| format!("incr {k}")),
        1 => Just("QUIT".to_owned()),
        2 => malformed,
    ]
}

fn gen_act() -> impl Strategy<Value = Act> {
    prop_oneof![
        8 => gen_line().prop_map(Act::Line),
        5 => prop::sample::select(vec!["GET", "SET b", " a", "x"]).prop_map(|s| Act::Part(s.to_owned())),
        1 => Just(Act::HangUp),
    ]
}

fn gen_runs() -> impl Strategy<Value = GenRun> {
    let client = (
        0u64..=20,
        prop::collection::vec((1u64..=8, gen_act()), 0..=6),
    )
        .prop_map(|(connect_at, acts)| GenClient { connect_at, acts });
    prop::collection::vec(client, 1..=5).prop_flat_map(|clients| {
        // Shutdown after every client has connected (the docs let a connection attempted after it
        // be refused or closed unanswered), and often while some are in the middle of a line.
        let connected = clients.iter().map(|c| c.connect_at).max().unwrap_or(0) + 1;
        let busy_until = clients
            .iter()
            .map(|c| c.connect_at + c.acts.iter().map(|(pause, _)| pause).sum::<u64>())
            .max()
            .unwrap_or(0);
        let anytime = (connected..=connected.max(busy_until) + 2).boxed();
        // The step right after a client sent part of a line: a request in flight at shutdown.
        let mid_line: Vec<u64> = clients
            .iter()
            .flat_map(|c| {
                c.acts.iter().scan(c.connect_at, |at, (pause, act)| {
                    *at += pause;
                    Some(matches!(act, Act::Part(_)).then_some(*at + 1))
                })
            })
            .flatten()
            .filter(|k| *k >= connected)
            .collect();
        let shutdown_at = if mid_line.is_empty() {
            anytime
        } else {
            prop_oneof![1 => anytime, 3 => prop::sample::select(mid_line)].boxed()
        };
        (
            1usize..=3,
            prop::sample::select(vec![750u64, 1550, 3050]),
            prop::sample::select(vec![350u64, 1050, 2050]),
            prop::sample::select(vec![550u64, 1550]),
            prop::sample::select(vec![2usize, 100]),
            prop::sample::select(vec![12usize, 1000]),
            Just(clients),
            shutdown_at,
        )
            .prop_map(
                |(
                    max_connections,
                    idle_timeout,
                    line_timeout,
                    shutdown_grace,
                    max_keys,
                    max_bytes,
                    clients,
                    shutdown_at,
                )| GenRun {
                    max_connections,
                    idle_timeout,
                    line_timeout,
                    shutdown_grace,
                    max_keys,
                    max_bytes,
                    clients,
                    shutdown_at,
                },
            )
    })
}

/// Everything client `name` hears, each line numbered, until the server closes.
async fn gen_listen(name: String, read: OwnedReadHalf, events: Timeline) {
    let mut read = BufReader::new(read);
    for n in 1.. {
        let mut buf = Vec::new();
        let heard = match read.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => "(closed)".to_owned(),
            Ok(_) => {
                let text = String::from_utf8_lossy(&buf).into_owned();
                match text.strip_suffix('\n') {
                    Some(line) => line.to_owned(),
                    None => format!("{text:?} without its \\n, then (closed)"),
                }
            }
        };
        let closed = heard.ends_with("(closed)");
        events.record(format!("{name} #{n:02}: {heard}"));
        if closed {
            return;
        }
    }
}

/// Plays one generated client: connects, acts, and hears until the server closes.
async fn gen_play(i: usize, client: GenClient, addr: SocketAddr, events: Timeline) {
    let name = format!("client {i}");
    until(step(client.connect_at, i)).await;
    let Ok(stream) = TcpStream::connect(addr).await else {
        events.record(format!("{name}: could not connect"));
        return;
    };
    stream.set_nodelay(true).expect("TCP_NODELAY");
    let (read, mut write) = stream.into_split();
    let listener = testkit::spawn(gen_listen(name, read, events));
    let mut at = client.connect_at;
    for (pause, act) in client.acts {
        at += pause;
        until(step(at, i)).await;
        let sent = match act {
            Act::Line(text) => write.write_all(format!("{text}\n").as_bytes()).await,
            Act::Part(text) => write.write_all(text.as_bytes()).await,
            Act::HangUp => {
                let _ = write.shutdown().await;
                break;
            }
        };
        if sent.is_err() {
            break; // the server has closed: nothing more to say
        }
    }
    // Hold the sending side open until the server closes (dropping it would hang up).
    let _ = listener.await;
    drop(write);
}

/// Replays a generated run with the crate `$krate`: what each client heard and when, and when
/// `serve` returned.
macro_rules! replay_server {
    ($krate:ident) => {
        |run: GenRun| -> Pin<Box<dyn Future<Output = Observed>>> {
            Box::pin(async move {
                let config = $krate::Config {
                    max_connections: run.max_connections,
                    max_line_length: GEN_MAX_LINE,
                    idle_timeout: ms(run.idle_timeout),
                    line_timeout: ms(run.line_timeout),
                    shutdown_grace: ms(run.shutdown_grace),
                };
                let store = $krate::Store::bounded(run.max_keys, run.max_bytes);
                let (listener, addr) = testkit::servers::listener();
                let shutdown = CancellationToken::new();
                let events = Timeline::new();
                let server =
                    testkit::spawn($krate::serve(listener, config, store, shutdown.clone()));
                let clients: Vec<_> = run
                    .clients
                    .iter()
                    .enumerate()
                    .map(|(i, c)| testkit::spawn(gen_play(i, c.clone(), addr, events.clone())))
                    .collect();
                until(ms(100 * run.shutdown_at + 25)).await;
                shutdown.cancel();
                let limit = ms(run.shutdown_grace) + secs(60);
                match timeout(limit, server).await {
                    Ok(_) => events.record("serve returned"),
                    Err(_) => events.record(format!(
                        "serve had not returned {} after shutdown",
                        fmt_duration(limit)
                    )),
                }
                for client in clients {
                    if timeout(secs(60), client).await.is_err() {
                        events.record("a client was never closed");
                    }
                }
                let mut observed = events.millis();
                // Events of one instant in any order: each client's lines are numbered.
                observed.sort();
                observed
            })
        }
    };
}

/// contract: "exactly that long after the last complete line (or after the start, if none came)"
/// contract: "once the first byte of a line has arrived, its `\n` must arrive within `config.line_timeout`"
/// contract: "the connection that has been *waiting between requests* the longest"
/// contract: "If no connection has waited that long, the new connection is sent `ERR busy` and closed at once"
/// contract: "It returns as soon as every connection has closed, or `config.shutdown_grace` after the cancellation"
/// contract: "a request in flight — part of its line received, or its reply being written — is finished"
/// contract: "A command that would take the store beyond either limit"
/// contract: "A last line cut off by the hang-up (no `\n`) is discarded, never executed"
#[test]
fn the_server_matches_the_reference_on_generated_clients() {
    Check::new("the_server_matches_the_reference_on_generated_clients")
        .cases(256)
        .run(
            gen_runs(),
            replay_server!(ex02_tcp_server),
            replay_server!(reference),
            |_, reference, yours| {
                same_events(
                    "what each client heard and when (its lines numbered), and when serve returned",
                    reference,
                    yours,
                )
            },
        );
}

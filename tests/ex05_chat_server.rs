//! Hidden tests for exercise 05 — a chat server on tokio channels.
//!
//! Every test runs on tokio's paused clock (`testkit::run`). A client is an in-memory
//! `tokio::io::duplex` pipe handed to `handle_client`, all of them in one `Room`; a recorder task
//! writes down every line a client receives with its virtual instant, and the tests compare those
//! screens with the exact expected timelines. A client that "does not read" has a 64-byte pipe
//! and no recorder until the test says so: the server's writes to it block, exactly as they would
//! for a real client that stopped reading. One test runs the real `serve` over loopback TCP, with
//! the server and every client as tasks on the test's runtime (deterministic on the paused clock
//! since tokio 1.53.3).
//!
//! Traceability (checked by the dev check): each test cites the sentences of the stub's docs it
//! checks (`/// contract: "…"`); these state no rule a test could observe:
//!
//! not a rule: "What the server sends, exactly, line by line:" — the heading of the protocol's list
//! not a rule: "The limits (see [`Config`](crate::Config)), each exact:" — the heading of the limits' list
//! not a rule: "The room's limits: how much it keeps for a client that is not reading" — the heading of `Config`'s docs; each field states its rule
//! not a rule: "64 messages, 2 seconds of grace, lines up to 1 KiB, 100 clients, 30 seconds to choose a nickname." — `Config::default` is given code in the stub, not the learner's to write

use ex05_chat_server::{Config, Room, handle_client, serve};
use pretty_assertions::assert_eq;
use std::io;
use std::time::Duration;
use testkit::{Probe, Timeline, ms, secs};
use tokio::io::{
    AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream, WriteHalf,
};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::sleep;

// The learner's `==` is trusted only where it is derived (testkit::derived_eq!).
testkit::derived_eq! { Config = LIMITS }

/// The pipe of a client that reads: far more than any test sends.
const PIPE: usize = 64 * 1024;
/// The pipe of a client that does not read: the greeting and the welcome fit, little else.
const TINY: usize = 64;
/// The grace period of every room in this suite.
const GRACE: Duration = ms(500);

fn room(capacity: usize) -> Room {
    Room::new(Config { capacity, ..LIMITS })
}

/// The limits of most rooms in this suite: far from anything most tests do.
const LIMITS: Config = Config {
    capacity: 16,
    grace: GRACE,
    max_line_length: 256,
    max_clients: 100,
    nickname_timeout: secs(600),
};

// ---------------------------------------------------------------------------------------------
// Test clients
// ---------------------------------------------------------------------------------------------

/// One client: what it types goes in `input`; what it receives is recorded on its screens.
struct Client<W = WriteHalf<DuplexStream>> {
    name: String,
    input: Option<W>,
    /// The receiving end, until a recorder takes it.
    output: Option<Box<dyn AsyncRead + Unpin + Send>>,
    /// Every line received, at the instant it arrived; `(closed)` at the end of the stream.
    seen: Timeline,
    /// The same, from the line after the client's own `* welcome …` on.
    chat: Timeline,
    recorder: Option<JoinHandle<()>>,
    /// The server's handler for this client (`None` over TCP, where `serve` spawns it).
    handler: Option<(Probe, JoinHandle<io::Result<()>>)>,
}

impl Client {
    /// Connects a client whose pipe holds `pipe` bytes; it does not read yet.
    fn connect_with(room: &Room, name: &str, pipe: usize) -> Self {
        let (client_end, server_end) = tokio::io::duplex(pipe);
        let (output, input) = tokio::io::split(client_end);
        let probe = Probe::new(format!("{name}'s handler"));
        let handler = testkit::spawn(probe.wrap(handle_client(server_end, room.clone())));
        Client {
            name: name.to_owned(),
            input: Some(input),
            output: Some(Box::new(output)),
            seen: Timeline::new(),
            chat: Timeline::new(),
            recorder: None,
            handler: Some((probe, handler)),
        }
    }

    /// Connects a client that reads everything it is sent, as it arrives.
    fn connect(room: &Room, name: &str) -> Self {
        let mut client = Self::connect_with(room, name, PIPE);
        client.start_reading();
        client
    }

    /// Connects a reading client and sends `nick` as its nickname.
    async fn join(room: &Room, nick: &str) -> Self {
        let mut client = Self::connect(room, nick);
        client.type_line(nick).await;
        client
    }

    /// Connects a client with a tiny pipe that never reads (until `start_reading`), and sends
    /// `nick` as its nickname.
    async fn join_not_reading(room: &Room, nick: &str) -> Self {
        let mut client = Self::connect_with(room, nick, TINY);
        client.type_line(nick).await;
        client
    }

    /// When the server's handler for this client returned, if it has.
    fn handler_returned_at(&self) -> Option<Duration> {
        self.handler
            .as_ref()
            .and_then(|(probe, _)| probe.completed_at())
    }
}

impl<W: AsyncWrite + Unpin> Client<W> {
    fn start_reading(&mut self) {
        let output = self.output.take().expect("already reading");
        self.recorder = Some(testkit::spawn(record(
            output,
            self.seen.clone(),
            self.chat.clone(),
        )));
    }

    /// Types `line` and Enter.
    async fn type_line(&mut self, line: &str) {
        self.type_raw(&format!("{line}\n")).await;
    }

    /// Sends exactly these bytes (a piece of a line, or several lines at once).
    async fn type_raw(&mut self, text: &str) {
        let input = self.input.as_mut().expect("the client has disconnected");
        input
            .write_all(text.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("{} could not send {text:?}: {e}", self.name));
    }

    /// Sends bytes that need not be UTF-8.
    async fn type_bytes(&mut self, bytes: &[u8]) {
        let input = self.input.as_mut().expect("the client has disconnected");
        input
            .write_all(bytes)
            .await
            .unwrap_or_else(|e| panic!("{} could not send {bytes:?}: {e}", self.name));
    }

    /// Disconnects abruptly: no `/quit`, the connection just goes away.
    async fn vanish(&mut self) {
        if let Some(recorder) = self.recorder.take() {
            recorder.abort();
            let _ = recorder.await;
        }
        self.output = None;
        self.input = None;
    }

    /// The lines after the welcome, without their instants.
    fn chat_lines(&self) -> Vec<String> {
        self.chat
            .entries()
            .into_iter()
            .map(|(_, line)| line)
            .collect()
    }

    /// Waits for the handler and the recorder to end; a panic in the handler is the test's.
    async fn finish(mut self) {
        if let Some((_, handler)) = self.handler.take() {
            match handler.await {
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                _ => {}
            }
        }
        self.input = None;
        self.output = None;
        if let Some(recorder) = self.recorder.take() {
            let _ = recorder.await;
        }
    }
}

/// Records every line `output` delivers on `seen`, and on `chat` once the welcome has passed.
async fn record(output: impl AsyncRead + Unpin, seen: Timeline, chat: Timeline) {
    let mut lines = BufReader::new(output).lines();
    let mut joined = false;
    loop {
        let (line, last) = match lines.next_line().await {
            Ok(Some(line)) => (line, false),
            Ok(None) => ("(closed)".to_owned(), true),
            Err(e) => (format!("(error: {e})"), true),
        };
        seen.record(line.clone());
        if joined {
            chat.record(line.clone());
        }
        joined |= line.starts_with("* welcome ");
        if last {
            return;
        }
    }
}

/// Shuts the room down and waits for every handler and recorder, so that no task outlives the
/// test.
async fn finish<W: AsyncWrite + Unpin>(room: &Room, clients: impl IntoIterator<Item = Client<W>>) {
    room.shutdown();
    for client in clients {
        client.finish().await;
    }
}

/// A client's screen from the welcome on, as `(ms, line)` rows built at run time.
fn rows(rows: &[(u64, String)]) -> Vec<(u64, &str)> {
    rows.iter().map(|(t, line)| (*t, line.as_str())).collect()
}

/// `at` for an owned line.
fn row(t: u64, line: impl Into<String>) -> (u64, String) {
    (t, line.into())
}

// ---------------------------------------------------------------------------------------------
// Joining
// ---------------------------------------------------------------------------------------------

/// contract: "Runs one client's session over `stream`"
/// contract: "On connect: `* choose a nickname` to the client."
/// contract: "A nickname that is free: `* welcome <nick>` to the client and `* <nick> joined` to everyone else."
/// contract: "the client receives nothing but the replies to its attempts: no room messages, no notices"
/// contract: "An empty, open room."
#[test]
fn a_client_chooses_a_nickname_and_everyone_else_is_told_it_joined() {
    testkit::run(|| async {
        let room = room(16);
        let mut alice = Client::join(&room, "alice").await;
        sleep(ms(10)).await;
        let mut bob = Client::connect(&room, "bob");
        sleep(ms(5)).await;
        alice.type_line("anyone here?").await; // t=15: bob is connected but has not joined
        sleep(ms(5)).await;
        bob.type_line("bob").await; // t=20
        sleep(ms(10)).await;
        let carol = Client::join(&room, "carol").await; // t=30
        sleep(ms(10)).await;

        alice.seen.assert_eq(
            &[
                (0, "* choose a nickname"),
                (0, "* welcome alice"),
                (20, "* bob joined"),
                (30, "* carol joined"),
            ],
            "alice's screen: asked for a nickname on connect, welcomed, then told of each join",
        );
        bob.seen.assert_eq(
            &[
                (10, "* choose a nickname"),
                (20, "* welcome bob"),
                (30, "* carol joined"),
            ],
            "bob's screen: until he has joined he receives nothing but the replies to his \
             nickname (alice's message at t=15 was sent before he joined)",
        );
        carol.seen.assert_eq(
            &[(30, "* choose a nickname"), (30, "* welcome carol")],
            "carol's screen: no history, and no notice of her own join",
        );
        finish(&room, [alice, bob, carol]).await;
    });
}

/// contract: "A nickname that is taken: `! nickname <nick> is taken` to the client."
/// contract: "A nickname that is not 1–16 ASCII letters, digits, `-` or `_`: `! invalid nickname` to the client."
/// contract: "Until a nickname is accepted every line (even a blank one, or one starting with `/`) is a nickname attempt"
#[test]
fn a_taken_or_invalid_nickname_is_refused_and_the_client_may_try_again() {
    testkit::run(|| async {
        let room = room(16);
        let alice = Client::join(&room, "alice").await;
        sleep(ms(10)).await;
        let mut bob = Client::connect(&room, "bob");
        let attempts = [
            "alice",
            "",
            "two words",
            "seventeen-chars-x",
            "/list",
            "b@b",
            "bob",
        ];
        for (i, attempt) in attempts.into_iter().enumerate() {
            if i > 0 {
                sleep(ms(10)).await;
            }
            bob.type_line(attempt).await;
        }
        sleep(ms(10)).await;

        bob.seen.assert_eq(
            &[
                (10, "* choose a nickname"),
                (10, "! nickname alice is taken"),
                (20, "! invalid nickname"),
                (30, "! invalid nickname"),
                (40, "! invalid nickname"),
                (50, "! invalid nickname"),
                (60, "! invalid nickname"),
                (70, "* welcome bob"),
            ],
            "bob's screen: a taken nickname and anything but 1-16 letters, digits, - or _ is \
             refused, and the next line is another attempt",
        );
        alice.chat.assert_eq(
            &[(70, "* bob joined")],
            "alice's screen: refused attempts are not announced; the join is, once",
        );
        finish(&room, [alice, bob]).await;
    });
}

/// contract: "A nickname that is not 1–16 ASCII letters, digits, `-` or `_`: `! invalid nickname` to the client."
#[test]
fn a_taken_or_invalid_nickname_is_judged_by_its_length_1_to_16_inclusive() {
    testkit::run(|| async {
        let room = room(16);
        let sixteen = "sixteen-chars-16";
        let seventeen = "seventeen-chars-x";
        let mut long = Client::connect(&room, "long");
        long.type_line("").await; // t=0: 0 characters
        sleep(ms(10)).await;
        long.type_line(seventeen).await; // t=10
        sleep(ms(10)).await;
        long.type_line(sixteen).await; // t=20
        sleep(ms(10)).await;
        let short = Client::join(&room, "x").await; // t=30: 1 character
        sleep(ms(10)).await;

        assert_eq!(
            long.seen.millis().get(..4),
            Some(
                &[
                    row(0, "* choose a nickname"),
                    row(0, "! invalid nickname"),
                    row(10, "! invalid nickname"),
                    row(20, format!("* welcome {sixteen}")),
                ][..]
            ),
            "long's screen: a nickname is 1-16 characters, both ends included: 0 and 17 \
             characters are `! invalid nickname`, exactly 16 is welcomed (a length check of \
             `1..16` wrongly refuses 16)",
        );
        assert_eq!(
            short.seen.millis().get(..2),
            Some(&[row(30, "* choose a nickname"), row(30, "* welcome x")][..]),
            "x's screen: a nickname of 1 character is valid (1-16 characters, both ends included)",
        );
        finish(&room, [long, short]).await;
    });
}

// ---------------------------------------------------------------------------------------------
// Talking
// ---------------------------------------------------------------------------------------------

/// contract: "Any other line from a member: `<nick>: <line>` to everyone else."
/// contract: "Nobody receives their own room messages back."
/// contract: "The protocol is lines of UTF-8 text ending in `\n` (a `\r\n` from the client is fine too)."
/// contract: "Once joined, a blank line is ignored."
#[test]
fn a_message_goes_to_everyone_else_prefixed_with_its_sender_and_not_back_to_the_sender() {
    testkit::run(|| async {
        let room = room(16);
        let mut alice = Client::join(&room, "alice").await;
        sleep(ms(1)).await;
        let mut bob = Client::join(&room, "bob").await;
        sleep(ms(1)).await;
        let mut carol = Client::join(&room, "carol").await;
        sleep(ms(8)).await;
        alice.type_line("hello room").await; // t=10
        sleep(ms(10)).await;
        bob.type_raw("hi alice\r\n").await; // t=20, as telnet would send it
        sleep(ms(10)).await;
        carol.type_line("   ").await; // t=30: a blank line is ignored
        sleep(ms(10)).await;

        alice.chat.assert_eq(
            &[
                (1, "* bob joined"),
                (2, "* carol joined"),
                (20, "bob: hi alice"),
            ],
            "alice's screen: nobody receives their own messages (or their own join notice) back",
        );
        bob.chat.assert_eq(
            &[(2, "* carol joined"), (10, "alice: hello room")],
            "bob's screen: every message goes to everyone else, as `<sender>: <text>`",
        );
        carol.chat.assert_eq(
            &[(10, "alice: hello room"), (20, "bob: hi alice")],
            "carol's screen: every message goes to everyone else (a \\r\\n line ending is not \
             part of the text), and a blank line is not sent at all",
        );
        finish(&room, [alice, bob, carol]).await;
    });
}

/// contract: "Room messages from one sender reach every receiver complete and in the order they were sent, however the bytes arrive"
#[test]
fn messages_from_each_sender_reach_every_receiver_complete_and_in_order() {
    // Three senders with different rhythms, at times on the same instant: `a` writes one line at
    // a time, `b` writes each line in two pieces 1ms apart, `c` writes three lines in one go.
    const N: u64 = 30;
    testkit::run(|| async {
        let room = room(256);
        let mut clients = Vec::new();
        for nick in ["a", "b", "c", "d"] {
            clients.push(Client::join(&room, nick).await);
        }
        let mut senders = Vec::new();
        for client in &mut clients[..3] {
            let mut input = client.input.take().unwrap();
            let nick = client.name.clone();
            senders.push(testkit::spawn(async move {
                sleep(ms(10)).await;
                let mut k = 0;
                while k < N {
                    match nick.as_str() {
                        "a" => {
                            input.write_all(format!("#{k}\n").as_bytes()).await.unwrap();
                            k += 1;
                            sleep(ms(3)).await;
                        }
                        "b" => {
                            let text = format!("#{k}\n");
                            let (first, rest) = text.split_at(text.len() / 2);
                            input.write_all(first.as_bytes()).await.unwrap();
                            sleep(ms(1)).await;
                            input.write_all(rest.as_bytes()).await.unwrap();
                            k += 1;
                            sleep(ms(4)).await;
                        }
                        _ => {
                            let burst: String =
                                (k..(k + 3).min(N)).map(|i| format!("#{i}\n")).collect();
                            input.write_all(burst.as_bytes()).await.unwrap();
                            k += 3;
                            sleep(ms(7)).await;
                        }
                    }
                }
                input
            }));
        }
        for (client, sender) in clients.iter_mut().zip(senders) {
            client.input = Some(sender.await.unwrap());
        }
        sleep(ms(50)).await;

        for receiver in &clients {
            for sender in ["a", "b", "c"] {
                if sender == receiver.name {
                    continue;
                }
                let prefix = format!("{sender}: ");
                let got: Vec<String> = receiver
                    .chat_lines()
                    .into_iter()
                    .filter(|line| line.starts_with(&prefix))
                    .collect();
                let expected: Vec<String> = (0..N).map(|k| format!("{sender}: #{k}")).collect();
                assert_eq!(
                    got, expected,
                    "{} received {sender}'s messages incomplete, garbled or out of order: every \
                     message from one sender must reach every receiver whole and in the order it \
                     was sent, however its bytes arrive",
                    receiver.name
                );
            }
        }
        finish(&room, clients).await;
    });
}

/// contract: "however the bytes arrive"
#[test]
fn a_line_that_arrives_in_pieces_is_delivered_whole_even_when_messages_arrive_meanwhile() {
    testkit::run(|| async {
        let room = room(16);
        let mut alice = Client::join(&room, "alice").await;
        sleep(ms(1)).await;
        let mut bob = Client::join(&room, "bob").await;
        sleep(ms(9)).await;
        alice.type_raw("hel").await; // t=10: half a line...
        sleep(ms(5)).await;
        bob.type_line("ping").await; // t=15: ...while a message for alice arrives...
        sleep(ms(5)).await;
        alice.type_raw("lo there\n").await; // t=20: ...and the rest of it
        sleep(ms(10)).await;

        bob.chat.assert_eq(
            &[(20, "alice: hello there")],
            "bob's screen: alice's line arrived in two pieces, with a message for her in between; \
             it must still be delivered whole. A half-read line must survive another select! \
             branch winning (read_line into a String is not cancel safe; Lines::next_line is)",
        );
        alice
            .chat
            .assert_eq(&[(1, "* bob joined"), (15, "bob: ping")], "alice's screen");
        finish(&room, [alice, bob]).await;
    });
}

// ---------------------------------------------------------------------------------------------
// Leaving
// ---------------------------------------------------------------------------------------------

/// contract: "`/quit`: `* bye` to the client, then the connection is closed."
/// contract: "A member quitting or disconnecting: `* <nick> left` to everyone else."
/// contract: "Every client that joined and then leaves — by `/quit`, by disconnecting, by a failed read or write — is announced as left exactly once."
#[test]
fn quit_says_bye_closes_the_connection_and_everyone_else_is_told_once() {
    testkit::run(|| async {
        let room = room(16);
        let alice = Client::join(&room, "alice").await;
        sleep(ms(1)).await;
        let mut bob = Client::join(&room, "bob").await;
        sleep(ms(9)).await;
        bob.type_line("/quit").await; // t=10
        sleep(ms(10)).await;
        let carol = Client::join(&room, "bob").await; // t=20: the nickname is free again
        sleep(ms(10)).await;

        bob.chat.assert_eq(
            &[(10, "* bye"), (10, "(closed)")],
            "bob's screen: /quit answers `* bye` and closes the connection at once",
        );
        assert_eq!(
            bob.handler_returned_at(),
            Some(ms(10)),
            "bob's handler must return when he quits"
        );
        alice.chat.assert_eq(
            &[
                (1, "* bob joined"),
                (10, "* bob left"),
                (20, "* bob joined"),
            ],
            "alice's screen: told once that bob left; his nickname is free for the next one",
        );
        carol.seen.assert_eq(
            &[(20, "* choose a nickname"), (20, "* welcome bob")],
            "the new bob's screen: the nickname of a client that quit can be taken again",
        );
        finish(&room, [alice, bob, carol]).await;
    });
}

/// contract: "A member quitting or disconnecting: `* <nick> left` to everyone else."
/// contract: "by disconnecting"
/// contract: "A client that leaves before joining is never announced."
#[test]
fn a_client_that_disconnects_without_quitting_is_announced_as_left_exactly_once() {
    testkit::run(|| async {
        let room = room(16);
        let mut alice = Client::join(&room, "alice").await;
        sleep(ms(1)).await;
        let mut bob = Client::join(&room, "bob").await;
        sleep(ms(1)).await;
        let carol = Client::join(&room, "carol").await;
        sleep(ms(8)).await;
        bob.vanish().await; // t=10: the connection just goes away
        sleep(ms(10)).await;
        alice.type_line("anyone?").await; // t=20
        sleep(ms(10)).await;
        let mut eve = Client::connect(&room, "eve"); // t=30
        sleep(ms(10)).await;
        eve.vanish().await; // t=40, before choosing a nickname
        sleep(ms(10)).await;
        let dave = Client::join(&room, "bob").await; // t=50: bob's nickname is free
        sleep(ms(10)).await;

        alice.chat.assert_eq(
            &[
                (1, "* bob joined"),
                (2, "* carol joined"),
                (10, "* bob left"),
                (50, "* bob joined"),
            ],
            "alice's screen: a client that disconnects is announced as left exactly once (and \
             one that never joined, never)",
        );
        carol.chat.assert_eq(
            &[
                (10, "* bob left"),
                (20, "alice: anyone?"),
                (50, "* bob joined"),
            ],
            "carol's screen: one leave notice, and the room carries on",
        );
        assert_eq!(
            (bob.handler_returned_at(), eve.handler_returned_at()),
            (Some(ms(10)), Some(ms(40))),
            "the handlers of bob and eve must return when their connections go away"
        );
        dave.seen.assert_eq(
            &[(50, "* choose a nickname"), (50, "* welcome bob")],
            "a vanished client's nickname is free again",
        );
        finish(&room, [alice, bob, carol, eve, dave]).await;
    });
}

/// contract: "by a failed read or write"
#[test]
fn a_client_that_disconnects_while_the_server_is_writing_to_it_is_announced_as_left_exactly_once() {
    testkit::run(|| async {
        let room = room(16);
        let mut alice = Client::join(&room, "alice").await;
        sleep(ms(1)).await;
        let mut slow = Client::join_not_reading(&room, "slow").await;
        sleep(ms(9)).await;
        for k in 0..20 {
            alice.type_line(&format!("#{k}")).await; // t=10..29: slow's pipe fills up at once
            sleep(ms(1)).await;
        }
        sleep(ms(20)).await;
        slow.vanish().await; // t=50, while its handler is stuck writing to it
        sleep(ms(10)).await;

        alice.chat.assert_eq(
            &[(1, "* slow joined"), (50, "* slow left")],
            "alice's screen: slow's connection died while the server was writing to it (the \
             write fails): slow must still be announced as left, exactly once",
        );
        assert_eq!(
            slow.handler_returned_at(),
            Some(ms(50)),
            "slow's handler must return as soon as its connection is gone"
        );
        finish(&room, [alice, slow]).await;
    });
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

/// contract: "`/nick <new>`: `* you are now <new>` to the client (or one of the two nickname errors above) and `* <old> is now <new>` to everyone else."
#[test]
fn nick_renames_the_client_and_tells_everyone_else_and_a_taken_nickname_is_refused() {
    testkit::run(|| async {
        let room = room(16);
        let mut alice = Client::join(&room, "alice").await;
        sleep(ms(1)).await;
        let mut bob = Client::join(&room, "bob").await;
        sleep(ms(9)).await;
        alice.type_line("/nick bob").await; // t=10
        sleep(ms(10)).await;
        alice.type_line("/nick al").await; // t=20
        sleep(ms(10)).await;
        alice.type_line("hi").await; // t=30
        sleep(ms(10)).await;
        let carol = Client::join(&room, "alice").await; // t=40: the old nickname is free
        sleep(ms(10)).await;
        bob.type_line("/nick al").await; // t=50
        sleep(ms(10)).await;
        bob.type_line("/nick two words").await; // t=60
        sleep(ms(10)).await;

        alice.chat.assert_eq(
            &[
                (1, "* bob joined"),
                (10, "! nickname bob is taken"),
                (20, "* you are now al"),
                (40, "* alice joined"),
            ],
            "alice's screen: /nick to a taken nickname is refused; a free one is confirmed",
        );
        bob.chat.assert_eq(
            &[
                (20, "* alice is now al"),
                (30, "al: hi"),
                (40, "* alice joined"),
                (50, "! nickname al is taken"),
                (60, "! invalid nickname"),
            ],
            "bob's screen: told of the rename, then alice's messages come from `al`; the new \
             nickname is taken, the old one free",
        );
        assert_eq!(
            carol.chat_lines(),
            Vec::<String>::new(),
            "carol joined at t=40 (with the nickname alice, free again since the rename): after \
             her welcome she must see nothing — her own join is announced to everyone else, not \
             to her, and bob's refused /nick attempts (t=50, t=60) are told to bob only"
        );
        finish(&room, [alice, bob, carol]).await;
    });
}

/// contract: "`/list`: `* online: <nick>, <nick>, …` to the client, naming everyone who has joined (the client too)"
#[test]
fn list_shows_everyone_online_sorted_and_only_to_the_client_who_asked() {
    testkit::run(|| async {
        let room = room(16);
        let carol = Client::join(&room, "carol").await;
        sleep(ms(1)).await;
        let mut alice = Client::join(&room, "alice").await;
        sleep(ms(1)).await;
        let mut bob = Client::join(&room, "bob").await;
        sleep(ms(8)).await;
        bob.type_line("/list").await; // t=10
        sleep(ms(10)).await;
        alice.type_line("/quit").await; // t=20
        sleep(ms(10)).await;
        bob.type_line("/list").await; // t=30
        sleep(ms(10)).await;

        bob.chat.assert_eq(
            &[
                (10, "* online: alice, bob, carol"),
                (20, "* alice left"),
                (30, "* online: bob, carol"),
            ],
            "bob's screen: /list names everyone online, himself included, sorted",
        );
        carol.chat.assert_eq(
            &[
                (1, "* alice joined"),
                (2, "* bob joined"),
                (20, "* alice left"),
            ],
            "carol's screen: the list goes only to the client who asked",
        );
        finish(&room, [carol, alice, bob]).await;
    });
}

/// contract: "`/msg <nick> <text>`: `(private) <sender>: <text>` to `<nick>` only"
#[test]
fn a_private_message_reaches_its_recipient_and_no_one_else() {
    testkit::run(|| async {
        let room = room(16);
        let mut alice = Client::join(&room, "alice").await;
        sleep(ms(1)).await;
        let mut bob = Client::join(&room, "bob").await;
        sleep(ms(1)).await;
        let carol = Client::join(&room, "carol").await;
        sleep(ms(8)).await;
        alice.type_line("/msg bob meet me at noon").await; // t=10
        sleep(ms(10)).await;
        bob.type_line("/msg alice ok").await; // t=20
        sleep(ms(10)).await;

        bob.chat.assert_eq(
            &[
                (2, "* carol joined"),
                (10, "(private) alice: meet me at noon"),
            ],
            "bob's screen: a private message is delivered to its recipient as \
             `(private) <sender>: <text>`",
        );
        alice.chat.assert_eq(
            &[
                (1, "* bob joined"),
                (2, "* carol joined"),
                (20, "(private) bob: ok"),
            ],
            "alice's screen: her own private message is not echoed back to her",
        );
        carol.chat.assert_eq(
            &[],
            "carol's screen: nobody but the recipient may see a private message",
        );
        finish(&room, [alice, bob, carol]).await;
    });
}

/// contract: "`/msg` to no one online: `! no such user: <nick>` to the client."
/// contract: "`/msg` without a text: `! usage: /msg <nick> <text>` to the client."
/// contract: "Any other `/…` from a member: `! unknown command: /<command>` to the client."
#[test]
fn mistakes_in_commands_are_reported_to_the_sender_only() {
    testkit::run(|| async {
        let room = room(16);
        let mut alice = Client::join(&room, "alice").await;
        sleep(ms(1)).await;
        let mut bob = Client::join(&room, "bob").await;
        sleep(ms(9)).await;
        for line in ["/msg dave hi", "/msg bob", "/msg bob   ", "/dance"] {
            alice.type_line(line).await; // t=10, 20, 30, 40
            sleep(ms(10)).await;
        }
        bob.type_line("/quit").await; // t=50
        sleep(ms(10)).await;
        alice.type_line("/msg bob are you there?").await; // t=60
        sleep(ms(10)).await;

        alice.chat.assert_eq(
            &[
                (1, "* bob joined"),
                (10, "! no such user: dave"),
                (20, "! usage: /msg <nick> <text>"),
                (30, "! usage: /msg <nick> <text>"),
                (40, "! unknown command: /dance"),
                (50, "* bob left"),
                (60, "! no such user: bob"),
            ],
            "alice's screen: each mistake is answered with its error line (and a client that \
             left can no longer be messaged)",
        );
        bob.chat.assert_eq(
            &[(50, "* bye"), (50, "(closed)")],
            "bob's screen: nothing of alice's mistakes",
        );
        finish(&room, [alice, bob]).await;
    });
}

// ---------------------------------------------------------------------------------------------
// Slow clients
// ---------------------------------------------------------------------------------------------

/// contract: "A client that stops reading never delays anyone else."
/// contract: "Never blocks the thread: every wait is an `.await`."
#[test]
fn a_client_that_stops_reading_does_not_delay_anyone_else() {
    testkit::run(|| async {
        let room = room(16);
        let mut alice = Client::join(&room, "alice").await;
        sleep(ms(1)).await;
        let mut bob = Client::join(&room, "bob").await;
        sleep(ms(1)).await;
        let slow = Client::join_not_reading(&room, "slow").await;
        // alice talks every 5ms, bob every 50ms, from t=10 on; slow reads nothing at all.
        let mut alice_input = alice.input.take().unwrap();
        let mut bob_input = bob.input.take().unwrap();
        let talk_alice = testkit::spawn(async move {
            sleep(ms(8)).await;
            for k in 0..200 {
                alice_input
                    .write_all(format!("#{k}\n").as_bytes())
                    .await
                    .unwrap();
                sleep(ms(5)).await;
            }
            alice_input
        });
        let talk_bob = testkit::spawn(async move {
            sleep(ms(10)).await;
            for j in 0..20 {
                bob_input
                    .write_all(format!("b{j}\n").as_bytes())
                    .await
                    .unwrap();
                sleep(ms(50)).await;
            }
            bob_input
        });
        alice.input = Some(talk_alice.await.unwrap());
        bob.input = Some(talk_bob.await.unwrap());
        sleep(ms(10)).await;

        let mut expected_bob = vec![row(2, "* slow joined")];
        expected_bob.extend((0..200).map(|k| row(10 + 5 * k, format!("alice: #{k}"))));
        expected_bob.sort_by_key(|(t, _)| *t);
        bob.chat.assert_eq(
            &rows(&expected_bob),
            "bob's screen: every message of alice's must reach bob the instant she sends it, \
             however far behind slow is. A client that is not reading must never make a sender \
             (or the room) wait: the sender must not wait for room in slow's queue",
        );
        let mut expected_alice = vec![row(1, "* bob joined"), row(2, "* slow joined")];
        expected_alice.extend((0..20).map(|j| row(12 + 50 * j, format!("bob: b{j}"))));
        alice.chat.assert_eq(
            &rows(&expected_alice),
            "alice's screen: bob's messages arrive the instant he sends them",
        );
        finish(&room, [alice, bob, slow]).await;
    });
}

/// What a slow client's screen says about the `total` messages `alice: #0` … it was sent.
struct Catchup {
    /// The k of every `alice: #k` received, in order.
    received: Vec<u64>,
    /// The n of every `! missed n messages` notice.
    missed: Vec<u64>,
}

fn catchup(lines: &[String], prefix: &str) -> Catchup {
    let mut received = Vec::new();
    let mut missed = Vec::new();
    for line in lines {
        if let Some(k) = line.strip_prefix(prefix) {
            received.push(k.parse().unwrap_or(u64::MAX));
        } else if let Some(rest) = line.strip_prefix("! missed ") {
            let n = rest.split(' ').next().unwrap_or("");
            missed.push(
                n.parse()
                    .unwrap_or_else(|_| panic!("unreadable notice {line:?}")),
            );
        }
    }
    Catchup { received, missed }
}

/// contract: "beyond that it misses some, and is told `! missed <n> messages` before the next room message it receives — every message is either delivered or counted"
/// contract: "It stays connected."
/// contract: "Having missed room messages: `! missed <n> messages` to the client"
/// contract: "at least this many room messages (beyond that, some are dropped for that client, which is told how many it missed)"
#[test]
fn a_client_that_falls_behind_is_told_how_many_messages_it_missed_and_stays_connected() {
    const TOTAL: u64 = 500;
    testkit::run(|| async {
        let room = room(16);
        let mut alice = Client::join(&room, "alice").await;
        sleep(ms(1)).await;
        let bob = Client::join(&room, "bob").await;
        sleep(ms(1)).await;
        let mut slow = Client::join_not_reading(&room, "slow").await;
        sleep(ms(8)).await;
        for k in 0..TOTAL {
            alice.type_line(&format!("#{k}")).await; // t=10..509
            sleep(ms(1)).await;
        }
        sleep(ms(90)).await;
        slow.start_reading(); // t=600
        sleep(ms(100)).await;
        alice.type_line("live").await; // t=700
        sleep(ms(10)).await;

        let late: Vec<u64> = (0..TOTAL)
            .filter(|&k| bob.chat.instants_of(&format!("alice: #{k}")) != vec![ms(10 + k)])
            .collect();
        assert!(
            late.is_empty(),
            "bob did not receive alice's messages the instant she sent them ({} of {TOTAL} late \
             or missing, the first #{}): a client that is not reading must never make a sender \
             (or the room) wait",
            late.len(),
            late.first().copied().unwrap_or_default()
        );
        let lines = slow.chat_lines();
        let left = |c: &Client| c.chat_lines().contains(&"* slow left".to_owned());
        assert!(
            !lines.contains(&"(closed)".to_owned()) && !left(&alice) && !left(&bob),
            "slow was disconnected when it fell behind. Falling behind is not an error (a \
             broadcast receiver's RecvError::Lagged is a notice, not a failure): tell the \
             client how many messages it missed, and carry on.\nslow's screen: {lines:#?}"
        );
        assert_eq!(
            slow.chat.instants_of("alice: live"),
            vec![ms(700)],
            "once slow has caught up, new messages must reach it as they are sent"
        );
        let seen = catchup(&lines, "alice: #");
        let got = seen.received.len() as u64;
        assert!(
            !seen.missed.is_empty(),
            "slow received {got} of alice's {TOTAL} messages after reading nothing for 600ms, \
             and was never told it missed any. Nothing was dropped for a client that does not \
             read: its queue has no bound, so one idle client makes the server's memory grow \
             without limit (the room's capacity is 16)"
        );
        assert!(
            seen.received.windows(2).all(|w| w[0] < w[1]),
            "slow received alice's messages out of order: {:?}",
            seen.received
        );
        let missed: u64 = seen.missed.iter().sum();
        assert_eq!(
            got + missed,
            TOTAL,
            "every message must be delivered or counted in a `! missed <n> messages` notice: \
             slow received {got} and was told it missed {missed} (notices: {:?})",
            seen.missed
        );
        assert!(
            got <= 100,
            "slow was kept {got} of {TOTAL} messages while it did not read: far more than the \
             room's capacity (16) allows"
        );
        finish(&room, [alice, bob, slow]).await;
    });
}

/// contract: "`/msg` while `<nick>` is not reading: `! <nick> is not keeping up, message dropped` to the client."
/// contract: "Private messages wait for it up to `capacity`; beyond that they are refused and the sender is told."
#[test]
fn a_private_message_for_a_client_that_is_not_reading_is_refused_without_delaying_the_sender() {
    const TOTAL: u64 = 50;
    testkit::run(|| async {
        let room = room(8);
        let mut alice = Client::join(&room, "alice").await;
        sleep(ms(1)).await;
        let mut bob = Client::join(&room, "bob").await;
        sleep(ms(1)).await;
        let mut slow = Client::join_not_reading(&room, "slow").await;
        sleep(ms(8)).await;
        for k in 0..TOTAL {
            alice.type_line(&format!("/msg slow p#{k}")).await; // t=10..59
            if k == 25 {
                bob.type_line("still here").await; // t=35
            }
            sleep(ms(1)).await;
        }
        sleep(ms(10)).await;
        alice.type_line("room ok").await; // t=70
        sleep(ms(30)).await;
        slow.start_reading(); // t=100
        sleep(ms(10)).await;

        assert_eq!(
            (
                alice.chat.instants_of("bob: still here"),
                bob.chat.instants_of("alice: room ok")
            ),
            (vec![ms(35)], vec![ms(70)]),
            "alice and bob must go on talking as if nothing happened: a private message must \
             never make its sender wait for a recipient that is not reading"
        );
        let refused = alice
            .chat
            .instants_of("! slow is not keeping up, message dropped");
        let lines = slow.chat_lines();
        let seen = catchup(&lines, "(private) alice: p#");
        let got = seen.received.len() as u64;
        assert!(
            !refused.is_empty(),
            "alice sent {TOTAL} private messages to slow, who read nothing for 100ms; slow then \
             received {got} of them, and alice was never told one was dropped. A private \
             message that does not fit in slow's private queue (capacity 8) must be refused at \
             once, and its sender told: not queued without a bound, and not silently lost"
        );
        assert!(
            refused.iter().all(|t| (ms(10)..ms(60)).contains(t)),
            "alice must be told at once, when she sends a message that does not fit: {refused:?}"
        );
        assert!(
            seen.received.windows(2).all(|w| w[0] < w[1]),
            "slow received alice's private messages out of order: {:?}",
            seen.received
        );
        assert_eq!(
            got + refused.len() as u64,
            TOTAL,
            "every private message is delivered or refused: slow received {got}, alice was \
             told of {} refusals",
            refused.len()
        );
        assert!(
            got <= 30,
            "slow was kept {got} private messages while it did not read: more than the \
             capacity (8) allows"
        );
        finish(&room, [alice, bob, slow]).await;
    });
}

/// contract: "How many messages may wait for one client that is not reading"
#[test]
fn private_messages_do_not_count_against_anyone_elses_room_messages() {
    testkit::run(|| async {
        let room = room(8);
        let mut alice = Client::join(&room, "alice").await;
        sleep(ms(1)).await;
        let bob = Client::join(&room, "bob").await;
        sleep(ms(1)).await;
        let mut carol = Client::join_not_reading(&room, "carol").await;
        sleep(ms(3)).await;
        for k in 0..3 {
            alice.type_line(&format!("fill {k}")).await; // t=5..7: carol's pipe is full now
            sleep(ms(1)).await;
        }
        sleep(ms(2)).await;
        for k in 0..40 {
            alice.type_line(&format!("/msg bob x#{k}")).await; // t=10..49
            sleep(ms(1)).await;
        }
        sleep(ms(50)).await;
        carol.start_reading(); // t=100
        sleep(ms(10)).await;

        let mut expected_bob = vec![row(2, "* carol joined")];
        expected_bob.extend((0..3).map(|k| row(5 + k, format!("alice: fill {k}"))));
        expected_bob.extend((0..40).map(|k| row(10 + k, format!("(private) alice: x#{k}"))));
        bob.chat.assert_eq(
            &rows(&expected_bob),
            "bob's screen: every message, as it is sent",
        );
        carol.chat.assert_eq(
            &[
                (100, "alice: fill 0"),
                (100, "alice: fill 1"),
                (100, "alice: fill 2"),
            ],
            "carol's screen: only 3 room messages were sent while she was not reading (the \
             room's capacity is 8), so she has missed nothing — yet she was told she missed \
             messages, or shown private ones. Private messages must not go through the room's \
             broadcast channel: every member would hold them, and they would push room \
             messages out of a slow member's queue",
        );
        finish(&room, [alice, bob, carol]).await;
    });
}

// ---------------------------------------------------------------------------------------------
// Shutdown
// ---------------------------------------------------------------------------------------------

/// A screen without the leave notices of the shutdown instant: whether a client sees others
/// leave while the room closes is left open.
fn without_leaves_at(client: &Client, t: Duration) -> Vec<String> {
    client
        .seen
        .entries()
        .into_iter()
        .filter(|(at, line)| !(*at == t && line.starts_with("* ") && line.ends_with(" left")))
        .map(|(at, line)| testkit::at(at.as_millis() as u64, &line))
        .collect()
}

/// contract: "On shutdown every client is sent `* server shutting down` and its connection closed."
/// contract: "Shutdown: `* server shutting down` to every client, then the connection is closed."
/// contract: "A client that connects after shutdown is told at once."
/// contract: "Starts shutting the room down: every handler tells its client `* server shutting down`, closes the connection and returns"
/// contract: "Calling it again changes nothing."
#[test]
fn shutdown_tells_every_client_then_closes_every_connection_and_every_handler_returns() {
    testkit::run(|| async {
        let room = room(16);
        let alice = Client::join(&room, "alice").await;
        sleep(ms(1)).await;
        let bob = Client::join(&room, "bob").await;
        sleep(ms(1)).await;
        let carol = Client::connect(&room, "carol"); // t=2, still choosing a nickname
        sleep(ms(48)).await;
        room.shutdown(); // t=50
        room.shutdown(); // a second call changes nothing
        sleep(ms(10)).await;
        let dave = Client::connect(&room, "dave"); // t=60, after the shutdown
        sleep(ms(10)).await;

        let told = |t: u64| {
            [
                testkit::at(t, "* server shutting down"),
                testkit::at(t, "(closed)"),
            ]
        };
        let expectations = [
            (
                &alice,
                vec![
                    testkit::at(0, "* choose a nickname"),
                    testkit::at(0, "* welcome alice"),
                    testkit::at(1, "* bob joined"),
                ],
                50,
            ),
            (
                &bob,
                vec![
                    testkit::at(1, "* choose a nickname"),
                    testkit::at(1, "* welcome bob"),
                ],
                50,
            ),
            (&carol, vec![testkit::at(2, "* choose a nickname")], 50),
        ];
        for (client, mut expected, t) in expectations {
            expected.extend(told(t));
            assert_eq!(
                without_leaves_at(client, ms(t)),
                expected,
                "{}'s screen: at shutdown (t=50ms) every client, joined or not, is sent \
                 `* server shutting down` and then its connection is closed",
                client.name
            );
        }
        let dave_lines = without_leaves_at(&dave, ms(60));
        assert_eq!(
            dave_lines[dave_lines.len().saturating_sub(2)..],
            told(60),
            "dave's screen: a client that connects after shutdown is told and closed at once"
        );
        let returned: Vec<Option<Duration>> = [&alice, &bob, &carol, &dave]
            .iter()
            .map(|c| c.handler_returned_at())
            .collect();
        assert_eq!(
            returned,
            vec![Some(ms(50)), Some(ms(50)), Some(ms(50)), Some(ms(60))],
            "every handler must return as soon as its client has been told"
        );
        for mut client in [alice, bob, carol, dave] {
            let (_, handler) = client.handler.take().unwrap();
            let result = handler.await.unwrap();
            assert!(
                result.is_ok(),
                "{}'s handler must return Ok(()) at shutdown, not {result:?}",
                client.name
            );
            client.finish().await;
        }
    });
}

/// contract: "A client that is not reading gets at most the room's `grace` to take the rest of the line it is being sent and the notice"
/// contract: "Once shutdown starts, how long a client that is not reading may keep its handler waiting"
/// contract: "Calling it again changes nothing."
#[test]
fn a_client_that_is_not_reading_delays_the_shutdown_by_at_most_the_grace_period() {
    testkit::run(|| async {
        let room = room(16);
        let mut alice = Client::join(&room, "alice").await;
        sleep(ms(1)).await;
        let mut slow = Client::join_not_reading(&room, "slow").await;
        sleep(ms(1)).await;
        let mut late = Client::join_not_reading(&room, "late").await;
        sleep(ms(8)).await;
        for k in 0..10 {
            alice.type_line(&format!("#{k}")).await; // t=10..19: both pipes fill up
            sleep(ms(1)).await;
        }
        sleep(ms(80)).await;
        room.shutdown(); // t=100; the grace period ends at t=600
        sleep(ms(200)).await;
        room.shutdown(); // t=300: a second call changes nothing
        // A client arriving now whose pipe cannot take even the prompt (20 bytes): its handler
        // is bound by the first call's deadline too.
        let latecomer = Client::connect_with(&room, "latecomer", 16);
        late.start_reading(); // t=300: within the grace period
        let (slow_probe, slow_handler) = slow.handler.take().unwrap();
        let slow_result = tokio::time::timeout(secs(60), slow_handler).await;
        assert!(
            slow_result.is_ok(),
            "slow's handler was still running 60s after the shutdown: a client that is not \
             reading must not hold up the shutdown for more than the grace period (500ms)"
        );
        let returned = slow_probe.completed_at().unwrap();
        assert!(
            returned >= ms(100) && returned <= ms(600),
            "slow's handler returned at t={returned:?}; the shutdown started at t=100ms with a \
             grace period of 500ms, so it must return by t=600ms (a second call of shutdown, at \
             t=300ms, changes nothing: it must not push the deadline back)"
        );
        assert_eq!(
            (alice.handler_returned_at(), late.handler_returned_at()),
            (Some(ms(100)), Some(ms(300))),
            "alice's handler returns at the shutdown; late's as soon as late reads (t=300ms), \
             within the grace period"
        );
        let late_lines = late.chat_lines();
        assert_eq!(
            late_lines[late_lines.len().saturating_sub(2)..],
            ["* server shutting down", "(closed)"],
            "late's screen: late started reading within the grace period, so it must get the \
             rest of the line it was being sent, then the notice, then the end of the stream"
        );
        assert!(
            late_lines[..late_lines.len() - 2]
                .iter()
                .all(|l| l.starts_with("alice: #") || l.ends_with(" left")),
            "late's screen before the notice: alice's messages, whole: {late_lines:#?}"
        );
        sleep(ms(600)).await;
        let latecomer_returned = latecomer.handler_returned_at();
        assert!(
            latecomer_returned.is_some_and(|t| t <= ms(600)),
            "latecomer connected at t=300ms, right after a second call of shutdown, and cannot \
             take even the prompt; its handler returned at {latecomer_returned:?}: it must \
             return by t=600ms, the first call's deadline. A second call of shutdown changes \
             nothing: it must not push the deadline back"
        );
        slow.start_reading();
        let mut latecomer = latecomer;
        latecomer.start_reading();
        finish(&room, [alice, slow, late, latecomer]).await;
    });
}

// ---------------------------------------------------------------------------------------------
// The whole server, over TCP
// ---------------------------------------------------------------------------------------------

/// Connects a TCP client to `address`, starts recording what it receives, and types `nick`.
async fn tcp_join(
    address: std::net::SocketAddr,
    nick: &str,
) -> Client<tokio::net::tcp::OwnedWriteHalf> {
    let stream = TcpStream::connect(address)
        .await
        .unwrap_or_else(|e| panic!("{nick} could not connect: {e}"));
    stream.set_nodelay(true).unwrap(); // see the listener below
    let (output, input) = stream.into_split();
    let mut client = Client {
        name: nick.to_owned(),
        input: Some(input),
        output: Some(Box::new(output)),
        seen: Timeline::new(),
        chat: Timeline::new(),
        recorder: None,
        handler: None,
    };
    client.start_reading();
    client.type_line(nick).await;
    client
}

/// contract: "Accepts connections on `listener` and runs [`handle_client`] for each one in its own task"
/// contract: "Then it stops accepting, waits until every handler has said goodbye and returned"
/// contract: "A chat room: the state every client handler shares."
/// contract: "Every clone is the same room."
#[test]
fn the_server_lets_clients_chat_over_tcp_and_shuts_down_cleanly() {
    testkit::run(|| async {
        let room = room(16);
        // TCP_NODELAY on the listener is inherited by every connection it accepts (Linux). On
        // the paused clock this matters: with Nagle's algorithm a small write waits for the
        // peer's delayed ACK, tens of milliseconds of *real* time, and in the meantime the
        // virtual clock jumps to the next timer, so a line would arrive "late".
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_nodelay(true).unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = socket.listen(16).unwrap();
        let address = listener.local_addr().unwrap();
        let server_probe = Probe::new("serve");
        let server = testkit::spawn(server_probe.wrap(serve(listener, room.clone())));

        let mut alice = tcp_join(address, "alice").await;
        sleep(ms(10)).await;
        let mut bob = tcp_join(address, "bob").await; // t=10
        sleep(ms(10)).await;
        alice.type_line("hello bob").await; // t=20
        sleep(ms(10)).await;
        bob.type_line("/msg alice hi!").await; // t=30
        sleep(ms(10)).await;
        let mut carol = tcp_join(address, "carol").await; // t=40
        sleep(ms(5)).await;
        carol.type_line("/list").await; // t=45
        sleep(ms(5)).await;
        bob.type_line("/quit").await; // t=50
        sleep(ms(50)).await;
        room.shutdown(); // t=100
        let result = tokio::time::timeout(secs(60), server).await;
        assert!(
            matches!(result, Ok(Ok(Ok(())))),
            "serve must return Ok(()) once the room has shut down and every client has been \
             told, got {result:?}"
        );
        assert_eq!(
            server_probe.completed_at(),
            Some(ms(100)),
            "serve must return at the shutdown (t=100ms): every client here reads, so no one \
             needs the grace period"
        );
        sleep(ms(10)).await;

        alice.chat.assert_eq(
            &[
                (10, "* bob joined"),
                (30, "(private) bob: hi!"),
                (40, "* carol joined"),
                (50, "* bob left"),
                (100, "* server shutting down"),
                (100, "(closed)"),
            ],
            "alice's screen over TCP",
        );
        bob.chat.assert_eq(
            &[
                (20, "alice: hello bob"),
                (40, "* carol joined"),
                (50, "* bye"),
                (50, "(closed)"),
            ],
            "bob's screen over TCP",
        );
        carol.chat.assert_eq(
            &[
                (45, "* online: alice, bob, carol"),
                (50, "* bob left"),
                (100, "* server shutting down"),
                (100, "(closed)"),
            ],
            "carol's screen over TCP",
        );
        for client in [alice, bob, carol] {
            client.finish().await;
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Limits: line length, invalid UTF-8, how many clients, how long to choose a nickname
// ---------------------------------------------------------------------------------------------

fn limited(max_line_length: usize, max_clients: usize, nickname_timeout: Duration) -> Room {
    Room::new(Config {
        max_line_length,
        max_clients,
        nickname_timeout,
        ..LIMITS
    })
}

/// contract: "A line longer than `max_line_length`: `! line too long` to the client, then the connection is closed."
/// contract: "A line of exactly `max_line_length` bytes is fine; one byte more is refused as soon as it has arrived, without waiting for the line's end."
/// contract: "Before joining or after, the connection is then closed (a member is announced as left, once)."
/// contract: "The longest line a client may send, in bytes"
/// contract: "A longer line is answered `! line too long` and the connection closed, as soon as more than this many bytes of it have arrived"
#[test]
fn a_line_of_exactly_max_line_length_is_accepted_and_one_byte_more_closes_the_connection() {
    testkit::run(|| async {
        let room = limited(16, 100, secs(600));
        let mut alice = Client::join(&room, "alice").await;
        let bob = Client::join(&room, "bob").await;
        sleep(ms(10)).await;
        alice.type_line("exactly-16-bytes").await; // t=10
        sleep(ms(10)).await;
        // t=20: 17 bytes and no end of line yet: refused at once. (Sent even if the server has
        // already closed the connection: the screens below say what went wrong.)
        let input = alice.input.as_mut().expect("alice's input");
        let _ = input.write_all(b"seventeen-bytes-x").await;
        sleep(ms(10)).await;
        // A client that has not joined: its nickname attempts are lines too.
        let mut carol = Client::connect(&room, "carol");
        carol.type_raw(&"c".repeat(17)).await; // t=30
        sleep(ms(10)).await;

        alice.chat.assert_eq(
            &[
                (0, "* bob joined"),
                (20, "! line too long"),
                (20, "(closed)"),
            ],
            "alice's screen: a line of exactly max_line_length (16) bytes is fine; at t=20ms \
             17 bytes of a line had arrived, one more than max_line_length: `! line too long` \
             at once (without waiting for the end of the line: memory stays bounded), then the \
             connection is closed",
        );
        bob.chat.assert_eq(
            &[(10, "alice: exactly-16-bytes"), (20, "* alice left")],
            "bob's screen: alice's 16-byte line is delivered; closed for a line too long, she is \
             announced as left, once",
        );
        carol.seen.assert_eq(
            &[
                (30, "* choose a nickname"),
                (30, "! line too long"),
                (30, "(closed)"),
            ],
            "carol's screen: a nickname attempt longer than max_line_length is refused the same \
             way, before joining",
        );
        assert_eq!(
            (alice.handler_returned_at(), carol.handler_returned_at()),
            (Some(ms(20)), Some(ms(30))),
            "each handler returns once its client has been told `! line too long`"
        );
        let left = bob
            .chat_lines()
            .iter()
            .filter(|l| l.ends_with(" left"))
            .count();
        assert_eq!(
            left, 1,
            "only alice left (carol never joined): {left} leave notices"
        );
        finish(&room, [alice, bob, carol]).await;
    });
}

/// contract: "A line that is not UTF-8, once its `\n` has arrived: `! invalid UTF-8` to the client, then the connection is closed."
#[test]
fn a_line_that_is_not_utf8_is_answered_and_the_connection_closed() {
    testkit::run(|| async {
        let room = room(16);
        let alice = Client::join(&room, "alice").await;
        let mut bob = Client::join(&room, "bob").await;
        sleep(ms(10)).await;
        bob.type_bytes(b"hi \xff\xfe\n").await; // t=10
        sleep(ms(10)).await;

        bob.chat.assert_eq(
            &[(10, "! invalid UTF-8"), (10, "(closed)")],
            "bob's screen: a line that is not UTF-8 is answered `! invalid UTF-8` before the \
             connection is closed (not closed silently)",
        );
        alice.chat.assert_eq(
            &[(0, "* bob joined"), (10, "* bob left")],
            "alice's screen: bob's bad line is not delivered; bob is announced as left, once",
        );
        let (_, handler) = bob.handler.take().expect("bob's handler");
        let result = handler.await.expect("bob's handler did not panic");
        assert!(
            result.is_ok(),
            "a client closed for sending invalid UTF-8 is not an I/O failure: handle_client \
             returns Ok(()), got {result:?}"
        );
        finish(&room, [alice, bob]).await;
    });
}

/// contract: "On connect with `max_clients` already connected: `! server full` to the client, then the connection is closed."
/// contract: "A client counts against `max_clients` from the moment its handler starts until it returns"
/// contract: "The most clients connected at once, joined or still choosing a nickname."
/// contract: "One more is sent `! server full` and closed at once."
#[test]
fn at_most_max_clients_are_connected_and_the_next_is_told_the_server_is_full() {
    testkit::run(|| async {
        let room = limited(256, 2, secs(600));
        let alice = Client::join(&room, "alice").await; // t=0
        let mut bob = Client::connect(&room, "bob"); // t=0, still choosing a nickname
        sleep(ms(10)).await;
        let carol = Client::connect(&room, "carol"); // t=10: full
        sleep(ms(10)).await;
        bob.vanish().await; // t=20: a slot is free again
        sleep(ms(10)).await;
        let dave = Client::connect(&room, "dave"); // t=30
        sleep(ms(10)).await;

        carol.seen.assert_eq(
            &[(10, "! server full"), (10, "(closed)")],
            "carol's screen: with max_clients = 2 and alice (joined) and bob (still choosing a \
             nickname) connected, a third client is told `! server full` and closed at once. A \
             client counts from the moment its handler starts, joined or not",
        );
        dave.seen.assert_eq(
            &[(30, "* choose a nickname")],
            "dave's screen: bob disconnected at t=20ms, so his place is free: dave (t=30ms) is \
             asked for a nickname. A refused client takes no place, and a client that leaves \
             frees its place",
        );
        assert_eq!(
            carol.handler_returned_at(),
            Some(ms(10)),
            "carol's handler returns at once after `! server full`"
        );
        finish(&room, [alice, bob, carol, dave]).await;
    });
}

/// contract: "No nickname accepted `nickname_timeout` after connecting: `! no nickname chosen in time` to the client, then the connection is closed."
/// contract: "A nickname accepted before it is in time"
/// contract: "How long a client may take, from connecting, to have a nickname accepted."
/// contract: "Then it is sent `! no nickname chosen in time` and closed."
#[test]
fn a_client_that_has_not_chosen_a_nickname_in_time_is_told_and_closed() {
    testkit::run(|| async {
        let room = limited(256, 100, secs(10));
        let mut ann = Client::connect(&room, "ann"); // t=0
        let mut ben = Client::connect(&room, "ben"); // t=0
        sleep(secs(3)).await;
        ann.type_line("not valid!").await; // t=3s: an attempt does not restart the clock
        sleep(secs(2)).await;
        let cid = Client::connect(&room, "cid"); // t=5s: its own deadline, t=15s
        sleep(secs(4)).await;
        ann.type_line("alice").await; // t=9s: taken? no: free, but see below
        sleep(secs(1) - ms(1)).await;
        ben.type_line("ben").await; // t=9.999s: in time
        sleep(secs(10)).await; // t=19.999s

        ann.seen.assert_eq(
            &[
                (0, "* choose a nickname"),
                (3_000, "! invalid nickname"),
                (9_000, "* welcome alice"),
                (9_999, "* ben joined"),
            ],
            "ann's screen: a nickname accepted at t=9s, before the deadline (t=10s), is in time \
             (and ann stays, to see ben join)",
        );
        ben.seen.assert_eq(
            &[(0, "* choose a nickname"), (9_999, "* welcome ben")],
            "ben's screen: a nickname accepted at t=9.999s, 1ms before nickname_timeout (10s) \
             after connecting, is in time, and ben stays connected afterwards",
        );
        cid.seen.assert_eq(
            &[
                (5_000, "* choose a nickname"),
                (15_000, "! no nickname chosen in time"),
                (15_000, "(closed)"),
            ],
            "cid's screen: connected at t=5s and never chose a nickname: told `! no nickname \
             chosen in time` and closed exactly nickname_timeout (10s) after connecting, at \
             t=15s",
        );
        assert_eq!(
            cid.handler_returned_at(),
            Some(secs(15)),
            "cid's handler returns at t=15s, nickname_timeout after cid connected"
        );
        finish(&room, [ann, ben, cid]).await;
    });
}

/// contract: "The nickname deadline is `nickname_timeout` after connecting, however many attempts were made: the client is told and closed at that instant."
#[test]
fn the_nickname_deadline_counts_from_connecting_not_from_the_last_attempt() {
    testkit::run(|| async {
        let room = limited(256, 100, secs(10));
        let alice = Client::join(&room, "alice").await;
        let mut ann = Client::connect(&room, "ann"); // t=0
        for t in [3, 6, 9] {
            sleep(secs(t) - testkit::now()).await;
            ann.type_line("alice").await; // taken, every time
        }
        sleep(secs(30)).await;
        ann.seen.assert_eq(
            &[
                (0, "* choose a nickname"),
                (3_000, "! nickname alice is taken"),
                (6_000, "! nickname alice is taken"),
                (9_000, "! nickname alice is taken"),
                (10_000, "! no nickname chosen in time"),
                (10_000, "(closed)"),
            ],
            "ann's screen: three refused attempts (t=3s, 6s, 9s) do not move the deadline: ann \
             is told and closed exactly nickname_timeout (10s) after connecting, at t=10s, not \
             10s after her last attempt",
        );
        finish(&room, [alice, ann]).await;
    });
}

// ---------------------------------------------------------------------------------------------
// Repeats
// ---------------------------------------------------------------------------------------------

/// contract: "A member quitting or disconnecting: `* <nick> left` to everyone else."
#[test]
fn a_client_that_renames_and_then_leaves_is_announced_under_its_new_name_and_frees_it() {
    testkit::run(|| async {
        let room = room(16);
        let alice = Client::join(&room, "alice").await;
        let mut bob = Client::join(&room, "bob").await;
        sleep(ms(10)).await;
        bob.type_line("/nick robert").await; // t=10
        sleep(ms(10)).await;
        bob.vanish().await; // t=20
        sleep(ms(10)).await;
        let robert = Client::join(&room, "robert").await; // t=30
        sleep(ms(10)).await;
        let second_bob = Client::join(&room, "bob").await; // t=40
        sleep(ms(10)).await;

        alice.chat.assert_eq(
            &[
                (0, "* bob joined"),
                (10, "* bob is now robert"),
                (20, "* robert left"),
                (30, "* robert joined"),
                (40, "* bob joined"),
            ],
            "alice's screen: bob renamed himself robert, then disconnected: he is announced as \
             left under his current name (robert), once; then both names are free again — \
             the leave must remove the member's current nickname, not the one it joined with",
        );
        robert.seen.assert_eq(
            &[
                (30, "* choose a nickname"),
                (30, "* welcome robert"),
                (40, "* bob joined"),
            ],
            "the new robert's screen: `robert` is free once its owner has left",
        );
        second_bob.seen.assert_eq(
            &[(40, "* choose a nickname"), (40, "* welcome bob")],
            "the new bob's screen: `bob` was freed by the rename",
        );
        finish(&room, [alice, bob, robert, second_bob]).await;
    });
}

// ---------------------------------------------------------------------------------------------
// Error paths, over TCP
// ---------------------------------------------------------------------------------------------

/// A listener on `127.0.0.1:0` with TCP_NODELAY (see the TCP test above), and a second
/// descriptor of it, to make `accept` fail on purpose.
fn tcp_listener() -> (tokio::net::TcpListener, std::net::TcpListener) {
    let socket = TcpSocket::new_v4().expect("a socket");
    socket.set_nodelay(true).expect("TCP_NODELAY");
    socket
        .bind("127.0.0.1:0".parse().expect("an address"))
        .expect("the test could not bind 127.0.0.1:0");
    let listener = socket.listen(16).expect("listen").into_std().expect("std");
    let second = listener
        .try_clone()
        .expect("a second descriptor of the listener");
    let listener = tokio::net::TcpListener::from_std(listener).expect("the listener");
    (listener, second)
}

/// contract: "One client's failure never stops the server."
/// contract: "by a failed read or write"
#[test]
fn one_clients_connection_failing_does_not_stop_the_server() {
    testkit::run(|| async {
        let room = room(16);
        let (listener, _second) = tcp_listener();
        let address = listener.local_addr().expect("the listener's address");
        let server_probe = Probe::new("serve");
        let server = testkit::spawn(server_probe.wrap(serve(listener, room.clone())));

        let alice = tcp_join(address, "alice").await;
        sleep(ms(10)).await;
        let bob = TcpStream::connect(address).await.expect("bob connects");
        bob.set_nodelay(true).expect("TCP_NODELAY");
        let (bob_out, mut bob_in) = bob.into_split();
        bob_in.write_all(b"bob\n").await.expect("bob's nickname");
        sleep(ms(10)).await; // t=20
        // bob's connection breaks: a reset (no FIN), so his handler's read fails.
        let bob = bob_out.reunite(bob_in).expect("bob's two halves");
        bob.set_zero_linger().expect("SO_LINGER");
        drop(bob);
        sleep(ms(10)).await; // t=30
        let mut carol = tcp_join(address, "carol").await;
        sleep(ms(10)).await;
        carol.type_line("still up?").await; // t=40
        sleep(ms(10)).await;

        assert!(
            server_probe.is_running(),
            "serve returned ({}) after one client's connection failed: a handler's error \
             concerns its own client only — note it and carry on",
            server_probe.describe()
        );
        alice.chat.assert_eq(
            &[
                (10, "* bob joined"),
                (20, "* bob left"),
                (30, "* carol joined"),
                (40, "carol: still up?"),
            ],
            "alice's screen: bob's connection was reset at t=20ms (his handler's read failed): \
             he is announced as left, and the server goes on — carol joins and talks",
        );
        room.shutdown();
        let result = tokio::time::timeout(secs(60), server).await;
        assert!(
            matches!(result, Ok(Ok(Ok(())))),
            "serve must return Ok(()) at shutdown, even though one client's connection failed \
             earlier (that error was its client's, not the server's): got {result:?}"
        );
        for client in [alice, carol] {
            client.finish().await;
        }
    });
}

/// contract: "If accepting fails, it shuts the room down the same way and returns the error."
#[test]
fn if_accepting_fails_serve_shuts_the_room_down_and_returns_the_error() {
    testkit::run(|| async {
        let room = room(16);
        let (listener, second) = tcp_listener();
        let address = listener.local_addr().expect("the listener's address");
        let server_probe = Probe::new("serve");
        let server = testkit::spawn(server_probe.wrap(serve(listener, room.clone())));
        let alice = tcp_join(address, "alice").await;
        sleep(ms(10)).await;
        // From now on `accept` fails (EINVAL): the listening socket's read side is shut.
        socket2::SockRef::from(&second)
            .shutdown(std::net::Shutdown::Read)
            .expect("shutting down the listener's read side");
        let result = tokio::time::timeout(secs(60), server).await;
        assert!(
            matches!(result, Ok(Ok(Err(_)))),
            "accept failed at t=10ms: serve must shut the room down and return the error, got \
             {result:?}"
        );
        assert_eq!(
            server_probe.completed_at(),
            Some(ms(10)),
            "serve returns as soon as every handler has said goodbye: alice reads, so at once"
        );
        sleep(ms(10)).await;
        alice.chat.assert_eq(
            &[(10, "* server shutting down"), (10, "(closed)")],
            "alice's screen: when accepting fails, the room shuts down the same way — every \
             client is told `* server shutting down` and closed",
        );
        alice.finish().await;
    });
}

// ---------------------------------------------------------------------------------------------
// Real threads: handlers on a multi-thread runtime share one room
// ---------------------------------------------------------------------------------------------

/// How many clients race on threads, and how many rounds.
const RACERS: usize = 8;
const ROUNDS: usize = 20;

/// One round on a multi-thread runtime: `RACERS` clients, started together on a barrier, each
/// type `line` (having joined as `m<i>` first if `join_first`). Returns each one's answer: the
/// first reply to its own line (`* welcome …`, `* you are now …` or `! …`).
async fn race(join_first: bool, line: &'static str) -> Vec<String> {
    let room = Room::new(LIMITS);
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut clients = Vec::new();
    for i in 0..RACERS {
        let (client, server) = tokio::io::duplex(PIPE);
        let handler = tokio::spawn(handle_client(server, room.clone()));
        let start = start.clone();
        clients.push(tokio::spawn(async move {
            let (output, mut input) = tokio::io::split(client);
            let mut lines = BufReader::new(output).lines();
            let _prompt = lines.next_line().await;
            if join_first {
                let _ = input.write_all(format!("m{i}\n").as_bytes()).await;
                // The welcome (join notices of the others may come before or after it).
                while let Ok(Some(line)) = lines.next_line().await {
                    if line.starts_with("* welcome ") {
                        break;
                    }
                }
            }
            start.wait().await;
            let _ = input.write_all(format!("{line}\n").as_bytes()).await;
            let mut answer = String::new();
            while let Ok(Some(line)) = lines.next_line().await {
                let reply = ["* welcome ", "* you are now ", "! "];
                if reply.iter().any(|r| line.starts_with(r)) {
                    answer = line;
                    break;
                }
            }
            (answer, input, lines, handler)
        }));
    }
    let mut answers = Vec::new();
    let mut keep = Vec::new();
    for client in clients {
        match client.await {
            Ok((answer, input, lines, handler)) => {
                answers.push(answer);
                keep.push((input, lines, handler));
            }
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    room.shutdown();
    for (input, lines, handler) in keep {
        drop((input, lines));
        if let Err(e) = handler.await {
            std::panic::resume_unwind(e.into_panic());
        }
    }
    answers
}

/// contract: "A nickname that is taken: `! nickname <nick> is taken` to the client."
#[test]
fn on_many_threads_exactly_one_of_the_clients_racing_for_a_nickname_gets_it() {
    testkit::threads::on_threads(4, secs(30), || async {
        for round in 0..ROUNDS {
            let answers = race(false, "same").await;
            let welcomed = answers.iter().filter(|a| *a == "* welcome same").count();
            assert_eq!(
                welcomed, 1,
                "round {round}: {RACERS} clients on a 4-thread runtime chose the nickname \
                 `same` at the same moment: exactly one must be welcomed and the others told it \
                 is taken. Answers: {answers:?}. Checking that a nickname is free and taking it \
                 must be one step, under one lock"
            );
        }
    });
}

/// contract: "`/nick <new>`: `* you are now <new>` to the client (or one of the two nickname errors above)"
#[test]
fn on_many_threads_exactly_one_of_the_members_renaming_to_one_nickname_gets_it() {
    testkit::threads::on_threads(4, secs(30), || async {
        for round in 0..ROUNDS {
            let answers = race(true, "/nick same").await;
            let renamed = answers
                .iter()
                .filter(|a| *a == "* you are now same")
                .count();
            assert_eq!(
                renamed, 1,
                "round {round}: {RACERS} members on a 4-thread runtime typed `/nick same` at the \
                 same moment: exactly one must become `same` and the others be told it is taken. \
                 Answers: {answers:?}. Checking that the new nickname is free and taking it must \
                 be one step, under one lock"
            );
        }
    });
}

/// contract: "Having missed room messages: `! missed <n> messages` to the client (`! missed 1 message` for one)."
#[test]
fn a_client_that_missed_exactly_one_message_is_told_so_in_the_singular() {
    testkit::run(|| async {
        // The room keeps one message for a client that is not reading.
        let screen = missed_while_stuck(1).await;
        let rows: Vec<(u64, &str)> = screen
            .iter()
            .map(|(t, l)| (t.as_millis() as u64, l.as_str()))
            .collect();
        assert_eq!(
            rows,
            [
                (40, "alice: long------------------------------------"),
                (40, "! missed 1 message"),
                (40, "alice: m2"),
            ],
            "slow's screen: with room for one message, m1 was overwritten by m2 while slow was \
             not reading — exactly one missed: `! missed 1 message` (singular; `! missed 2 \
             messages` for more), then m2",
        );
    });
}

// ---------------------------------------------------------------------------------------------
// Cases the docs decide
// ---------------------------------------------------------------------------------------------

/// contract: "Nicknames are case-sensitive (`Amy` and `amy` are two), and a member's own nickname counts as taken for its `/nick`."
#[test]
fn nicknames_are_case_sensitive_and_a_members_own_nickname_is_taken_for_its_nick() {
    testkit::run(|| async {
        let room = room(16);
        let mut amy = Client::join(&room, "amy").await;
        sleep(ms(10)).await;
        let upper = Client::join(&room, "Amy").await; // t=10
        sleep(ms(10)).await;
        amy.type_line("/nick amy").await; // t=20: her own nickname
        sleep(ms(10)).await;

        assert_eq!(
            upper.seen.millis().get(..2),
            Some(&[row(10, "* choose a nickname"), row(10, "* welcome Amy")][..]),
            "Amy's screen: nicknames are case-sensitive, so `Amy` is free while `amy` is online \
             (a room that compares nicknames ignoring case refuses her)",
        );
        amy.chat.assert_eq(
            &[(10, "* Amy joined"), (20, "! nickname amy is taken")],
            "amy's screen: `/nick amy` when she is amy is refused as taken (by her): no \
             `* you are now amy`, and no `* amy is now amy` for the others",
        );
        upper.chat.assert_eq(
            &[],
            "Amy's screen after her welcome: amy's `/nick amy` changed nothing, so nobody is told \
             of a rename",
        );
        finish(&room, [amy, upper]).await;
    });
}

/// contract: "sorted byte by byte (`Zoe` before `amy`)"
/// contract: "(to yourself, if that is you)"
#[test]
fn list_sorts_byte_by_byte_and_a_private_message_to_yourself_is_delivered() {
    testkit::run(|| async {
        let room = room(16);
        let mut amy = Client::join(&room, "amy").await;
        let bob = Client::join(&room, "bob").await;
        let zoe = Client::join(&room, "Zoe").await;
        let dash = Client::join(&room, "-x").await;
        sleep(ms(10)).await;
        amy.type_line("/list").await; // t=10
        sleep(ms(10)).await;
        amy.type_line("/msg amy note to self").await; // t=20
        sleep(ms(10)).await;

        amy.chat.assert_eq(
            &[
                (0, "* bob joined"),
                (0, "* Zoe joined"),
                (0, "* -x joined"),
                (10, "* online: -x, Zoe, amy, bob"),
                (20, "(private) amy: note to self"),
            ],
            "amy's screen: /list sorts the nicknames byte by byte (`-` before digits, digits \
             before capitals, capitals before small letters: `-x, Zoe, amy, bob`), not ignoring \
             case; and a private message to herself is delivered to her, like any other",
        );
        for other in [&bob, &zoe, &dash] {
            let private = other
                .chat_lines()
                .into_iter()
                .filter(|l| l.starts_with("(private)") || l.starts_with("* online"))
                .count();
            assert_eq!(
                private, 0,
                "{}'s screen: amy's /list and her note to herself are for her only",
                other.name
            );
        }
        finish(&room, [amy, bob, zoe, dash]).await;
    });
}

/// contract: "A last line cut short by the client disconnecting still counts as a line."
#[test]
fn a_last_line_cut_short_by_a_disconnect_is_still_delivered_before_the_leave() {
    testkit::run(|| async {
        let room = room(16);
        let alice = Client::join(&room, "alice").await;
        let mut bob = Client::join(&room, "bob").await;
        sleep(ms(10)).await;
        bob.type_raw("see you").await; // t=10: no `\n`...
        sleep(ms(10)).await;
        bob.vanish().await; // t=20: ...and then the connection goes away

        sleep(ms(10)).await;
        alice.chat.assert_eq(
            &[
                (0, "* bob joined"),
                (20, "bob: see you"),
                (20, "* bob left"),
            ],
            "alice's screen: bob typed `see you` without Enter and disconnected: a last line cut \
             short by the disconnect still counts as a line, delivered before his leave notice \
             (a reader that keeps only complete lines loses it)",
        );
        finish(&room, [alice, bob]).await;
    });
}

/// contract: "A member's notices (joined, renamed, left) are room messages from that member, in order with its lines."
#[test]
fn a_members_join_rename_and_leave_notices_come_in_order_with_its_lines() {
    testkit::run(|| async {
        let room = room(16);
        let alice = Client::join(&room, "alice").await;
        sleep(ms(10)).await;
        let mut bob = Client::connect(&room, "bob");
        // t=10: everything in one go, as a client pasting a script would send it.
        bob.type_raw("bob\nfirst\n/nick robert\nsecond\n/quit\nnever sent\n")
            .await;
        sleep(ms(10)).await;

        alice.chat.assert_eq(
            &[
                (10, "* bob joined"),
                (10, "bob: first"),
                (10, "* bob is now robert"),
                (10, "robert: second"),
                (10, "* robert left"),
            ],
            "alice's screen: bob's join, his lines, his rename and his leave, in the order he \
             typed them, and nothing after his /quit. A member's notices are room messages from \
             that member, in order with its lines",
        );
        bob.seen.assert_eq(
            &[
                (10, "* choose a nickname"),
                (10, "* welcome bob"),
                (10, "* you are now robert"),
                (10, "* bye"),
                (10, "(closed)"),
            ],
            "bob's screen: the replies to his lines, in order",
        );
        finish(&room, [alice, bob]).await;
    });
}

/// contract: "From its welcome on, a member receives every room message that the others receive after its `* <nick> joined`, even when its welcome was slow to go out."
#[test]
fn a_member_whose_welcome_is_slow_to_go_out_still_receives_every_message_after_its_join() {
    testkit::run(|| async {
        let room = room(16);
        let mut alice = Client::join(&room, "alice").await;
        sleep(ms(10)).await;
        // 24 bytes of pipe: the prompt (20) fits, the welcome (16) does not, until carol reads.
        let mut carol = Client::connect_with(&room, "carol", 24);
        carol.type_line("carol").await; // t=10
        sleep(ms(10)).await;
        alice.type_line("hello carol").await; // t=20, after `* carol joined`
        sleep(ms(10)).await;
        carol.start_reading(); // t=30
        sleep(ms(10)).await;

        alice.chat.assert_eq(
            &[(10, "* carol joined")],
            "alice's screen: carol joined at t=10ms",
        );
        carol.seen.assert_eq(
            &[
                (30, "* choose a nickname"),
                (30, "* welcome carol"),
                (30, "alice: hello carol"),
            ],
            "carol's screen: alice spoke at t=20ms, after `* carol joined` (t=10ms) but while \
             carol's welcome was still waiting to go out: carol must receive it. A member \
             receives every room message after its join notice — subscribe to the room when \
             the join is announced, not once the welcome has been written",
        );
        finish(&room, [alice, carol]).await;
    });
}

/// A connection that works until told to fail: once `broken` is set every read fails with a
/// reset, once `writes_broken` is set every write fails with a broken pipe.
struct Breakable {
    inner: DuplexStream,
    broken: std::sync::Arc<std::sync::atomic::AtomicBool>,
    writes_broken: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl AsyncRead for Breakable {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        if self.broken.load(std::sync::atomic::Ordering::SeqCst) {
            return std::task::Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Breakable {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        if self.writes_broken.load(std::sync::atomic::Ordering::SeqCst) {
            return std::task::Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A client over a [`Breakable`] connection, reading everything it is sent.
struct BreakableClient {
    handler: JoinHandle<io::Result<()>>,
    input: WriteHalf<DuplexStream>,
    recorder: JoinHandle<()>,
    broken: std::sync::Arc<std::sync::atomic::AtomicBool>,
    writes_broken: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl BreakableClient {
    fn connect(room: &Room) -> Self {
        let (client_end, server_end) = tokio::io::duplex(PIPE);
        let stream = Breakable {
            inner: server_end,
            broken: Default::default(),
            writes_broken: Default::default(),
        };
        let (broken, writes_broken) = (stream.broken.clone(), stream.writes_broken.clone());
        let handler = testkit::spawn(handle_client(stream, room.clone()));
        let (output, input) = tokio::io::split(client_end);
        let recorder = testkit::spawn(record(output, Timeline::new(), Timeline::new()));
        BreakableClient {
            handler,
            input,
            recorder,
            broken,
            writes_broken,
        }
    }

    /// What the handler returned once `failure` happened to its connection (the kind of its
    /// error); it must return within 60s. Stops the client.
    async fn returned_after(self, failure: &str) -> Result<(), io::ErrorKind> {
        let result = match tokio::time::timeout(secs(60), self.handler).await {
            Ok(Ok(result)) => result.map_err(|e| e.kind()),
            Ok(Err(e)) => std::panic::resume_unwind(e.into_panic()),
            Err(_) => panic!(
                "bob's handler was still running 60s after {failure}: a failed read or write \
                 ends the session"
            ),
        };
        drop(self.input);
        self.recorder.abort();
        let _ = self.recorder.await;
        result
    }
}

/// What a handler returned: `Ok`, or the kind of its error.
async fn returned(client: &mut Client) -> Result<(), io::ErrorKind> {
    let (_, handler) = client.handler.take().expect("the client's handler");
    match handler.await {
        Ok(result) => result.map_err(|e| e.kind()),
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// contract: "Returns `Ok(())` when the client quits or disconnects, is closed for breaking a limit, or the room shuts down, and an error only when reading from or writing to the connection fails."
#[test]
fn handle_client_returns_ok_when_its_client_leaves_and_the_error_when_its_connection_fails() {
    testkit::run(|| async {
        let room = limited(8, 3, secs(1));
        let mut quitter = Client::join(&room, "quits").await;
        quitter.type_line("/quit").await;
        let mut gone = Client::join(&room, "gone").await;
        gone.vanish().await;
        let mut long = Client::join(&room, "long").await;
        long.type_line("123456789").await; // 9 bytes, max_line_length is 8
        // Each of those freed its place at once: alice, idle and a third fill the room now.
        let alice = Client::join(&room, "alice").await;
        let mut idle = Client::connect(&room, "idle"); // never chooses: closed at t=1s
        let third = Client::join(&room, "third").await;
        let mut full = Client::connect(&room, "full"); // the 4th: server full
        sleep(ms(10)).await;
        let mut outcomes = vec![
            ("/quit", returned(&mut quitter).await),
            ("a disconnect", returned(&mut gone).await),
            ("a line too long", returned(&mut long).await),
            ("`! server full`", returned(&mut full).await),
        ];
        sleep(secs(1)).await;
        outcomes.push(("no nickname in time", returned(&mut idle).await));
        for (how, result) in outcomes {
            assert_eq!(
                result,
                Ok(()),
                "a client that leaves by {how} is not a failure of its connection: \
                 handle_client must return Ok(())"
            );
        }

        // bob's connection fails: his handler's next read is an error (a reset).
        let mut bob = BreakableClient::connect(&room);
        bob.input.write_all(b"bob\n").await.expect("bob's nickname");
        sleep(ms(10)).await;
        bob.broken.store(true, std::sync::atomic::Ordering::SeqCst);
        bob.input
            .write_all(b"x")
            .await
            .expect("a byte that wakes bob's handler");
        let result = bob
            .returned_after("reading from his connection failed")
            .await;
        assert_eq!(
            result,
            Err(io::ErrorKind::ConnectionReset),
            "reading from bob's connection failed (a reset): handle_client must return that \
             error, not Ok(()) — an error is returned exactly when reading or writing fails"
        );
        let left = alice
            .chat_lines()
            .into_iter()
            .filter(|l| l == "* bob left")
            .count();
        assert_eq!(
            left,
            1,
            "alice's screen: bob, whose read failed, is announced as left once: {:#?}",
            alice.chat_lines()
        );
        finish(&room, [alice, quitter, gone, long, idle, third, full]).await;
    });
}

/// contract: "Every client that joined and then leaves — by `/quit`, by disconnecting, by a failed read or write — is announced as left exactly once."
/// contract: "an error only when reading from or writing to the connection fails"
#[test]
fn a_member_whose_welcome_cannot_be_written_is_announced_as_left_once_and_frees_its_nickname() {
    testkit::run(|| async {
        let room = room(16);
        let alice = Client::join(&room, "alice").await;
        sleep(ms(10)).await;
        // bob's connection takes the prompt, then every write to it fails: so does his welcome.
        let mut bob = BreakableClient::connect(&room);
        sleep(ms(10)).await;
        bob.writes_broken
            .store(true, std::sync::atomic::Ordering::SeqCst);
        bob.input.write_all(b"bob\n").await.expect("bob's nickname"); // t=20
        let result = bob.returned_after("writing his welcome failed").await;
        assert_eq!(
            result,
            Err(io::ErrorKind::BrokenPipe),
            "writing bob's welcome failed (a broken pipe): handle_client must return that error"
        );
        sleep(ms(10)).await;
        let again = Client::join(&room, "bob").await; // t=30
        sleep(ms(10)).await;

        let before: Vec<String> = alice
            .chat
            .millis()
            .into_iter()
            .filter(|(t, _)| *t < 30)
            .map(|(_, line)| line)
            .collect();
        assert!(
            before.is_empty() || before == ["* bob joined", "* bob left"],
            "alice's screen before t=30ms: bob's welcome could not be written, so his session \
             ended there; if he was announced as joined he must be announced as left exactly \
             once (build what announces the leave before writing the welcome): {before:#?}",
        );
        assert_eq!(
            again.seen.millis().get(..2),
            Some(&[row(30, "* choose a nickname"), row(30, "* welcome bob")][..]),
            "the second bob's screen: the first bob's session ended when his welcome could not \
             be written, so the nickname bob is free again",
        );
        finish(&room, [alice, again]).await;
    });
}

/// The screen of a client that did not read while `alice` sent a long line (its handler stuck
/// writing it), then `m1` and `m2`, in a room of `capacity`.
async fn missed_while_stuck(capacity: usize) -> Vec<(Duration, String)> {
    let room = room(capacity);
    let mut alice = Client::join(&room, "alice").await;
    let mut slow = Client::join_not_reading(&room, "slow").await;
    sleep(ms(10)).await;
    // 48 bytes: more than slow's pipe has room for, so slow's handler is stuck writing it.
    alice.type_line(&format!("{:-<40}", "long")).await; // t=10
    sleep(ms(10)).await;
    alice.type_line("m1").await; // t=20: overwritten by m2 before slow can take it
    sleep(ms(10)).await;
    alice.type_line("m2").await; // t=30
    sleep(ms(10)).await;
    slow.start_reading(); // t=40
    sleep(ms(10)).await;
    let screen = slow.chat.entries();
    finish(&room, [alice, slow]).await;
    screen
}

/// contract: "`0` is treated as `1`."
#[test]
fn a_capacity_of_0_is_treated_as_1() {
    testkit::run(|| async {
        let room = std::panic::catch_unwind(|| room(0)).unwrap_or_else(|panic| {
            // A `todo!()` is reported as such; any other panic is the capacity's.
            let text = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("");
            if text.contains("not yet implemented") {
                std::panic::resume_unwind(panic);
            }
            panic!(
                "Room::new panicked on a capacity of 0, which is treated as 1: tokio's broadcast \
                 and mpsc channels panic on a capacity of 0 (use capacity.max(1))"
            )
        });
        let mut alice = Client::join(&room, "alice").await;
        let bob = Client::join(&room, "bob").await;
        sleep(ms(10)).await;
        alice.type_line("/msg bob psst").await; // t=10
        alice.type_line("hello").await;
        sleep(ms(10)).await;
        bob.chat.assert_eq(
            &[(10, "(private) alice: psst"), (10, "alice: hello")],
            "bob's screen in a room of capacity 0: a capacity of 0 is treated as 1, so room and \
             private messages go through (tokio's broadcast and mpsc channels panic on a \
             capacity of 0: use capacity.max(1))",
        );
        finish(&room, [alice, bob]).await;

        let screen = missed_while_stuck(0).await;
        let lines: Vec<&str> = screen.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(
            lines,
            [
                "alice: long------------------------------------",
                "! missed 1 message",
                "alice: m2"
            ],
            "slow's screen in a room of capacity 0, treated as 1: one message waits for a \
             client that is not reading, so m1 is overwritten by m2 and counted as missed"
        );
    });
}

/// contract: "and exactly this many private messages (further ones are refused, and their sender told)"
#[test]
fn exactly_capacity_private_messages_wait_for_a_client_that_is_not_reading() {
    testkit::run(|| async {
        let room = room(4);
        let mut alice = Client::join(&room, "alice").await;
        let mut slow = Client::join_not_reading(&room, "slow").await;
        sleep(ms(10)).await;
        // 48 bytes: more than slow's pipe has room for, so slow's handler is stuck writing it.
        alice.type_line(&format!("{:-<40}", "long")).await; // t=10
        sleep(ms(10)).await;
        for k in 0..6 {
            alice.type_line(&format!("/msg slow p{k}")).await; // t=20..25
            sleep(ms(1)).await;
        }
        sleep(ms(14)).await;
        slow.start_reading(); // t=40
        sleep(ms(10)).await;

        alice.chat.assert_eq(
            &[
                (0, "* slow joined"),
                (24, "! slow is not keeping up, message dropped"),
                (25, "! slow is not keeping up, message dropped"),
            ],
            "alice's screen: slow's handler was stuck writing a room message when alice sent 6 \
             private messages; with a capacity of 4, exactly 4 wait for slow and the 5th and 6th \
             are refused at once (a queue of capacity + 1, or a buffer of the handler's own, \
             keeps more than the room allows)",
        );
        let privates: Vec<String> = slow
            .chat_lines()
            .into_iter()
            .filter(|l| l.starts_with("(private)"))
            .collect();
        assert_eq!(
            privates,
            [
                "(private) alice: p0",
                "(private) alice: p1",
                "(private) alice: p2",
                "(private) alice: p3"
            ],
            "slow's screen once it reads: the 4 private messages that waited, in order"
        );
        finish(&room, [alice, slow]).await;
    });
}

/// contract: "(a `\r` before it counts)"
/// contract: "The longest line a client may send, in bytes, not counting its `\n`"
#[test]
fn a_line_is_measured_in_bytes_with_its_carriage_return() {
    testkit::run(|| async {
        let room = limited(8, 100, secs(600));
        let mut alice = Client::join(&room, "alice").await;
        let mut bob = Client::join(&room, "bob").await;
        let mut carol = Client::join(&room, "carol").await;
        let dave = Client::join(&room, "dave").await;
        sleep(ms(10)).await;
        alice.type_raw("1234567\r\n").await; // t=10: 7 bytes and a `\r`: 8, fine
        sleep(ms(10)).await;
        bob.type_raw("12345678\r\n").await; // t=20: 8 bytes and a `\r`: 9, too long
        sleep(ms(10)).await;
        carol.type_line("ééé").await; // t=30: 3 characters, 6 bytes: fine
        sleep(ms(10)).await;
        carol.type_line("éééé1").await; // t=40: 5 characters, 9 bytes: too long
        sleep(ms(10)).await;

        dave.chat.assert_eq(
            &[
                (10, "alice: 1234567"),
                (20, "* bob left"),
                (30, "carol: ééé"),
                (40, "* carol left"),
            ],
            "dave's screen, max_line_length = 8: the limit counts bytes, not characters (`éééé1` \
             is 5 characters but 9 bytes: too long), and a `\\r` before the `\\n` counts \
             (`12345678\\r` is 9 bytes: too long; `1234567\\r` is 8: fine)",
        );
        for (client, t) in [(&bob, 20), (&carol, 40)] {
            let seen = client.chat.entries();
            let last: Vec<(u64, &str)> = seen
                .iter()
                .rev()
                .take(2)
                .rev()
                .map(|(at, l)| (at.as_millis() as u64, l.as_str()))
                .collect();
            assert_eq!(
                last,
                [(t, "! line too long"), (t, "(closed)")],
                "{}'s screen: told `! line too long` and closed at t={t}ms",
                client.name
            );
        }
        finish(&room, [alice, bob, carol, dave]).await;
    });
}

// ---- instructor only: tests against the reference
//
// A differential check: generated sessions — clients that connect at generated instants, choose
// nicknames (free, taken, differing only in case, invalid, slash commands), talk, rename, send
// private messages (to someone, to no one, to themselves, without a text), list, quit, disconnect
// (with half a line typed), paste several lines at once, type over-long lines (ASCII or `é`, with
// or without a `\r`, at one byte under, at and over the limit, with or without their `\n`), lines
// that are not UTF-8, or sit at the prompt until the nickname deadline; some clients never read
// (their handler gets stuck writing to them and they lag); every capacity from 0, a few line
// lengths, client caps and grace periods, and a second call of shutdown halfway through the grace
// period — replayed with `handle_client` of the learner's crate
// and of the reference, everything on the paused clock, and compared client by client: every
// line each reading client received and its instant, when its connection closed and its handler
// returned.
//
// Where the docs leave an order open, the scenario never asks for it or the judge leaves it open:
// actions are 4 ms apart or more, on multiples of 4 ms, nickname deadlines fall on instants
// ≡ 2 (mod 4) and the shutdown on one ≡ 1 (mod 4), so no two events share an instant (a nickname
// that arrives at the very instant of its deadline "may go either way": it never does here); a
// paste holds room-message lines only, at most `capacity` of them, so a reading client never lags
// and never receives a private message and a room message at one instant (the two kinds are not
// ordered with each other: within an instant, private lines are compared apart from the others);
// whether a client sees others leave as the room shuts down is open, so leave notices at the
// shutdown instant are left out. A client that never reads is observed through the others (what
// they see of it, and of their private messages to it) and by its handler returning within the
// grace period.

use ex05_chat_server_reference as reference;
use std::future::Future;
use std::pin::Pin;
use testkit::differential::proptest::prelude::*;
use testkit::differential::{Check, same_events};

/// What a generated client does at one step.
#[derive(Clone, Debug)]
enum Act {
    /// Types these characters: whole lines end in `\n`; a piece of a line does not.
    Type(String),
    /// Types `oops ` and a byte that is not UTF-8 (`\xff`), with or without the line's `\n`.
    NotUtf8 { newline: bool },
    /// The connection goes away, without `/quit`.
    Vanish,
}

/// A generated session: the room's limits, which clients read, and what happens when.
#[derive(Clone, Debug)]
struct GenChat {
    capacity: usize,
    max_line_length: usize,
    max_clients: usize,
    nickname_timeout: u64,
    grace: u64,
    /// Whether client `i` reads what it is sent (else its pipe holds 64 bytes and it never reads).
    reads: Vec<bool>,
    /// What a reading client `i` types as it connects: `None`, its own nickname `c<i>`; a
    /// nickname others may want too; or `""`, nothing (it sits at the prompt).
    first: Vec<Option<String>>,
    /// (ms since the previous step, client, what it does). A client's first step connects it
    /// instead (and a client that does not read types its own nickname, `slow<i>`, then).
    steps: Vec<(u64, usize, Act)>,
}

/// Nicknames the generated clients try: free or taken, the same but for case, invalid.
const GEN_NICKS: &[&str] = &[
    "ann",
    "bob",
    "Ann",
    "Zed",
    "cy_2",
    "-z",
    "slow0",
    "",
    "a b",
    "seventeen-chars-x",
    "/quit",
    "/list",
    "é",
];

fn gen_nick() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (0usize..6).prop_map(|i| GEN_NICKS[i].to_owned()),
        1 => (6usize..GEN_NICKS.len()).prop_map(|i| GEN_NICKS[i].to_owned()),
    ]
}

/// A line (without its `\n`) that can only produce room messages and replies to its sender.
fn gen_room_line() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec!["hello", "hi there", "é ok", "a: b", "   ", ""])
            .prop_map(str::to_owned),
        2 => gen_nick(),
        2 => gen_nick().prop_map(|n| format!("/nick {n}")),
        1 => (0..5).prop_map(|i| format!("/nick c{i}")),
        1 => Just("/list".to_owned()),
        1 => Just("/quit".to_owned()),
        1 => prop::sample::select(vec!["/dance", "/", "/nick"]).prop_map(str::to_owned),
    ]
}

/// A private message: to someone, to no one online, without a text.
fn gen_private() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            3 => (0..5).prop_map(|i| format!("c{i}")),
            1 => prop::sample::select(vec!["ann", "Ann", "slow0", "slow1", "dee"])
                .prop_map(str::to_owned),
        ],
        prop::sample::select(vec![" hey", " two  words", "  lead", "", "   "]),
    )
        .prop_map(|(to, text)| format!("/msg {to}{text}"))
}

/// A line of `max_line_length` + `delta` bytes (`delta` in -1..=1): ASCII, `é`s (two bytes each)
/// or ending in a `\r`.
fn long_line(max: usize, delta: i64, kind: u8) -> String {
    let bytes = (max as i64 + delta) as usize;
    match kind {
        0 => "x".repeat(bytes),
        1 => format!("{}{}", "é".repeat(bytes / 2), "x".repeat(bytes % 2)),
        _ => format!("{}\r", "y".repeat(bytes - 1)),
    }
}

/// `slow`: the clients that do not read (or every client, if all read).
fn gen_act(max: usize, capacity: usize, slow: Vec<usize>) -> impl Strategy<Value = Act> {
    let paste = prop::collection::vec(gen_room_line(), 2..=capacity.clamp(2, 3));
    let line = |l: String| Act::Type(format!("{l}\n"));
    prop_oneof![
        6 => gen_room_line().prop_map(line),
        4 => gen_private().prop_map(line),
        2 * (capacity >= 2) as u32 => paste.prop_map(|lines| {
            Act::Type(lines.iter().map(|l| format!("{l}\n")).collect())
        }),
        // Private messages only, to one client, several at once: a client that does not read
        // soon refuses them.
        2 => (prop::sample::select(slow), 1..=6usize).prop_map(|(to, n)| {
            Act::Type((0..n).map(|k| format!("/msg slow{to} p{k}\n")).collect())
        }),
        1 => prop::sample::select(vec!["par", "tial ", "é"]).prop_map(|p| Act::Type(p.to_owned())),
        1 => (-1i64..=1, 0u8..3, any::<bool>()).prop_map(move |(delta, kind, newline)| {
            let end = if newline { "\n" } else { "" };
            Act::Type(format!("{}{end}", long_line(max, delta, kind)))
        }),
        1 => any::<bool>().prop_map(|newline| Act::NotUtf8 { newline }),
        1 => Just(Act::Vanish),
    ]
}

fn gen_chats() -> impl Strategy<Value = GenChat> {
    (
        prop::sample::select(vec![0usize, 1, 2, 4, 16]),
        prop::sample::select(vec![16usize, 24, 64]),
        prop::sample::select(vec![2usize, 4, 100]),
        prop::sample::select(vec![102u64, 1002, 30_002]),
        prop::sample::select(vec![0u64, 100, 1000]),
        prop::collection::vec(prop::bool::weighted(0.75), 2..=5),
    )
        .prop_flat_map(
            |(capacity, max_line_length, max_clients, nickname_timeout, grace, reads)| {
                let n = reads.len();
                let mut slow: Vec<usize> = (0..n).filter(|&i| !reads[i]).collect();
                if slow.is_empty() {
                    slow = (0..n).collect();
                }
                let step = (
                    prop::sample::select(vec![4u64, 8, 40, 120]),
                    0..n,
                    gen_act(max_line_length, capacity, slow),
                );
                let first = prop_oneof![
                    5 => Just(None::<String>),
                    3 => prop::sample::select(vec!["ann", "Ann", "Zed", "c0", "bob"]).prop_map(|n| Some(n.to_owned())),
                    1 => Just(Some(String::new())),
                ];
                (
                    Just(reads),
                    prop::collection::vec(first, n),
                    prop::collection::vec(step, 6..=30),
                )
                    .prop_map(move |(reads, first, steps)| GenChat {
                        capacity,
                        max_line_length,
                        max_clients,
                        nickname_timeout,
                        grace,
                        reads,
                        first,
                        steps,
                    })
            },
        )
}

/// A handler's future, from either crate.
type Handler = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

/// One generated client, as the replay drives it.
struct Seat {
    reads: bool,
    input: Option<WriteHalf<DuplexStream>>,
    /// The receiving end of a client that does not read, kept open.
    unread: Option<tokio::io::ReadHalf<DuplexStream>>,
    recorder: Option<JoinHandle<()>>,
    screen: Timeline,
    handler: Option<(Probe, JoinHandle<io::Result<()>>)>,
    result: Option<io::Result<()>>,
}

/// Replays `g`: `connect` runs a handler for a new connection in the room, `shutdown` shuts the
/// room down. Returns what the judge compares (see the section's header).
async fn replay_chat(
    g: GenChat,
    connect: impl Fn(DuplexStream) -> Handler,
    shutdown: impl Fn(),
) -> Vec<(u64, String)> {
    let start = tokio::time::Instant::now();
    let actions = Timeline::new();
    let mut seats: Vec<Option<Seat>> = g.reads.iter().map(|_| None).collect();
    let mut t = 0;
    for (gap, who, act) in &g.steps {
        t += gap;
        tokio::time::sleep_until(start + ms(t)).await;
        let Some(seat) = seats[*who].as_mut() else {
            let nick = match &g.first[*who] {
                None => Some(format!("c{who}")),
                Some(n) if n.is_empty() => None,
                Some(n) => Some(n.clone()),
            };
            let reads = g.reads[*who];
            seats[*who] = Some(connect_seat(*who, reads, nick, &connect, &actions).await);
            continue;
        };
        let Some(input) = seat.input.as_mut() else {
            continue; // gone
        };
        if !seat.reads && !matches!(act, Act::Vanish) {
            continue; // a client that does not read only ever leaves
        }
        actions.record(format!("c{who}: {act:?}"));
        let bytes: Vec<u8> = match act {
            Act::Type(text) => text.as_bytes().to_vec(),
            Act::NotUtf8 { newline } => {
                let mut bytes = b"oops \xff".to_vec();
                if *newline {
                    bytes.push(b'\n');
                }
                bytes
            }
            Act::Vanish => {
                vanish_seat(seat).await;
                continue;
            }
        };
        // The server may have closed the connection already: then the bytes go nowhere.
        let _ = input.write_all(&bytes).await;
    }
    let shutdown_at = t + 5;
    tokio::time::sleep_until(start + ms(shutdown_at)).await;
    actions.record("the room shuts down");
    shutdown();
    let end = shutdown_at + g.grace;
    // A second call, halfway through the grace period, changes nothing.
    tokio::time::sleep_until(start + ms(shutdown_at + g.grace / 2)).await;
    shutdown();
    tokio::time::sleep_until(start + ms(end + 10)).await;
    let mut observed = actions.millis();
    for (i, seat) in seats.iter_mut().enumerate() {
        if let Some(seat) = seat {
            observed.extend(observe_seat(i, seat, shutdown_at, end).await);
        }
    }
    observed.sort_by_key(|(t, _)| *t);
    observed
}

async fn connect_seat(
    i: usize,
    reads: bool,
    nick: Option<String>,
    connect: &impl Fn(DuplexStream) -> Handler,
    actions: &Timeline,
) -> Seat {
    let (client_end, server_end) = tokio::io::duplex(if reads { PIPE } else { TINY });
    let (output, mut input) = tokio::io::split(client_end);
    let probe = Probe::new(format!("c{i}'s handler"));
    let handler = testkit::spawn(probe.wrap(connect(server_end)));
    let screen = Timeline::new();
    let mut seat = Seat {
        reads,
        input: None,
        unread: None,
        recorder: None,
        screen: screen.clone(),
        handler: Some((probe, handler)),
        result: None,
    };
    if reads {
        seat.recorder = Some(testkit::spawn(record(output, screen, Timeline::new())));
        match nick {
            Some(nick) => {
                actions.record(format!("c{i} connects and types {nick}"));
                let _ = input.write_all(format!("{nick}\n").as_bytes()).await;
            }
            None => actions.record(format!("c{i} connects")),
        }
    } else {
        actions.record(format!("c{i} connects, types slow{i} and never reads"));
        let _ = input.write_all(format!("slow{i}\n").as_bytes()).await;
        seat.unread = Some(output);
    }
    seat.input = Some(input);
    seat
}

async fn vanish_seat(seat: &mut Seat) {
    if let Some(recorder) = seat.recorder.take() {
        recorder.abort();
        let _ = recorder.await;
    }
    seat.input = None;
    seat.unread = None;
}

/// What the judge compares of client `i`: a reading client's screen, within each instant the
/// private lines after the others (their order with each other is open), without the leave
/// notices of the shutdown instant; when its handler returned. Of a client that does not read:
/// whether its handler returned by `end`, the end of the grace period.
async fn observe_seat(i: usize, seat: &mut Seat, shutdown_at: u64, end: u64) -> Vec<(u64, String)> {
    let (probe, handler) = seat.handler.take().expect("every seat has a handler");
    let returned = probe.completed_at().map(|t| t.as_millis() as u64);
    if returned.is_some() {
        seat.result = Some(
            handler
                .await
                .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic())),
        );
    } else {
        handler.abort();
        let _ = handler.await;
    }
    vanish_seat(seat).await;
    let mut rows = Vec::new();
    if !seat.reads {
        let verdict = match returned {
            Some(t) if t <= end => "returned within the grace period",
            _ => "was still running after the grace period",
        };
        rows.push((end, format!("c{i}'s handler {verdict}")));
        return rows;
    }
    let mut screen: Vec<(u64, String)> = seat
        .screen
        .millis()
        .into_iter()
        .filter(|(t, l)| !(*t == shutdown_at && l.starts_with("* ") && l.ends_with(" left")))
        .collect();
    screen.sort_by_key(|(t, l)| (*t, l.starts_with("(private) ")));
    rows.extend(screen.into_iter().map(|(t, l)| (t, format!("c{i} ← {l}"))));
    let how = match &seat.result {
        Some(Ok(())) => "Ok(())".to_owned(),
        Some(Err(_)) => "an error".to_owned(),
        None => "nothing: still running after the grace period".to_owned(),
    };
    let at = returned.unwrap_or(end);
    rows.push((at, format!("c{i}'s handler returns {how}")));
    rows
}

macro_rules! replay_session {
    ($krate:ident) => {
        |g: GenChat| -> Pin<Box<dyn Future<Output = Vec<(u64, String)>>>> {
            Box::pin(async move {
                let room = $krate::Room::new($krate::Config {
                    capacity: g.capacity,
                    grace: ms(g.grace),
                    max_line_length: g.max_line_length,
                    max_clients: g.max_clients,
                    nickname_timeout: ms(g.nickname_timeout),
                });
                let handlers = room.clone();
                let connect = move |stream: DuplexStream| -> Handler {
                    Box::pin($krate::handle_client(stream, handlers.clone()))
                };
                replay_chat(g, connect, || room.shutdown()).await
            })
        }
    };
}

/// contract: "Until a nickname is accepted every line (even a blank one, or one starting with `/`) is a nickname attempt"
/// contract: "Room messages from one sender reach every receiver complete and in the order they were sent, however the bytes arrive"
/// contract: "A member's notices (joined, renamed, left) are room messages from that member, in order with its lines."
/// contract: "A line of exactly `max_line_length` bytes is fine; one byte more is refused as soon as it has arrived, without waiting for the line's end."
/// contract: "The nickname deadline is `nickname_timeout` after connecting, however many attempts were made: the client is told and closed at that instant."
/// contract: "A client counts against `max_clients` from the moment its handler starts until it returns"
/// contract: "A client that stops reading never delays anyone else."
/// contract: "Private messages wait for it up to `capacity`; beyond that they are refused and the sender is told."
/// contract: "Every client that joined and then leaves — by `/quit`, by disconnecting, by a failed read or write — is announced as left exactly once."
/// contract: "the handler returns at most `grace` after the shutdown started, whatever the client does"
/// contract: "A last line cut short by the client disconnecting still counts as a line."
/// contract: "sorted byte by byte (`Zoe` before `amy`)"
/// contract: "Calling it again changes nothing."
#[test]
fn sessions_match_the_reference_on_generated_clients_lines_and_limits() {
    Check::new("sessions_match_the_reference_on_generated_clients_lines_and_limits")
        .cases(200)
        .run(
            gen_chats(),
            replay_session!(ex05_chat_server),
            replay_session!(reference),
            |_, reference, yours| {
                same_events(
                    "what each client received and when, when its connection closed and its \
                     handler returned",
                    reference,
                    yours,
                )
            },
        );
}

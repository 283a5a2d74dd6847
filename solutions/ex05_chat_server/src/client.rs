//! One client's connection: choose a nickname, then chat until the client quits, vanishes, or
//! the room shuts down.
//!
//! The handler is one task with one `select!` loop over everything that can happen to it: a line
//! from the client, a room message, a private message, shutdown. Each branch is *cancel safe*
//! (losing the race takes nothing away), which is what lets the loop wait on all four at once.

use crate::room::{Member, NickError, PrivateError, Room};
use futures::StreamExt;
use std::io;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{Instant, sleep_until};
use tokio_util::codec::{FramedRead, LinesCodec, LinesCodecError};

/// Runs one client's session over `stream` (a TCP connection, or anything else that reads and
/// writes bytes) until the client quits or disconnects, or the room shuts down.
///
/// The protocol is lines of UTF-8 text ending in `\n` (a `\r\n` from the client is fine too). A
/// last line cut short by the client disconnecting still counts as a line.
///
/// What the server sends, exactly, line by line:
///
/// * On connect: `* choose a nickname` to the client.
/// * On connect with `max_clients` already connected: `! server full` to the client, then the
///   connection is closed.
/// * A nickname that is free: `* welcome <nick>` to the client and `* <nick> joined` to everyone
///   else.
/// * A nickname that is taken: `! nickname <nick> is taken` to the client.
/// * A nickname that is not 1–16 ASCII letters, digits, `-` or `_`: `! invalid nickname` to the
///   client.
/// * Any other line from a member: `<nick>: <line>` to everyone else.
/// * `/nick <new>`: `* you are now <new>` to the client (or one of the two nickname errors
///   above) and `* <old> is now <new>` to everyone else.
/// * `/list`: `* online: <nick>, <nick>, …` to the client, naming everyone who has joined
///   (the client too), sorted byte by byte (`Zoe` before `amy`).
/// * `/msg <nick> <text>`: `(private) <sender>: <text>` to `<nick>` only (to yourself, if that
///   is you).
/// * `/msg` to no one online: `! no such user: <nick>` to the client.
/// * `/msg` while `<nick>` is not reading: `! <nick> is not keeping up, message dropped` to the
///   client.
/// * `/msg` without a text: `! usage: /msg <nick> <text>` to the client.
/// * `/quit`: `* bye` to the client, then the connection is closed.
/// * Any other `/…` from a member: `! unknown command: /<command>` to the client.
/// * A member quitting or disconnecting: `* <nick> left` to everyone else.
/// * Having missed room messages: `! missed <n> messages` to the client (`! missed 1 message`
///   for one).
/// * A line longer than `max_line_length`: `! line too long` to the client, then the connection
///   is closed.
/// * A line that is not UTF-8, once its `\n` has arrived: `! invalid UTF-8` to the client, then
///   the connection is closed.
/// * No nickname accepted `nickname_timeout` after connecting: `! no nickname chosen in time` to
///   the client, then the connection is closed.
/// * Shutdown: `* server shutting down` to every client, then the connection is closed.
///
/// Until a nickname is accepted every line (even a blank one, or one starting with `/`) is a
/// nickname attempt, and the client receives nothing but the replies to its attempts: no room
/// messages, no notices. Once joined, a blank line is ignored. Nicknames are case-sensitive
/// (`Amy` and `amy` are two), and a member's own nickname counts as taken for its `/nick`.
///
/// The limits (see [`Config`](crate::Config)), each exact:
///
/// * A client counts against `max_clients` from the moment its handler starts until it returns;
///   a client refused as `! server full` does not count.
/// * A line of exactly `max_line_length` bytes is fine; one byte more is refused as soon as it
///   has arrived, without waiting for the line's end. Before joining or after, the connection is
///   then closed (a member is announced as left, once).
/// * The nickname deadline is `nickname_timeout` after connecting, however many attempts were
///   made: the client is told and closed at that instant. A nickname accepted before it is in
///   time (one that arrives at that very instant may go either way).
///
/// The guarantees:
///
/// * Nobody receives their own room messages back. Room messages from one sender reach every
///   receiver complete and in the order they were sent, however the bytes arrive; so do private
///   messages from one sender to one recipient (the two kinds are not ordered with each other).
///   A member's notices (joined, renamed, left) are room messages from that member, in order
///   with its lines.
/// * From its welcome on, a member receives every room message that the others receive after
///   its `* <nick> joined`, even when its welcome was slow to go out.
/// * A client that stops reading never delays anyone else. Room messages wait for it up to
///   `capacity` (at least); beyond that it misses some, and is told `! missed <n> messages` before
///   the next room message it receives — every message is either delivered or counted. Private
///   messages wait for it up to `capacity`; beyond that they are refused and the sender is told.
///   It stays connected.
/// * Every client that joined and then leaves — by `/quit`, by disconnecting, by a failed read
///   or write — is announced as left exactly once. A client that leaves before joining is never
///   announced.
/// * On shutdown every client is sent `* server shutting down` and its connection closed. A
///   client that is not reading gets at most the room's `grace` to take the rest of the line it
///   is being sent and the notice: the handler returns at most `grace` after the shutdown
///   started, whatever the client does. A client that connects after shutdown is told at once.
///
/// Returns `Ok(())` when the client quits or disconnects, is closed for breaking a limit, or the
/// room shuts down, and an error only when reading from or writing to the connection fails.
/// Never blocks the thread: every wait is an `.await`.
pub async fn handle_client<S>(stream: S, room: Room) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // The permit is held until the handler returns (or is dropped at the end of the grace
    // period): that is how long this client counts against `max_clients`.
    let Some(_slot) = room.admit() else {
        let mut stream = stream;
        // A fresh connection's buffer is empty: this short line goes out at once.
        return stream.write_all(b"! server full\n").await;
    };
    let mut session = Session::new(stream, room.clone());
    tokio::select! {
        // `biased`: the session first, so that a client that reads gets its goodbye even when
        // the grace period is zero (both branches are ready at the instant of the shutdown).
        biased;
        result = session.run() => result,
        // `grace` after shutdown the handler is done, whatever its client does. Dropping `run`
        // here drops whatever it was waiting on (typically a write to a client that is not
        // reading) and with it the member guard, which tells the room this client left.
        () = room.grace_over() => Ok(()),
    }
}

// The connection, split so that reading and writing are separate borrows, and the room.
struct Session<S> {
    /// `FramedRead::next` is cancel safe: a line half-read when another branch wins stays in
    /// the buffer for the next call. (`read_line` into a `String` is not: it would lose the
    /// half.) `LinesCodec` bounds that buffer: a line longer than the limit is an error as soon
    /// as the limit is passed, so no client can make it grow without end.
    lines: FramedRead<ReadHalf<S>, LinesCodec>,
    writer: WriteHalf<S>,
    room: Room,
    /// When a client that has not joined yet is told it took too long.
    nickname_deadline: Instant,
}

// What came next from the client.
enum Input {
    Line(String),
    // The client hung up.
    Closed,
    // A line longer than `max_line_length`, or not UTF-8: the client is told, then closed.
    Refused(&'static str),
}

// The next line from the client. Cancel safe, like `FramedRead::next`.
async fn read<S: AsyncRead>(lines: &mut FramedRead<ReadHalf<S>, LinesCodec>) -> io::Result<Input> {
    Ok(match lines.next().await {
        None => Input::Closed,
        Some(Ok(line)) => Input::Line(line),
        Some(Err(LinesCodecError::MaxLineLengthExceeded)) => Input::Refused("! line too long"),
        Some(Err(LinesCodecError::Io(e))) if e.kind() == io::ErrorKind::InvalidData => {
            Input::Refused("! invalid UTF-8")
        }
        Some(Err(LinesCodecError::Io(e))) => return Err(e),
    })
}

// What the client asked for, as far as the loop is concerned.
#[derive(PartialEq)]
enum Flow {
    Continue,
    Quit,
}

// A member of the room for exactly as long as this value lives: dropping it, however the
// handler ends (`/quit`, end of input, a failed write, `?`, or the whole future being dropped at
// the end of the grace period), announces the leave — once, because a value is dropped once.
struct Joined {
    room: Room,
    member: Member,
}

impl Drop for Joined {
    fn drop(&mut self) {
        self.room.leave(&self.member);
    }
}

impl<S: AsyncRead + AsyncWrite> Session<S> {
    fn new(stream: S, room: Room) -> Self {
        let (reader, writer) = tokio::io::split(stream);
        let config = room.config();
        let codec = LinesCodec::new_with_max_length(config.max_line_length);
        Self {
            lines: FramedRead::new(reader, codec),
            writer,
            nickname_deadline: Instant::now() + config.nickname_timeout,
            room,
        }
    }

    /// The whole session: greeting, nickname, chat.
    async fn run(&mut self) -> std::io::Result<()> {
        self.send("* choose a nickname").await?;
        match self.log_in().await? {
            Some(mut me) => self.chat(&mut me).await,
            None => Ok(()),
        }
    }

    /// Asks for a nickname until one is free. `None`: the client left, or the room is closing.
    async fn log_in(&mut self) -> std::io::Result<Option<Joined>> {
        loop {
            let nick = tokio::select! {
                biased;
                _ = self.room.shutting_down() => {
                    self.send(SHUTTING_DOWN).await?;
                    return Ok(None);
                }
                input = read(&mut self.lines) => match input? {
                    Input::Line(line) => line,
                    Input::Closed => return Ok(None),
                    Input::Refused(why) => {
                        self.send(why).await?;
                        return Ok(None);
                    }
                },
                // The deadline counts from connecting, not from the last attempt.
                () = sleep_until(self.nickname_deadline) => {
                    self.send("! no nickname chosen in time").await?;
                    return Ok(None);
                }
            };
            match self.room.join(&nick) {
                Ok(member) => {
                    // Guard first: if the welcome cannot be written, the leave is still announced.
                    let me = Joined {
                        room: self.room.clone(),
                        member,
                    };
                    self.send(&format!("* welcome {nick}")).await?;
                    return Ok(Some(me));
                }
                Err(e) => self.send(&nick_error(&nick, e)).await?,
            }
        }
    }

    /// The chat loop.
    async fn chat(&mut self, me: &mut Joined) -> std::io::Result<()> {
        loop {
            // `biased`: shutdown wins over everything, and the client's own input over what it
            // receives. Every branch is cancel safe, so the losers lose nothing.
            tokio::select! {
                biased;
                _ = self.room.shutting_down() => return self.send(SHUTTING_DOWN).await,
                input = read(&mut self.lines) => match input? {
                    Input::Line(line) => {
                        if self.command(me, &line).await? == Flow::Quit {
                            return Ok(());
                        }
                    }
                    // The client hung up. Returning drops `me`, which announces the leave.
                    Input::Closed => return Ok(()),
                    Input::Refused(why) => return self.send(why).await,
                },
                Some(line) = me.member.private.recv() => self.send(&line).await?,
                received = me.member.room.recv() => match received {
                    Ok(message) if message.is_for(me.member.id) => self.send(&message.line).await?,
                    Ok(_) => {} // our own words: not echoed back
                    // We fell behind and the channel dropped our oldest messages. Not an error:
                    // say so, and carry on with the ones still there.
                    Err(RecvError::Lagged(missed)) => self.send(&missed_notice(missed)).await?,
                    // Only if the room were gone; it lives as long as this handler.
                    Err(RecvError::Closed) => return Ok(()),
                },
            }
        }
    }

    /// One line from a member: a command, or something to say.
    async fn command(&mut self, me: &mut Joined, line: &str) -> std::io::Result<Flow> {
        let Some(command) = line.strip_prefix('/') else {
            if !line.trim().is_empty() {
                self.room.say(&me.member, line);
            }
            return Ok(Flow::Continue);
        };
        let (name, args) = command.split_once(' ').unwrap_or((command, ""));
        let reply = match name {
            "quit" => {
                self.send("* bye").await?;
                return Ok(Flow::Quit);
            }
            "list" => format!("* online: {}", self.room.list().join(", ")),
            "nick" => {
                let new = args.trim();
                match self.room.rename(&mut me.member, new) {
                    Ok(()) => format!("* you are now {new}"),
                    Err(e) => nick_error(new, e),
                }
            }
            "msg" => match args.trim_start().split_once(' ') {
                Some((to, text)) if !text.trim().is_empty() => {
                    match self.room.send_private(&me.member, to, text.trim_start()) {
                        // Like room messages, a private message is not echoed to its sender.
                        Ok(()) => return Ok(Flow::Continue),
                        Err(PrivateError::NoSuchUser) => format!("! no such user: {to}"),
                        Err(PrivateError::NotKeepingUp) => {
                            format!("! {to} is not keeping up, message dropped")
                        }
                    }
                }
                _ => "! usage: /msg <nick> <text>".to_owned(),
            },
            _ => format!("! unknown command: /{name}"),
        };
        self.send(&reply).await?;
        Ok(Flow::Continue)
    }

    /// Writes one line to the client. This is the only place the handler waits on its client,
    /// and only its own task waits: a client that stops reading stalls its own handler here,
    /// while the room keeps going and the broadcast channel drops what this client cannot take.
    async fn send(&mut self, line: &str) -> std::io::Result<()> {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        self.writer.write_all(&bytes).await
    }
}

const SHUTTING_DOWN: &str = "* server shutting down";

fn nick_error(nick: &str, error: NickError) -> String {
    match error {
        NickError::Invalid => "! invalid nickname".to_owned(),
        NickError::Taken => format!("! nickname {nick} is taken"),
    }
}

fn missed_notice(missed: u64) -> String {
    let plural = if missed == 1 { "" } else { "s" };
    format!("! missed {missed} message{plural}")
}

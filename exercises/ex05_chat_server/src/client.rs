//! One client's connection: choose a nickname, then chat until the client quits, vanishes, or
//! the room shuts down.

use crate::room::Room;
use tokio::io::{AsyncRead, AsyncWrite};

/// Runs one client's session over `stream` (a TCP connection, or anything else that reads and
/// writes bytes) until the client quits or disconnects, or the room shuts down.
///
/// The protocol is lines of UTF-8 text ending in `\n` (a `\r\n` from the client is fine too).
/// What the server sends, exactly:
///
/// | when | to whom | line |
/// |---|---|---|
/// | on connect, with `max_clients` already connected | the client | `! server full`, then the connection is closed |
/// | on connect | the client | `* choose a nickname` |
/// | a nickname is free | the client | `* welcome <nick>` |
/// | | everyone else | `* <nick> joined` |
/// | a nickname is taken | the client | `! nickname <nick> is taken` |
/// | a nickname is not 1–16 ASCII letters, digits, `-` or `_` | the client | `! invalid nickname` |
/// | any other line | everyone else | `<nick>: <line>` |
/// | `/nick <new>` | the client | `* you are now <new>` (or one of the two errors above) |
/// | | everyone else | `* <old> is now <new>` |
/// | `/list` | the client | `* online: <nick>, <nick>, …` (everyone, sorted) |
/// | `/msg <nick> <text>` | `<nick>` only | `(private) <sender>: <text>` |
/// | `/msg` to no one online | the client | `! no such user: <nick>` |
/// | `/msg` while `<nick>` is not reading | the client | `! <nick> is not keeping up, message dropped` |
/// | `/msg` without a text | the client | `! usage: /msg <nick> <text>` |
/// | `/quit` | the client | `* bye`, then the connection is closed |
/// | any other `/…` | the client | `! unknown command: /<command>` |
/// | quitting or disconnecting | everyone else | `* <nick> left` |
/// | having missed room messages | the client | `! missed <n> messages` (`! missed 1 message`) |
/// | a line longer than `max_line_length` | the client | `! line too long`, then the connection is closed |
/// | a line that is not UTF-8 | the client | `! invalid UTF-8`, then the connection is closed |
/// | no nickname accepted `nickname_timeout` after connecting | the client | `! no nickname chosen in time`, then the connection is closed |
/// | shutdown | every client | `* server shutting down`, then the connection is closed |
///
/// Until a nickname is accepted every line (even a blank one, or one starting with `/`) is a
/// nickname attempt, and the client receives nothing but the replies to its attempts: no room
/// messages, no notices. Once joined, a blank line is ignored.
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
/// room shuts down, and an error only when reading from or writing to the connection fails. Never blocks the thread: every
/// wait is an `.await`.
pub async fn handle_client<S>(stream: S, room: Room) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    todo!("greet the client, ask for a nickname, then run the select! loop until it leaves")
}

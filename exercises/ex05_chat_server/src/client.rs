//! One client's connection: choose a nickname, then chat until the client quits, vanishes, or
//! the room shuts down.

use crate::room::Room;
use tokio::io::{AsyncRead, AsyncWrite};

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
    todo!("greet the client, ask for a nickname, then run the select! loop until it leaves")
}

//! The room: who is online, and the channels that carry lines between them.

use std::time::Duration;

/// The room's limits: how much it keeps for a client that is not reading, how long shutdown
/// may take, and what a client may send or cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// How many messages may wait for one client that is not reading: at least this many room
    /// messages (beyond that, some are dropped for that client, which is told how many it
    /// missed) and exactly this many private messages (further ones are refused, and their
    /// sender told). `0` is treated as `1`.
    pub capacity: usize,
    /// Once shutdown starts, how long a client that is not reading may keep its handler waiting
    /// (to take the rest of a line, or the goodbye) before its connection is closed anyway.
    pub grace: Duration,
    /// The longest line a client may send, in bytes, not counting its `\n` (a `\r` before it
    /// counts). A longer line is answered `! line too long` and the connection closed, as soon
    /// as more than this many bytes of it have arrived: one client's line never costs more.
    pub max_line_length: usize,
    /// The most clients connected at once, joined or still choosing a nickname. One more is
    /// sent `! server full` and closed at once.
    pub max_clients: usize,
    /// How long a client may take, from connecting, to have a nickname accepted. Then it is
    /// sent `! no nickname chosen in time` and closed.
    pub nickname_timeout: Duration,
}

impl Default for Config {
    /// 64 messages, 2 seconds of grace, lines up to 1 KiB, 100 clients, 30 seconds to choose a
    /// nickname.
    fn default() -> Self {
        Self {
            capacity: 64,
            grace: Duration::from_secs(2),
            max_line_length: 1024,
            max_clients: 100,
            nickname_timeout: Duration::from_secs(30),
        }
    }
}

/// A chat room: the state every client handler shares. Every clone is the same room.
#[derive(Clone)]
pub struct Room {
    // Add the fields you need, behind an `Arc` so that every clone is the same room:
    // - a `broadcast::Sender` for room messages (each member subscribes a receiver on joining);
    // - who is online: nickname → an id and the `mpsc::Sender` of that member's private queue
    //   (a `std::sync::Mutex` is fine, as long as it is never held across an `.await`);
    // - the shutdown signal (a `watch` channel, or a `tokio_util` `CancellationToken`).
}

impl Room {
    /// An empty, open room.
    pub fn new(config: Config) -> Self {
        todo!("create an empty, open room")
    }

    /// Starts shutting the room down: every handler tells its client `* server shutting down`,
    /// closes the connection and returns (a client that is not reading gets at most `grace` to
    /// take the notice), and [`serve`](crate::serve) stops accepting and returns once every
    /// handler has. Calling it again changes nothing.
    pub fn shutdown(&self) {
        todo!("signal every handler (and serve) that the room is closing")
    }

    // Add what your handler needs: join, rename, leave, say, list, send a private message, wait
    // for the shutdown... Messages are told apart by who sent them (an id, not a nickname: that
    // can change), so that nobody receives their own words back.
}

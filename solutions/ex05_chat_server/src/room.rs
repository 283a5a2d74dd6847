//! The room: who is online, and the channels that carry lines between them.
//!
//! * **Room messages** (chat, join, leave, rename notices) go through one `broadcast` channel:
//!   every member holds a receiver, and a message is stored once for all of them. The channel
//!   keeps at most `capacity` messages; a receiver that falls further behind loses the oldest and
//!   learns how many (`RecvError::Lagged`). So a member who stops reading costs a bounded amount
//!   of memory and never slows the sender down.
//! * **Private messages** go through the recipient's own bounded `mpsc` queue, so no one else
//!   ever holds them; when that queue is full the sender is told instead of waiting.
//! * **Shutdown** is a `watch` channel: every handler can look at any moment whether the room is
//!   closing, and until when it may still try to say goodbye.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast, mpsc, watch};
use tokio::time::Instant;

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
    shared: Arc<Shared>,
}

// Everything behind the `Arc`. Only the registry needs a lock, and it is a plain
// `std::sync::Mutex`: it is never held across an `.await`, so it can never block the executor.
struct Shared {
    config: Config,
    /// One sender for the whole room; each member subscribes a receiver when it joins.
    room: broadcast::Sender<Arc<RoomMessage>>,
    registry: Mutex<Registry>,
    /// `None` while the room is open; once shutdown starts, the instant the grace period ends.
    shutdown: watch::Sender<Option<Instant>>,
    /// A permit per connected client: `max_clients` of them.
    slots: Arc<Semaphore>,
}

// Who is online.
#[derive(Default)]
struct Registry {
    /// Nickname → that member's id and the sending end of its private queue.
    members: HashMap<String, Mailbox>,
    next_id: ClientId,
}

struct Mailbox {
    id: ClientId,
    private: mpsc::Sender<String>,
}

// Members are told apart by id, not by nickname: a nickname can change, or be taken by someone
// else the moment its owner leaves.
pub(crate) type ClientId = u64;

// One line for the room, already formatted, and who it comes from.
pub(crate) struct RoomMessage {
    pub(crate) from: ClientId,
    pub(crate) line: String,
}

impl RoomMessage {
    /// Whether the member `id` should see this message: everyone but its sender does.
    pub(crate) fn is_for(&self, id: ClientId) -> bool {
        self.from != id
    }
}

// What a handler needs once its client has joined: who it is, and its two queues.
pub(crate) struct Member {
    pub(crate) id: ClientId,
    pub(crate) nick: String,
    pub(crate) room: broadcast::Receiver<Arc<RoomMessage>>,
    pub(crate) private: mpsc::Receiver<String>,
}

// Why a nickname was refused.
pub(crate) enum NickError {
    Invalid,
    Taken,
}

// Why a private message was not delivered.
pub(crate) enum PrivateError {
    NoSuchUser,
    // The recipient's private queue is full: it is not reading.
    NotKeepingUp,
}

impl Room {
    /// An empty, open room.
    pub fn new(config: Config) -> Self {
        let capacity = config.capacity.max(1);
        // The room keeps no receiver of its own: members subscribe when they join, and a message
        // sent while the room is empty is simply dropped.
        let (room, _) = broadcast::channel(capacity);
        let (shutdown, _) = watch::channel(None);
        Self {
            shared: Arc::new(Shared {
                config: Config {
                    capacity,
                    ..config.clone()
                },
                room,
                registry: Mutex::default(),
                shutdown,
                slots: Arc::new(Semaphore::new(config.max_clients)),
            }),
        }
    }

    /// Starts shutting the room down: every handler tells its client `* server shutting down`,
    /// closes the connection and returns (a client that is not reading gets at most `grace` to
    /// take the notice), and [`serve`](crate::serve) stops accepting and returns once every
    /// handler has. Calling it again changes nothing.
    pub fn shutdown(&self) {
        let deadline = Instant::now() + self.shared.config.grace;
        // Only the first call sets the deadline: a second one must not push it back.
        self.shared.shutdown.send_if_modified(|state| {
            let first = state.is_none();
            if first {
                *state = Some(deadline);
            }
            first
        });
    }

    // --- what the handlers use ------------------------------------------------------------------

    // A place for one more client, held for as long as its handler runs; `None` when the room
    // has `max_clients` already. Never waits: a full room says so at once.
    pub(crate) fn admit(&self) -> Option<OwnedSemaphorePermit> {
        self.shared.slots.clone().try_acquire_owned().ok()
    }

    pub(crate) fn config(&self) -> &Config {
        &self.shared.config
    }

    // Adds a member called `nick` and tells everyone else.
    pub(crate) fn join(&self, nick: &str) -> Result<Member, NickError> {
        check(nick)?;
        let mut registry = self.registry();
        if registry.members.contains_key(nick) {
            return Err(NickError::Taken);
        }
        let id = registry.next_id;
        registry.next_id += 1;
        let (sender, private) = mpsc::channel(self.shared.config.capacity);
        // Subscribe before announcing: the new member must receive every room message sent from
        // now on (the notice of its own join it will skip, being its sender).
        let room = self.shared.room.subscribe();
        registry.members.insert(
            nick.to_owned(),
            Mailbox {
                id,
                private: sender,
            },
        );
        // Announcing while the registry is locked keeps notices in the same order as the changes
        // they report, even on a multi-threaded runtime.
        self.publish(id, format!("* {nick} joined"));
        Ok(Member {
            id,
            nick: nick.to_owned(),
            room,
            private,
        })
    }

    // Renames `member` to `new` and tells everyone else.
    pub(crate) fn rename(&self, member: &mut Member, new: &str) -> Result<(), NickError> {
        check(new)?;
        let mut registry = self.registry();
        if registry.members.contains_key(new) {
            return Err(NickError::Taken);
        }
        if let Some(mailbox) = registry.members.remove(&member.nick) {
            registry.members.insert(new.to_owned(), mailbox);
        }
        self.publish(member.id, format!("* {} is now {new}", member.nick));
        member.nick = new.to_owned();
        Ok(())
    }

    // Removes `member` and tells everyone else. Called exactly once per member, by the guard
    // that owns it (see `client.rs`).
    pub(crate) fn leave(&self, member: &Member) {
        let mut registry = self.registry();
        if registry
            .members
            .get(&member.nick)
            .is_some_and(|mailbox| mailbox.id == member.id)
        {
            registry.members.remove(&member.nick);
        }
        self.publish(member.id, format!("* {} left", member.nick));
    }

    // A chat line from `member` to everyone else.
    pub(crate) fn say(&self, member: &Member, text: &str) {
        self.publish(member.id, format!("{}: {text}", member.nick));
    }

    // Every nickname online, sorted.
    pub(crate) fn list(&self) -> Vec<String> {
        let mut nicks: Vec<String> = self.registry().members.keys().cloned().collect();
        nicks.sort();
        nicks
    }

    // Puts a private message in `to`'s own queue, or says why not. Never waits: a recipient
    // that is not reading must not hold up the sender.
    pub(crate) fn send_private(
        &self,
        from: &Member,
        to: &str,
        text: &str,
    ) -> Result<(), PrivateError> {
        let registry = self.registry();
        let mailbox = registry.members.get(to).ok_or(PrivateError::NoSuchUser)?;
        let line = format!("(private) {}: {text}", from.nick);
        mailbox.private.try_send(line).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => PrivateError::NotKeepingUp,
            // Its handler is on its way out; it is as good as gone.
            mpsc::error::TrySendError::Closed(_) => PrivateError::NoSuchUser,
        })
    }

    // Completes once shutdown has started (at once if it already has), with the instant the
    // grace period ends. Cancel safe: it can be a branch of every `select!` loop.
    pub(crate) async fn shutting_down(&self) -> Instant {
        // `wait_for` looks at the current value first, so a handler that starts after the
        // shutdown sees it immediately, and none can miss it.
        let mut state = self.shared.shutdown.subscribe();
        let deadline = state.wait_for(Option::is_some).await.ok().and_then(|s| *s);
        // The sender lives in `self`, so the channel cannot close while we wait on it.
        deadline.expect("the room's shutdown channel outlives its handlers")
    }

    // Completes when the grace period after shutdown is over.
    pub(crate) async fn grace_over(&self) {
        let deadline = self.shutting_down().await;
        tokio::time::sleep_until(deadline).await;
    }

    fn publish(&self, from: ClientId, line: String) {
        // `send` fails only when no one is subscribed, and then there is no one to tell.
        let _ = self.shared.room.send(Arc::new(RoomMessage { from, line }));
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        // A panic elsewhere while the lock was held leaves a registry that is still consistent
        // (every change is one insert or remove), so keep going rather than poison every handler.
        self.shared
            .registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

// 1 to 16 ASCII letters, digits, `-` or `_`: a single word, so `/msg alice hi` can be parsed.
fn check(nick: &str) -> Result<(), NickError> {
    let valid = (1..=16).contains(&nick.len())
        && nick
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(NickError::Invalid)
    }
}

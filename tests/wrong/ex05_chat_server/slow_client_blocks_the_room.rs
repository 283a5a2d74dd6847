//! Wrong solution: no broadcast channel. The room fans every message out itself, into one
//! bounded queue per member, and *waits* (`send().await`) when a queue is full. Memory stays
//! bounded, but a member that stops reading stalls the sender's handler — and through it the
//! whole room.
//! replaces: lib.rs
//! expect: a_client_that_stops_reading_does_not_delay_anyone_else — must never make a sender
//! expect: a_client_that_falls_behind_is_told_how_many_messages_it_missed_and_stays_connected — must never make a sender

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub capacity: usize,
    pub grace: Duration,
    pub max_line_length: usize,
    pub max_clients: usize,
    pub nickname_timeout: Duration,
}

impl Default for Config {
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

#[derive(Clone)]
pub struct Room {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    /// nickname → (id, that member's queue).
    members: Mutex<(HashMap<String, (u64, mpsc::Sender<String>)>, u64)>,
    shutdown: watch::Sender<Option<Instant>>,
}

impl Room {
    pub fn new(config: Config) -> Self {
        let config = Config {
            capacity: config.capacity.max(1),
            ..config
        };
        Self {
            inner: Arc::new(Inner {
                config,
                members: Mutex::default(),
                shutdown: watch::channel(None).0,
            }),
        }
    }

    pub fn shutdown(&self) {
        let deadline = Instant::now() + self.inner.config.grace;
        self.inner.shutdown.send_if_modified(|s| {
            let first = s.is_none();
            if first {
                *s = Some(deadline);
            }
            first
        });
    }

    async fn closing(&self) -> Instant {
        let mut rx = self.inner.shutdown.subscribe();
        let deadline = rx.wait_for(Option::is_some).await.ok().and_then(|s| *s);
        deadline.unwrap()
    }

    fn join(&self, nick: &str) -> Result<(u64, mpsc::Receiver<String>), &'static str> {
        check(nick)?;
        let mut members = self.inner.members.lock().unwrap();
        if members.0.contains_key(nick) {
            return Err("taken");
        }
        members.1 += 1;
        let id = members.1;
        let (tx, rx) = mpsc::channel(self.inner.config.capacity);
        members.0.insert(nick.to_owned(), (id, tx));
        Ok((id, rx))
    }

    /// Sends `line` to every member but `from`, waiting for room in each queue.
    async fn publish(&self, from: u64, line: String) {
        let queues: Vec<mpsc::Sender<String>> = {
            let members = self.inner.members.lock().unwrap();
            members
                .0
                .values()
                .filter(|(id, _)| *id != from)
                .map(|(_, tx)| tx.clone())
                .collect()
        };
        for queue in queues {
            let _ = queue.send(line.clone()).await;
        }
    }

    fn rename(&self, old: &str, new: &str) -> Result<(), &'static str> {
        check(new)?;
        let mut members = self.inner.members.lock().unwrap();
        if members.0.contains_key(new) {
            return Err("taken");
        }
        if let Some(entry) = members.0.remove(old) {
            members.0.insert(new.to_owned(), entry);
        }
        Ok(())
    }

    fn queue_of(&self, nick: &str) -> Option<mpsc::Sender<String>> {
        let members = self.inner.members.lock().unwrap();
        members.0.get(nick).map(|(_, tx)| tx.clone())
    }

    fn remove(&self, id: u64, nick: &str) {
        let mut members = self.inner.members.lock().unwrap();
        if members.0.get(nick).is_some_and(|(i, _)| *i == id) {
            members.0.remove(nick);
        }
    }

    fn list(&self) -> String {
        let members = self.inner.members.lock().unwrap();
        let mut nicks: Vec<&String> = members.0.keys().collect();
        nicks.sort();
        let nicks: Vec<&str> = nicks.into_iter().map(String::as_str).collect();
        format!("* online: {}", nicks.join(", "))
    }
}

fn check(nick: &str) -> Result<(), &'static str> {
    let valid = (1..=16).contains(&nick.len())
        && nick
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid { Ok(()) } else { Err("invalid") }
}

pub async fn handle_client<S>(stream: S, room: Room) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let deadline = {
        let room = room.clone();
        async move { tokio::time::sleep_until(room.closing().await).await }
    };
    tokio::select! {
        result = session(stream, room) => result,
        () = deadline => Ok(()),
    }
}

async fn session<S>(stream: S, room: Room) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (reader, mut writer) = tokio::io::split(stream);
    let mut lines = BufReader::new(reader).lines();
    writer.write_all(b"* choose a nickname\n").await?;
    let (id, mut nick, mut queue) = loop {
        let line = tokio::select! {
            biased;
            _ = room.closing() => {
                writer.write_all(b"* server shutting down\n").await?;
                return Ok(());
            }
            line = lines.next_line() => match line? {
                Some(line) => line,
                None => return Ok(()),
            },
        };
        match room.join(&line) {
            Ok((id, queue)) => break (id, line, queue),
            Err("taken") => {
                let reply = format!("! nickname {line} is taken\n");
                writer.write_all(reply.as_bytes()).await?;
            }
            Err(_) => writer.write_all(b"! invalid nickname\n").await?,
        }
    };
    writer
        .write_all(format!("* welcome {nick}\n").as_bytes())
        .await?;
    room.publish(id, format!("* {nick} joined")).await;

    let result: io::Result<()> = async {
        loop {
            tokio::select! {
                biased;
                _ = room.closing() => {
                    writer.write_all(b"* server shutting down\n").await?;
                    return Ok(());
                }
                line = lines.next_line() => {
                    let Some(line) = line? else { return Ok(()) };
                    let reply = if let Some(command) = line.strip_prefix('/') {
                        let (name, args) = command.split_once(' ').unwrap_or((command, ""));
                        match name {
                            "quit" => {
                                writer.write_all(b"* bye\n").await?;
                                return Ok(());
                            }
                            "list" => Some(room.list()),
                            "nick" => {
                                let new = args.trim().to_owned();
                                match room.rename(&nick, &new) {
                                    Ok(()) => {
                                        room.publish(id, format!("* {nick} is now {new}")).await;
                                        nick = new.clone();
                                        Some(format!("* you are now {new}"))
                                    }
                                    Err("taken") => Some(format!("! nickname {new} is taken")),
                                    Err(_) => Some("! invalid nickname".to_owned()),
                                }
                            }
                            "msg" => match args.trim_start().split_once(' ') {
                                Some((to, text)) if !text.trim().is_empty() => {
                                    match room.queue_of(to) {
                                        Some(q) => match q.try_send(format!("(private) {nick}: {}", text.trim_start())) {
                                            Ok(()) => None,
                                            Err(_) => Some(format!("! {to} is not keeping up, message dropped")),
                                        },
                                        None => Some(format!("! no such user: {to}")),
                                    }
                                }
                                _ => Some("! usage: /msg <nick> <text>".to_owned()),
                            },
                            _ => Some(format!("! unknown command: /{name}")),
                        }
                    } else {
                        if !line.trim().is_empty() {
                            room.publish(id, format!("{nick}: {line}")).await;
                        }
                        None
                    };
                    if let Some(reply) = reply {
                        writer.write_all(format!("{reply}\n").as_bytes()).await?;
                    }
                }
                Some(line) = queue.recv() => {
                    writer.write_all(format!("{line}\n").as_bytes()).await?;
                }
            }
        }
    }
    .await;
    room.remove(id, &nick);
    room.publish(id, format!("* {nick} left")).await;
    result
}

pub async fn serve(listener: TcpListener, room: Room) -> io::Result<()> {
    let mut handlers = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            _ = room.closing() => break,
            accepted = listener.accept() => {
                let (stream, _) = accepted?;
                handlers.spawn(handle_client(stream, room.clone()));
            }
        }
    }
    while handlers.join_next().await.is_some() {}
    Ok(())
}

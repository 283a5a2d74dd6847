//! # Exercise 09 — real-time notifications over broadcast channels (reference solution)
//!
//! A [`Hub`] carries notifications on named topics to every [`Subscription`] that follows the
//! topic, the moment they are published. One `tokio::sync::broadcast` channel per topic does the
//! fan-out: a publisher never waits for subscribers, and a subscriber that falls too far behind
//! is told how many notifications it missed instead of slowing everyone down.
//!
//! * `hub.rs`: the topics, each a broadcast sender plus the last few notifications (the replay
//!   a new subscriber gets), both behind one lock so that replay and live delivery meet without
//!   a gap or a duplicate;
//! * `subscription.rs`: one subscriber's view — the replay first, then the live notifications of
//!   all its topics merged (`StreamMap`), with lag reported as [`Event::Missed`].

mod hub;
mod notification;
mod subscription;

pub use hub::{Hub, HubConfig};
pub use notification::{Event, Notification};
pub use subscription::Subscription;

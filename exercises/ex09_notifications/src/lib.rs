//! # Exercise 09 — real-time notifications over broadcast channels
//!
//! A [`Hub`] carries notifications on named topics to every [`Subscription`] that follows the
//! topic, the moment they are published. A publisher must never wait for subscribers, and a
//! subscriber that falls too far behind is told how many notifications it missed instead of
//! slowing everyone down: that is exactly what `tokio::sync::broadcast` does, one channel per
//! topic.
//!
//! 1. [`Hub::publish`], [`Hub::subscribe`] (without replay first), [`Subscription::next`],
//!    [`Hub::subscribers`] (`hub.rs`, `subscription.rs`);
//! 2. lag: [`Event::Missed`];
//! 3. the replay a new subscriber gets — with no gap and no duplicate before the live ones;
//! 4. [`Hub::close`].
//!
//! `tokio_stream::StreamMap` with `tokio_stream::wrappers::BroadcastStream` merges the topics of
//! one subscription. Run the tests with `cargo test -p ex09_notifications`; the chapter is
//! `curriculum/src/ex09-notifications.md`.

// Until you write the bodies, parameters, imports and helpers are unused: delete this line once
// you start, so the compiler can point out what you forgot.
#![allow(unused_variables, unused_mut, unused_imports, dead_code)]

mod hub;
mod notification;
mod subscription;

pub use hub::{Hub, HubConfig};
pub use notification::{Event, Notification};
pub use subscription::Subscription;

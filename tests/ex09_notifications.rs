//! Hidden tests for exercise 09: real-time notifications over broadcast channels.
//!
//! Publishers and subscribers are tasks on tokio's paused clock, so the tests check *when* each
//! notification arrives, not only what arrives. Written once, compiled against the stub and the
//! reference.

use ex09_notifications::*;
use pretty_assertions::assert_eq;
use testkit::{ms, now};
use tokio::time::{Instant, sleep, sleep_until, timeout};

fn hub(capacity: usize, replay: usize) -> Hub {
    Hub::new(HubConfig { capacity, replay })
}

fn note(topic: &str, seq: u64, body: &str) -> Event {
    Event::Notification(Notification {
        topic: topic.to_owned(),
        seq,
        body: body.to_owned(),
    })
}

/// Drops a subscription: that is how a subscriber leaves.
fn unsubscribe(_subscription: Subscription) {}

/// The events a subscription has ready now (it waits 1 ms of virtual time for more).
async fn drain(subscription: &mut Subscription) -> Vec<Event> {
    let mut events = Vec::new();
    while let Ok(Some(event)) = timeout(ms(1), subscription.next()).await {
        events.push(event);
    }
    events
}

// ---- fan-out -------------------------------------------------------------------------------

#[test]
fn every_subscriber_of_a_topic_receives_every_notification() {
    testkit::run(|| async {
        let hub = hub(16, 0);
        let mut subs: Vec<Subscription> = (0..3).map(|_| hub.subscribe(&["news"])).collect();
        assert_eq!(
            hub.publish("news", "a"),
            3,
            "publish returns how many subscriptions it reached"
        );
        assert_eq!(
            hub.publish("news", "b"),
            3,
            "the second publish must reach the same 3 subscriptions: publish returns how many \
             subscriptions it reached"
        );
        for (i, sub) in subs.iter_mut().enumerate() {
            assert_eq!(
                drain(sub).await,
                vec![note("news", 1, "a"), note("news", 2, "b")],
                "subscriber {i} must receive every notification of its topic, in order, \
                 numbered from 1"
            );
        }
    });
}

#[test]
fn a_subscriber_receives_only_the_topics_it_follows() {
    testkit::run(|| async {
        let hub = hub(16, 0);
        let mut news = hub.subscribe(&["news"]);
        let mut sport = hub.subscribe(&["sport"]);
        hub.publish("news", "n1");
        hub.publish("sport", "s1");
        hub.publish("news", "n2");
        assert_eq!(
            drain(&mut news).await,
            vec![note("news", 1, "n1"), note("news", 2, "n2")],
            "each topic numbers its own notifications from 1: a notification on another topic \
             leaves no gap"
        );
        assert_eq!(
            drain(&mut sport).await,
            vec![note("sport", 1, "s1")],
            "each topic numbers its own notifications from 1"
        );
    });
}

#[test]
fn a_subscription_to_several_topics_yields_them_as_they_are_published() {
    testkit::run(|| async {
        let hub = hub(16, 0);
        let mut both = hub.subscribe(&["a", "b"]);
        let publisher = hub.clone();
        let publishing = testkit::spawn(async move {
            publisher.publish("a", "a1");
            sleep(ms(10)).await;
            publisher.publish("b", "b1");
            sleep(ms(10)).await;
            publisher.publish("a", "a2");
        });
        let mut seen = Vec::new();
        for _ in 0..3 {
            let event = both.next().await.expect("an event");
            seen.push((now().as_millis() as u64, event));
        }
        publishing.await.unwrap();
        assert_eq!(
            seen,
            vec![
                (0, note("a", 1, "a1")),
                (10, note("b", 1, "b1")),
                (20, note("a", 2, "a2")),
            ],
            "the topics of one subscription are merged: each notification arrives the moment it \
             is published, whichever topic it is on"
        );
    });
}

#[test]
fn a_topic_listed_twice_is_followed_once() {
    testkit::run(|| async {
        let hub = hub(16, 2);
        hub.publish("a", "old");
        let mut twice = hub.subscribe(&["a", "a"]);
        assert_eq!(
            hub.publish("a", "x"),
            1,
            "one subscription, however often it lists a topic"
        );
        assert_eq!(
            drain(&mut twice).await,
            vec![note("a", 1, "old"), note("a", 2, "x")],
            "replayed once, then each notification delivered once"
        );
    });
}

#[test]
fn a_subscription_to_no_topic_ends_at_once() {
    testkit::run(|| async {
        let hub = hub(16, 0);
        let mut none = hub.subscribe(&[]);
        assert_eq!(
            none.next().await,
            None,
            "a subscription to no topic has nothing to wait for: next() must return None"
        );
        assert_eq!(
            now(),
            ms(0),
            "next() returned at t={:?}, expected t=0ms: a subscription to no topic ends at once, \
             without waiting",
            now()
        );
    });
}

// ---- subscribers come and go ---------------------------------------------------------------

#[test]
fn dropping_a_subscription_unsubscribes_at_once() {
    testkit::run(|| async {
        let hub = hub(16, 0);
        assert_eq!(
            hub.subscribers("news"),
            0,
            "nobody has subscribed to news yet: subscribers(\"news\") must be 0"
        );
        assert_eq!(
            hub.publish("news", "to nobody"),
            0,
            "nobody follows news yet: publish must reach no subscription and return 0 (how many \
             subscriptions it reached)"
        );
        let first = hub.subscribe(&["news"]);
        let second = hub.subscribe(&["news", "sport"]);
        assert_eq!(
            hub.subscribers("news"),
            2,
            "two subscriptions follow news (one of them also sport): subscribers(\"news\") must \
             count each of them once"
        );
        assert_eq!(
            hub.subscribers("sport"),
            1,
            "one subscription follows sport (and news): subscribers(\"sport\") must count it"
        );
        unsubscribe(first);
        assert_eq!(
            hub.subscribers("news"),
            1,
            "a dropped subscription must stop counting at once"
        );
        assert_eq!(
            hub.publish("news", "x"),
            1,
            "one of the two news subscriptions was dropped: publish must reach only the one left, \
             and return how many subscriptions it reached"
        );
        unsubscribe(second);
        assert_eq!(
            hub.subscribers("sport"),
            0,
            "the only subscription to sport was dropped: a dropped subscription must stop \
             counting at once, on every topic it followed"
        );
    });
}

// ---- real time -----------------------------------------------------------------------------

#[test]
fn a_notification_arrives_the_moment_it_is_published() {
    testkit::run(|| async {
        let hub = hub(16, 0);
        let mut sub = hub.subscribe(&["alerts"]);
        let publisher = hub.clone();
        let publishing = testkit::spawn(async move {
            sleep(ms(100)).await;
            publisher.publish("alerts", "first");
            sleep(ms(150)).await;
            publisher.publish("alerts", "second");
        });
        let mut arrived = Vec::new();
        for _ in 0..2 {
            sub.next().await.expect("an event");
            arrived.push(now().as_millis() as u64);
        }
        publishing.await.unwrap();
        assert_eq!(
            arrived,
            vec![100, 250],
            "notifications published at 100ms and 250ms must arrive at those instants: no \
             polling interval, no batching"
        );
    });
}

#[test]
fn a_slow_subscriber_holds_up_neither_the_publisher_nor_a_fast_subscriber() {
    testkit::run(|| async {
        let hub = hub(16, 0);
        let mut fast = hub.subscribe(&["ticks"]);
        let mut slow = hub.subscribe(&["ticks"]);
        let publisher = hub.clone();
        let publishing = testkit::spawn(async move {
            let mut published_at = Vec::new();
            for i in 0..5 {
                publisher.publish("ticks", format!("t{i}"));
                published_at.push(now().as_millis() as u64);
                sleep(ms(10)).await;
            }
            published_at
        });
        let slow_reader = testkit::spawn(async move {
            let mut at = Vec::new();
            for _ in 0..5 {
                slow.next().await.expect("an event");
                at.push(now().as_millis() as u64);
                sleep(ms(100)).await; // a subscriber busy with each notification
            }
            at
        });
        let mut fast_at = Vec::new();
        for _ in 0..5 {
            fast.next().await.expect("an event");
            fast_at.push(now().as_millis() as u64);
        }
        assert_eq!(
            publishing.await.unwrap(),
            vec![0, 10, 20, 30, 40],
            "publish must never wait for subscribers"
        );
        assert_eq!(
            fast_at,
            vec![0, 10, 20, 30, 40],
            "the fast subscriber must get each notification when it is published, whatever the \
             slow one is doing"
        );
        assert_eq!(
            slow_reader.await.unwrap(),
            vec![0, 100, 200, 300, 400],
            "the slow subscriber still gets all 5 (they fit in its backlog), at its own pace"
        );
    });
}

#[test]
fn a_subscriber_that_falls_too_far_behind_is_told_how_many_it_missed() {
    testkit::run(|| async {
        let hub = hub(4, 0);
        let mut behind = hub.subscribe(&["feed"]);
        for i in 1..=10 {
            hub.publish("feed", format!("m{i}"));
        }
        assert_eq!(
            drain(&mut behind).await,
            vec![
                Event::Missed {
                    topic: "feed".to_owned(),
                    count: 6
                },
                note("feed", 7, "m7"),
                note("feed", 8, "m8"),
                note("feed", 9, "m9"),
                note("feed", 10, "m10"),
            ],
            "with room for 4, a subscriber 10 behind must be told it missed 6, then get the 4 \
             most recent — not end, not skip silently, not hold the publisher up"
        );
    });
}

// ---- replay --------------------------------------------------------------------------------

#[test]
fn a_new_subscriber_gets_the_replay_first_then_live_notifications() {
    testkit::run(|| async {
        let hub = hub(16, 3);
        for i in 1..=5 {
            hub.publish("news", format!("n{i}"));
        }
        let mut late = hub.subscribe(&["news"]);
        hub.publish("news", "n6");
        assert_eq!(
            drain(&mut late).await,
            vec![
                note("news", 3, "n3"),
                note("news", 4, "n4"),
                note("news", 5, "n5"),
                note("news", 6, "n6"),
            ],
            "with a replay of 3, a subscriber that joins after 5 notifications gets 3, 4 and 5 \
             first, then 6 — no gap and no duplicate between replay and live"
        );
    });
}

#[test]
fn the_replay_is_topic_by_topic_in_the_order_the_topics_were_given() {
    testkit::run(|| async {
        let hub = hub(16, 2);
        hub.publish("a", "a1");
        hub.publish("b", "b1");
        hub.publish("a", "a2");
        hub.publish("b", "b2");
        hub.publish("a", "a3");
        let mut sub = hub.subscribe(&["b", "a"]);
        assert_eq!(
            drain(&mut sub).await,
            vec![
                note("b", 1, "b1"),
                note("b", 2, "b2"),
                note("a", 2, "a2"),
                note("a", 3, "a3"),
            ],
            "the last 2 of each topic, b's first (it was listed first), oldest first"
        );
    });
}

#[test]
fn without_replay_a_new_subscriber_gets_only_what_is_published_after() {
    testkit::run(|| async {
        let hub = hub(16, 0);
        hub.publish("news", "old");
        let mut sub = hub.subscribe(&["news"]);
        hub.publish("news", "new");
        assert_eq!(
            drain(&mut sub).await,
            vec![note("news", 2, "new")],
            "with a replay of 0 a new subscription gets no history: only the notification \
             published after it subscribed, numbered 2 (the topic's second)"
        );
    });
}

// ---- closing -------------------------------------------------------------------------------

#[test]
fn closing_delivers_what_was_published_then_ends_every_subscription() {
    testkit::run(|| async {
        let hub = hub(16, 0);
        let mut sub = hub.subscribe(&["news", "sport"]);
        hub.publish("news", "last news");
        hub.publish("sport", "last score");
        hub.close();
        assert_eq!(
            hub.publish("news", "too late"),
            0,
            "nothing is delivered after close"
        );
        // The two topics' notifications are both ready: they may come in either order.
        let mut delivered = Vec::new();
        for _ in 0..2 {
            delivered.push(timeout(ms(1), sub.next()).await.ok().flatten());
        }
        delivered.sort_by_key(|event| format!("{event:?}"));
        assert_eq!(
            delivered,
            vec![
                Some(note("news", 1, "last news")),
                Some(note("sport", 1, "last score"))
            ],
            "after close, a subscription yields what was published before (its topics in any \
             order)"
        );
        assert_eq!(
            timeout(ms(1), sub.next()).await,
            Ok(None),
            "after close, a subscription yields what was published before, then ends"
        );
        assert_eq!(now(), ms(0), "ending must not wait for anything");
        let mut after = hub.subscribe(&["news"]);
        assert_eq!(
            timeout(ms(1), after.next()).await,
            Ok(None),
            "a subscription after close ends at once"
        );
    });
}

#[test]
fn next_is_cancel_safe() {
    testkit::run(|| async {
        let hub = hub(16, 0);
        let mut sub = hub.subscribe(&["news"]);
        let publisher = hub.clone();
        let start = Instant::now();
        let publishing = testkit::spawn(async move {
            for (at, body) in [(7, "a"), (13, "b"), (21, "c")] {
                sleep_until(start + ms(at)).await;
                publisher.publish("news", body);
            }
        });
        // A loop that gives up waiting every 5ms: each `next()` in progress is dropped.
        let mut seen = Vec::new();
        while seen.len() < 3 && now() < ms(100) {
            tokio::select! {
                event = sub.next() => match event {
                    Some(event) => seen.push((now().as_millis() as u64, event)),
                    None => break, // the subscription ended: what is missing was lost
                },
                () = sleep(ms(5)) => {}
            }
        }
        publishing.await.unwrap();
        assert_eq!(
            seen,
            vec![
                (7, note("news", 1, "a")),
                (13, note("news", 2, "b")),
                (21, note("news", 3, "c")),
            ],
            "a `next()` dropped while waiting (here by `select!` every 5ms) must lose nothing"
        );
    });
}

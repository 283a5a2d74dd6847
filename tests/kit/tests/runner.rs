//! The kit's own tests: each detector fires on the fault it names, and stays quiet on correct code.
//! The blocking fixtures here are the only code in the workbook that blocks in real time, on purpose
//! and briefly (a few hundred ms), to prove the detectors see it.

use std::time::Duration;
use testkit::{Failure, Gauge, Probe, Test, Timeline, ms, secs};

fn fails_with(
    test: Test,
    body: impl FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> + Send + 'static,
) -> String {
    match test.try_run(body) {
        Ok(report) => panic!("expected a failure, the test passed: {report:?}"),
        Err(failure) => failure.to_string(),
    }
}

#[test]
fn an_hour_of_virtual_time_passes_exactly_and_instantly() {
    let wall = std::time::Instant::now();
    let report = Test::new()
        .virtual_limit(secs(7200))
        .try_run(|| async {
            tokio::time::sleep(secs(3600)).await;
            assert_eq!(testkit::now(), secs(3600));
        })
        .unwrap();
    assert_eq!(report.virtual_elapsed, secs(3600));
    assert!(
        wall.elapsed() < Duration::from_secs(2),
        "took {:?} of wall time",
        wall.elapsed()
    );
}

#[test]
fn concurrent_sleeps_overlap_and_sequential_ones_add_up() {
    testkit::run(|| async {
        let started = testkit::now();
        let tasks: Vec<_> = (0..10)
            .map(|_| tokio::spawn(tokio::time::sleep(secs(1))))
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(testkit::now() - started, secs(1));
        for _ in 0..3 {
            tokio::time::sleep(secs(1)).await;
        }
        assert_eq!(testkit::now(), secs(4));
    });
}

#[test]
fn waiting_on_something_that_never_happens_fails_at_the_virtual_limit() {
    let msg = fails_with(Test::new().virtual_limit(secs(30)), || {
        Box::pin(async {
            let (_tx, rx) = tokio::sync::oneshot::channel::<()>();
            let _ = rx.await;
        })
    });
    assert!(msg.starts_with("waited forever"), "{msg}");
    assert!(msg.contains("30s"), "{msg}");
}

#[test]
fn std_instant_waits_are_reported_as_waiting_forever() {
    // A limiter measuring time with std::time::Instant never sees the paused clock move.
    let msg = fails_with(Test::new().virtual_limit(secs(60)), || {
        Box::pin(async {
            let until = std::time::Instant::now() + Duration::from_secs(3600);
            while std::time::Instant::now() < until {
                tokio::time::sleep(ms(10)).await;
            }
        })
    });
    assert!(msg.contains("std::time::Instant"), "{msg}");
}

#[test]
fn thread_sleep_in_a_spawned_task_is_reported_as_blocking() {
    let msg = fails_with(Test::new(), || {
        Box::pin(async {
            tokio::time::sleep(ms(100)).await;
            tokio::spawn(async { std::thread::sleep(ms(300)) })
                .await
                .unwrap();
        })
    });
    assert!(msg.starts_with("blocked the executor for"), "{msg}");
    assert!(
        msg.contains("t = 100ms"),
        "the message names the virtual instant: {msg}"
    );
}

#[test]
fn a_timing_assertion_that_failed_because_of_blocking_names_the_blocking_first() {
    let msg = fails_with(Test::new(), || {
        Box::pin(async {
            std::thread::sleep(ms(250));
            assert_eq!(
                testkit::now(),
                ms(250),
                "the wait took 250ms of virtual time"
            );
        })
    });
    assert!(msg.starts_with("blocked the executor"), "{msg}");
    assert!(msg.contains("the wait took 250ms of virtual time"), "{msg}");
}

#[test]
fn correct_code_is_not_reported_as_blocking() {
    let report = Test::new()
        .try_run(|| async {
            for _ in 0..1000 {
                tokio::time::sleep(ms(1)).await;
            }
        })
        .unwrap();
    assert!(report.longest_busy < ms(50), "{report:?}");
}

#[test]
fn a_loop_that_never_yields_is_stopped_by_the_wall_watchdog() {
    let msg = fails_with(Test::new().wall_limit(ms(300)).block_limit(secs(5)), || {
        Box::pin(async {
            let spin_until = std::time::Instant::now() + Duration::from_secs(1);
            while std::time::Instant::now() < spin_until {}
        })
    });
    assert!(msg.starts_with("never yielded"), "{msg}");
}

#[test]
fn a_blocking_task_waiting_on_virtual_time_freezes_the_clock_and_is_explained() {
    let msg = fails_with(Test::new().wall_limit(ms(300)), || {
        Box::pin(async {
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            tokio::spawn(async move {
                tokio::time::sleep(secs(1)).await;
                let _ = tx.send(());
            });
            // Bounded in real time so the fixture ends by itself.
            let _ =
                tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(1))).await;
        })
    });
    assert!(msg.contains("virtual clock was frozen"), "{msg}");
}

#[test]
fn a_task_left_running_is_a_leak() {
    let msg = fails_with(Test::new(), || {
        Box::pin(async {
            tokio::spawn(async { tokio::time::sleep(secs(3600)).await });
            tokio::time::sleep(ms(5)).await;
        })
    });
    assert!(msg.starts_with("leaked 1 task(s)"), "{msg}");
    assert!(msg.contains("t = 5ms"), "{msg}");
}

#[test]
fn a_helper_task_spawned_through_the_kit_is_a_task_like_any_other() {
    // `testkit::spawn` only boxes the future: the task is joined, aborted and leak-checked as
    // if `tokio::spawn` had started it.
    testkit::run(|| async {
        let answer = testkit::spawn(async {
            tokio::time::sleep(ms(10)).await;
            42
        });
        assert_eq!(answer.await.unwrap(), 42);
        assert_eq!(testkit::now(), ms(10));
        testkit::spawn(std::future::pending::<()>()).abort();
    });
    let msg = fails_with(Test::new(), || {
        Box::pin(async {
            testkit::spawn(std::future::pending::<()>());
        })
    });
    assert!(msg.starts_with("leaked 1 task(s)"), "{msg}");
}

#[test]
fn aborted_and_finished_tasks_are_not_leaks() {
    testkit::run(|| async {
        let forever = tokio::spawn(std::future::pending::<()>());
        tokio::spawn(async {}); // finishes, never joined
        let mut set = tokio::task::JoinSet::new();
        set.spawn(std::future::pending::<()>());
        forever.abort();
        drop(set);
    });
}

#[test]
fn leaks_can_be_allowed() {
    let report = Test::new()
        .allow_leaks()
        .try_run(|| async {
            tokio::spawn(std::future::pending::<()>());
        })
        .unwrap();
    assert_eq!(report.alive_tasks, 1);
}

#[test]
fn a_todo_is_reported_as_not_implemented() {
    fn stub() -> u32 {
        todo!("count the lines")
    }
    let msg = fails_with(Test::new(), || {
        Box::pin(async {
            stub();
        })
    });
    assert!(
        msg.starts_with("not implemented yet: count the lines"),
        "{msg}"
    );
}

#[test]
fn a_todo_inside_a_spawned_task_is_reported_as_not_implemented() {
    let msg = fails_with(Test::new(), || {
        Box::pin(async {
            tokio::spawn(async { todo!("the worker loop") })
                .await
                .unwrap();
        })
    });
    assert!(
        msg.starts_with("not implemented yet: the worker loop"),
        "{msg}"
    );
}

#[test]
fn an_assertion_failure_keeps_its_message() {
    let result = Test::new().try_run(|| async {
        pretty_assertions::assert_eq!(1 + 1, 3, "arithmetic is broken");
    });
    match result {
        Err(Failure::Panicked(_)) => {}
        other => panic!("expected Panicked, got {other:?}"),
    }
    let caught = std::panic::catch_unwind(|| {
        testkit::run(|| async { assert_eq!(2, 3, "the sum is 3") });
    })
    .unwrap_err();
    let msg = caught.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("the sum is 3"), "{msg}");
}

#[test]
fn the_timeline_records_exact_instants() {
    testkit::run(|| async {
        let timeline = Timeline::new();
        let t = timeline.clone();
        tokio::spawn(async move {
            tokio::time::sleep(ms(150)).await;
            t.record("spawned task woke");
        });
        timeline.record("start");
        tokio::time::sleep(ms(200)).await;
        timeline.record("end");
        timeline.assert_eq(
            &[(0, "start"), (150, "spawned task woke"), (200, "end")],
            "events in virtual time",
        );
        assert_eq!(timeline.instants_of("end"), vec![ms(200)]);
    });
}

#[test]
fn a_timeline_mismatch_shows_both_sides() {
    let result = std::panic::catch_unwind(|| {
        testkit::run(|| async {
            let timeline = Timeline::new();
            tokio::time::sleep(ms(300)).await;
            timeline.record("retry");
            timeline.assert_eq(&[(100, "retry")], "the retry waits 100ms");
        })
    });
    let msg = result
        .unwrap_err()
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(msg.contains("the retry waits 100ms"), "{msg}");
    assert!(msg.contains("t=300ms"), "{msg}");
    assert!(msg.contains("t=100ms"), "{msg}");
}

#[test]
fn probes_tell_when_a_future_was_cancelled() {
    testkit::run(|| async {
        let slow = Probe::new("slow");
        let fast = Probe::new("fast");
        tokio::select! {
            _ = slow.wrap(tokio::time::sleep(secs(10))) => unreachable!(),
            _ = fast.wrap(tokio::time::sleep(ms(40))) => {}
        }
        assert_eq!(fast.completed_at(), Some(ms(40)));
        assert_eq!(slow.started_at(), Some(ms(0)));
        assert_eq!(slow.cancelled_at(), Some(ms(40)));
        assert!(!slow.is_running());
        assert_eq!(slow.describe(), "slow: started t=0ms, cancelled t=40ms");

        let never = Probe::new("never");
        drop(never.wrap(async {}));
        assert_eq!(never.describe(), "never: never polled");
        assert_eq!(
            never.cancelled_at(),
            None,
            "a future never polled was not cancelled, just unused"
        );
    });
}

#[test]
fn a_spawned_loser_that_keeps_running_is_visible() {
    testkit::run(|| async {
        let loser = Probe::new("loser");
        let handle = tokio::spawn(loser.wrap(tokio::time::sleep(secs(10))));
        tokio::time::sleep(ms(10)).await;
        assert!(loser.is_running());
        handle.abort();
        let _ = handle.await;
        assert_eq!(loser.cancelled_at(), Some(ms(10)));
    });
}

#[test]
fn the_gauge_records_the_peak() {
    testkit::run(|| async {
        let gauge = Gauge::new();
        let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(3));
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..10 {
            let (gauge, sem) = (gauge.clone(), sem.clone());
            set.spawn(async move {
                let _permit = sem.acquire().await.unwrap();
                let _g = gauge.enter();
                tokio::time::sleep(secs(1)).await;
            });
        }
        set.join_all().await;
        assert_eq!((gauge.peak(), gauge.total(), gauge.current()), (3, 10, 0));
        assert_eq!(testkit::now(), secs(4));
    });
}

#[test]
fn an_endless_loop_of_short_waits_is_reported_as_waiting_forever() {
    let msg = fails_with(
        Test::new()
            .wall_limit(ms(300))
            .virtual_limit(secs(1_000_000)),
        || {
            Box::pin(async {
                loop {
                    tokio::time::sleep(Duration::from_micros(1)).await;
                }
            })
        },
    );
    assert!(
        msg.starts_with("waited forever: still running after 300ms"),
        "{msg}"
    );
}

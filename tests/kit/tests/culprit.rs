//! "Blocked the executor" names the code: the task by the line that spawned it, or the test body.
//! The workbook builds with `--cfg tokio_unstable` (.cargo/config.toml); without it the kit cannot
//! ask tokio which task is polled, and says so — both cases are checked, by the cfg of this build.

use std::panic::Location;
use std::time::Duration;
use testkit::{Culprit, Failure, Test, ms};

/// Runs `body` and returns the failure (the test fails if the body passed).
fn failure_of(
    test: Test,
    body: impl FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> + Send + 'static,
) -> Failure {
    match test.try_run(body) {
        Ok(report) => panic!("expected a failure, the test passed: {report:?}"),
        Err(failure) => failure,
    }
}

/// A task that blocks the thread for 300 ms, spawned at the caller's line.
#[track_caller]
fn spawn_blocker() -> (tokio::task::JoinHandle<()>, &'static Location<'static>) {
    let here = Location::caller();
    let task = tokio::spawn(async { std::thread::sleep(ms(300)) });
    (task, here)
}

#[test]
fn a_blocking_task_is_named_by_the_line_that_spawned_it() {
    let (tx, rx) = std::sync::mpsc::channel();
    let failure = failure_of(Test::new(), move || {
        Box::pin(async move {
            // Another task runs briefly in the same stretch: the blame goes to the one that held it.
            let quick = tokio::spawn(async { tokio::task::yield_now().await });
            tokio::time::sleep(ms(100)).await;
            let (task, spawned_at) = spawn_blocker();
            tx.send(spawned_at).expect("the test is listening");
            task.await.expect("the blocking task finishes");
            quick.await.expect("the quick task finishes");
        })
    });
    let spawned_at = rx.recv().expect("the body ran");
    let message = failure.to_string();
    assert!(
        message.starts_with("blocked the executor for"),
        "300 ms of std::thread::sleep in a task is blocking: {message}"
    );
    if cfg!(tokio_unstable) {
        let line = format!(
            "in the task spawned at {}:{}:",
            spawned_at.file(),
            spawned_at.line()
        );
        assert!(
            message.contains(&line),
            "the message names the blocking task's spawn line ({line}): {message}"
        );
        assert!(
            matches!(&failure, Failure::Blocked { culprit: Culprit::Task(at), .. }
                if at.file() == spawned_at.file() && at.line() == spawned_at.line()),
            "the failure carries the spawn location {spawned_at}: {message}"
        );
    } else {
        assert!(
            message.contains("--cfg tokio_unstable"),
            "without the cfg the message says how to get the line: {message}"
        );
    }
}

#[test]
fn blocking_in_the_test_body_is_named_as_such() {
    let failure = failure_of(Test::new(), || {
        Box::pin(async {
            // A task polled in the same stretch, briefly: the body still held most of it.
            let quick = tokio::spawn(async {});
            tokio::task::yield_now().await;
            std::thread::sleep(ms(300));
            quick.await.expect("the quick task finishes");
        })
    });
    let message = failure.to_string();
    let expected = if cfg!(tokio_unstable) {
        Culprit::TestBody
    } else {
        Culprit::Unknown
    };
    assert!(
        matches!(&failure, Failure::Blocked { culprit, .. } if *culprit == expected),
        "300 ms of std::thread::sleep in the body is blamed on {expected:?}: {message}"
    );
    assert!(
        message.contains(&expected.to_string()),
        "the message says where: {message}"
    );
}

#[test]
fn a_task_that_never_yields_is_named_by_the_watchdog() {
    let (tx, rx) = std::sync::mpsc::channel();
    let failure = failure_of(
        Test::new()
            .wall_limit(ms(300))
            .block_limit(Duration::from_secs(5)),
        move || {
            Box::pin(async move {
                let here = Location::caller();
                let spin = tokio::spawn(async {
                    let until = std::time::Instant::now() + Duration::from_secs(1);
                    while std::time::Instant::now() < until {}
                });
                tx.send(here.line() + 1).expect("the test is listening");
                spin.await.expect("the spinning task ends");
            })
        },
    );
    let line = rx.recv().expect("the body ran");
    let message = failure.to_string();
    assert!(
        message.starts_with("never yielded"),
        "a second of spinning is never yielding: {message}"
    );
    if cfg!(tokio_unstable) {
        assert!(
            matches!(&failure, Failure::NeverYielded { culprit: Culprit::Task(at), .. }
                if at.line() == line),
            "the message names the spinning task's spawn line {line}: {message}"
        );
    }
}

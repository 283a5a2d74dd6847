//! Wrong solution: reports on a tokio::time::interval — whose first tick completes at once, so
//! the first report comes at t=0 instead of after `every`.
//! replaces: pinning.rs
//! expect: with_progress_reports_at_every_interval_until_the_work_is_done — the first report is due at 100ms
//! expect: join_both_and_with_progress_match_the_reference_on_generated_work — when each piece of work started
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;
use tokio::time::Instant;

pub async fn join_both<A, B>(a: A, b: B) -> (A::Output, B::Output)
where
    A: Future,
    B: Future,
{
    let mut a = pin!(a);
    let mut b = pin!(b);
    let mut a_out = None;
    let mut b_out = None;

    poll_fn(|cx| {
        if a_out.is_none()
            && let Poll::Ready(out) = a.as_mut().poll(cx)
        {
            a_out = Some(out);
        }
        if b_out.is_none()
            && let Poll::Ready(out) = b.as_mut().poll(cx)
        {
            b_out = Some(out);
        }
        match (a_out.take(), b_out.take()) {
            (Some(a), Some(b)) => Poll::Ready((a, b)),
            (a, b) => {
                a_out = a;
                b_out = b;
                Poll::Pending
            }
        }
    })
    .await
}

pub async fn with_progress<F: Future>(
    work: F,
    every: Duration,
    mut report: impl FnMut(Duration),
) -> F::Output {
    let start = Instant::now();
    let mut work = pin!(work);
    let mut ticks = tokio::time::interval(every);
    loop {
        tokio::select! {
            biased;
            output = &mut work => return output,
            _ = ticks.tick() => report(start.elapsed()),
        }
    }
}

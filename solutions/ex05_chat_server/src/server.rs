//! The accept loop: a task per connection, and a shutdown that waits for all of them.

use crate::client::handle_client;
use crate::room::Room;
use tokio::net::TcpListener;
use tokio::task::{JoinError, JoinSet};

/// Accepts connections on `listener` and runs [`handle_client`] for each one in its own task, all
/// in `room`, until [`Room::shutdown`] is called.
///
/// Then it stops accepting, waits until every handler has said goodbye and returned (a client
/// that is not reading delays this by at most the room's `grace`), and returns `Ok(())` with no
/// task of its own left running. If accepting fails, it shuts the room down the same way and
/// returns the error. One client's failure never stops the server.
pub async fn serve(listener: TcpListener, room: Room) -> std::io::Result<()> {
    // The JoinSet owns the handler tasks: we can wait for all of them, and if `serve` itself is
    // dropped, they are aborted with it instead of running on unowned.
    let mut handlers = JoinSet::new();
    let result = accept_until_shutdown(&listener, &room, &mut handlers).await;
    drop(listener);
    // However we got here, the room is closing: make sure every handler knows (if shutdown had
    // already started, this changes nothing), then wait for them all.
    room.shutdown();
    while let Some(ended) = handlers.join_next().await {
        report(ended);
    }
    result
}

async fn accept_until_shutdown(
    listener: &TcpListener,
    room: &Room,
    handlers: &mut JoinSet<std::io::Result<()>>,
) -> std::io::Result<()> {
    loop {
        tokio::select! {
            biased;
            _ = room.shutting_down() => return Ok(()),
            // `accept` is cancel safe: when another branch wins, no connection is lost.
            accepted = listener.accept() => {
                let (stream, _peer) = accepted?;
                // Chat lines are small and should go out at once: without TCP_NODELAY, Nagle's
                // algorithm may hold a line back until the client acknowledges the previous one.
                let _ = stream.set_nodelay(true);
                handlers.spawn(handle_client(stream, room.clone()));
            }
            // Reap handlers as they finish, so a long-running server does not pile up results.
            // (With no handler running, `join_next` is `None` and the branch sits this round out.)
            Some(ended) = handlers.join_next() => report(ended),
        }
    }
}

// A handler's error concerns its own client only: note it and carry on.
fn report(ended: Result<std::io::Result<()>, JoinError>) {
    match ended {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("chat: a client's connection failed: {e}"),
        Err(e) => eprintln!("chat: a client handler crashed: {e}"),
    }
}

//! The accept loop: a task per connection, and a shutdown that waits for all of them.

use crate::client::handle_client;
use crate::room::Room;
use tokio::net::TcpListener;

/// Accepts connections on `listener` and runs [`handle_client`] for each one in its own task, all
/// in `room`, until [`Room::shutdown`] is called.
///
/// Then it stops accepting, waits until every handler has said goodbye and returned (a client
/// that is not reading delays this by at most the room's `grace`), and returns `Ok(())` with no
/// task of its own left running. If accepting fails, it shuts the room down the same way and
/// returns the error. One client's failure never stops the server.
pub async fn serve(listener: TcpListener, room: Room) -> std::io::Result<()> {
    todo!("accept connections, a task for each, until shutdown; then wait for every handler")
}

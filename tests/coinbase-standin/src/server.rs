//! The accept loop. It is written out instead of using `axum::serve` so that a handler can
//! close its own connection without a response, as the drop-order-response fault needs.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tower::ServiceExt;

use crate::SharedState;

/// Request extension that closes the request's connection when notified.
#[derive(Clone)]
pub(crate) struct ConnectionKill(pub Arc<Notify>);

pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Usually descriptor exhaustion, so pause rather than spin.
                tracing::warn!(%error, "failed to accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };

        let kill = Arc::new(Notify::new());
        let request_kill = kill.clone();
        let router = router.clone();
        let service = hyper::service::service_fn(
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(ConnectionKill(request_kill.clone()));
                router.clone().oneshot(request)
            },
        );
        let mut connection_shutdown = shutdown.clone();
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::select! {
                result = connection => {
                    if let Err(error) = result {
                        tracing::debug!(%peer, %error, "connection ended with an error");
                    }
                }
                _ = kill.notified() => tracing::info!(%peer, "closed connection without a response"),
                _ = connection_shutdown.changed() => {}
            }
        });
    }
}

/// Advances the replay by one candle every `period` until the series ends.
pub(crate) async fn tick(shared: SharedState, period: Duration) {
    let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        interval.tick().await;
        let advanced = shared.lock_exchange().advance(1);
        if advanced == 0 {
            tracing::info!("replay reached the last candle; timer stopped");
            break;
        }
    }
}

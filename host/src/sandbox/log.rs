//! A strategy's log: its `logging.log` calls and its stdout and stderr,
//! forwarded to the host's `tracing` log with the strategy's id, and capped.
//!
//! Each line is cut at `max_log_line_bytes`. At most
//! `max_log_lines_per_call` lines are forwarded per call, and the rest are
//! counted and reported in one warning at the end of the call. Stdout and
//! stderr together forward at most `max_stdio_bytes` over the instance's
//! life.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi_io::poll::Pollable;
use wasmtime_wasi_io::streams::{OutputStream, StreamResult};

use super::limits::Limits;
use crate::strategy::bindings::stratbox::strategy::logging::Level;

/// Bytes of stderr kept for fault reports, where Rust prints panics.
const STDERR_TAIL_BYTES: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Log(Level),
    Stdout,
    Stderr,
}

struct LogState {
    strategy: Arc<str>,
    max_line_bytes: usize,
    max_lines_per_call: usize,
    stdio_bytes_left: usize,
    lines_this_call: usize,
    dropped_this_call: u64,
    dropped_total: u64,
    stdio_exhausted_reported: bool,
    stdout_partial: Vec<u8>,
    stderr_partial: Vec<u8>,
    stderr_tail: VecDeque<u8>,
}

/// The log of one strategy instance, shared by its logging import and its
/// stdout and stderr streams.
#[derive(Clone)]
pub struct StrategyLog {
    state: Arc<Mutex<LogState>>,
}

impl StrategyLog {
    pub fn new(strategy: Arc<str>, limits: &Limits) -> StrategyLog {
        StrategyLog {
            state: Arc::new(Mutex::new(LogState {
                strategy,
                max_line_bytes: limits.max_log_line_bytes,
                max_lines_per_call: limits.max_log_lines_per_call,
                stdio_bytes_left: limits.max_stdio_bytes,
                lines_this_call: 0,
                dropped_this_call: 0,
                dropped_total: 0,
                stdio_exhausted_reported: false,
                stdout_partial: Vec::new(),
                stderr_partial: Vec::new(),
                stderr_tail: VecDeque::with_capacity(STDERR_TAIL_BYTES),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, LogState> {
        // A panic while the lock is held cannot leave the state invalid, so
        // a poisoned lock is used as it is.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Emits one line from the strategy's logging import.
    pub fn log(&self, level: Level, message: &str) {
        self.lock().emit(Source::Log(level), message.as_bytes());
    }

    /// Resets the per-call line budget.
    pub fn begin_call(&self) {
        let mut state = self.lock();
        state.lines_this_call = 0;
        state.dropped_this_call = 0;
    }

    /// Reports lines dropped during the call, once.
    pub fn end_call(&self) {
        let state = self.lock();
        if state.dropped_this_call > 0 {
            tracing::warn!(
                strategy = &*state.strategy,
                dropped = state.dropped_this_call,
                limit = state.max_lines_per_call,
                "strategy log lines over the per-call limit were dropped"
            );
        }
    }

    /// Lines dropped over the instance's life.
    pub fn dropped_total(&self) -> u64 {
        self.lock().dropped_total
    }

    /// Returns the end of what the strategy wrote to stderr, for fault
    /// reports.
    pub fn stderr_tail(&self) -> String {
        let state = self.lock();
        let mut bytes: Vec<u8> = state.stderr_tail.iter().copied().collect();
        bytes.extend_from_slice(&state.stderr_partial);
        let start = bytes.len().saturating_sub(STDERR_TAIL_BYTES);
        String::from_utf8_lossy(&bytes[start..]).trim().to_string()
    }

    fn write_stdio(&self, source: Source, bytes: &[u8]) {
        self.lock().write_stdio(source, bytes);
    }
}

impl LogState {
    fn emit(&mut self, source: Source, line: &[u8]) {
        if self.lines_this_call >= self.max_lines_per_call {
            self.dropped_this_call += 1;
            self.dropped_total += 1;
            return;
        }
        self.lines_this_call += 1;

        let cut = line.len() > self.max_line_bytes;
        let kept = &line[..line.len().min(self.max_line_bytes)];
        let text = String::from_utf8_lossy(kept);
        let text = if cut { format!("{text} [cut at {} bytes]", self.max_line_bytes) } else { text.into_owned() };
        let strategy = &*self.strategy;
        match source {
            Source::Log(Level::Trace) => tracing::trace!(strategy, "{text}"),
            Source::Log(Level::Debug) => tracing::debug!(strategy, "{text}"),
            Source::Log(Level::Info) => tracing::info!(strategy, "{text}"),
            Source::Log(Level::Warn) => tracing::warn!(strategy, "{text}"),
            Source::Log(Level::Error) => tracing::error!(strategy, "{text}"),
            Source::Stdout => tracing::info!(strategy, stream = "stdout", "{text}"),
            Source::Stderr => tracing::warn!(strategy, stream = "stderr", "{text}"),
        }
    }

    fn write_stdio(&mut self, source: Source, bytes: &[u8]) {
        if source == Source::Stderr {
            for &byte in bytes.iter().rev().take(STDERR_TAIL_BYTES).rev() {
                if self.stderr_tail.len() == STDERR_TAIL_BYTES {
                    self.stderr_tail.pop_front();
                }
                self.stderr_tail.push_back(byte);
            }
        }

        let allowed = bytes.len().min(self.stdio_bytes_left);
        self.stdio_bytes_left -= allowed;
        if allowed < bytes.len() && !self.stdio_exhausted_reported {
            self.stdio_exhausted_reported = true;
            tracing::warn!(
                strategy = &*self.strategy,
                "strategy stdout and stderr reached their size limit; further output is dropped"
            );
        }

        let mut partial = std::mem::take(match source {
            Source::Stderr => &mut self.stderr_partial,
            _ => &mut self.stdout_partial,
        });
        partial.extend_from_slice(&bytes[..allowed]);
        let mut start = 0;
        while let Some(offset) = partial[start..].iter().position(|&byte| byte == b'\n') {
            self.emit(source, &partial[start..start + offset]);
            start += offset + 1;
        }
        partial.drain(..start);
        if partial.len() > self.max_line_bytes {
            self.emit(source, &partial);
            partial.clear();
        }
        match source {
            Source::Stderr => self.stderr_partial = partial,
            _ => self.stdout_partial = partial,
        }
    }
}

/// The strategy's stdout or stderr, as a WASI output stream.
#[derive(Clone)]
pub struct StdioStream {
    log: StrategyLog,
    source: Source,
}

impl StdioStream {
    pub fn stdout(log: &StrategyLog) -> StdioStream {
        StdioStream { log: log.clone(), source: Source::Stdout }
    }

    pub fn stderr(log: &StrategyLog) -> StdioStream {
        StdioStream { log: log.clone(), source: Source::Stderr }
    }
}

impl IsTerminal for StdioStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for StdioStream {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi_io::async_trait]
impl Pollable for StdioStream {
    async fn ready(&mut self) {}
}

impl OutputStream for StdioStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.log.write_stdio(self.source, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        // This stream accepts any write at once. Output past the limits is
        // dropped rather than failed, so a chatty strategy does not fault.
        Ok(64 << 10)
    }
}

impl tokio::io::AsyncWrite for StdioStream {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, bytes: &[u8]) -> Poll<std::io::Result<usize>> {
        self.log.write_stdio(self.source, bytes);
        Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

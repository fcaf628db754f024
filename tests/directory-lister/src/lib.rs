//! A strategy component that lists directories and reads a file on its
//! first event. Doing so makes it import `wasi:filesystem/preopens`, which
//! the host refuses at load. Built for `wasm32-wasip2` only.

#![cfg(target_arch = "wasm32")]

wit_bindgen::generate!({
    world: "strategy",
    path: "../../wit",
});

use stratbox::strategy::logging::{self, Level};

struct DirectoryLister;

impl Guest for DirectoryLister {
    fn init(_params: Vec<(String, String)>) -> Result<(), String> {
        Ok(())
    }

    fn on_event(_event: Event, _portfolio: Portfolio) -> Vec<Action> {
        let mut entries = 0;
        for path in ["/", ".", "/etc", "/root"] {
            if let Ok(listing) = std::fs::read_dir(path) {
                entries += listing.count();
            }
        }
        let file = std::fs::read("/etc/passwd").map(|bytes| bytes.len()).unwrap_or(0);
        logging::log(Level::Info, &format!("found {entries} entries and a file of {file} bytes"));
        Vec::new()
    }
}

export!(DirectoryLister);

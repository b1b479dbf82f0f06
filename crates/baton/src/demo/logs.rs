//! The demo's log: the daemon runs in this process, and its log lines would bury the timeline,
//! so they go to a bounded in-memory tail that the demo prints only when a step fails.

use std::collections::VecDeque;
use std::io;
use std::sync::{Mutex, OnceLock};

/// Lines kept; older ones are dropped.
const KEEP: usize = 200;

/// The kept lines; the last one is still open when the previous write did not end it.
#[derive(Default)]
struct Lines {
    lines: VecDeque<String>,
    open: bool,
}

static TAIL: OnceLock<Mutex<Lines>> = OnceLock::new();

fn tail_buffer() -> &'static Mutex<Lines> {
    TAIL.get_or_init(|| Mutex::new(Lines::default()))
}

/// Sends this process's log (`RUST_LOG`, default `info`) to the in-memory tail.
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(|| TailWriter)
        .try_init();
}

/// The last `n` lines logged.
pub fn tail(n: usize) -> String {
    let tail = tail_buffer().lock().unwrap_or_else(|e| e.into_inner());
    let skip = tail.lines.len().saturating_sub(n);
    tail.lines
        .iter()
        .skip(skip)
        .cloned()
        .collect::<Vec<_>>()
        .join("\n")
}

struct TailWriter;

impl io::Write for TailWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut tail = tail_buffer().lock().unwrap_or_else(|e| e.into_inner());
        let text = String::from_utf8_lossy(buf);
        for piece in text.split_inclusive('\n') {
            let ends = piece.ends_with('\n');
            let piece = piece.trim_end_matches(['\n', '\r']);
            let open = tail.open;
            match tail.lines.back_mut() {
                Some(last) if open => last.push_str(piece),
                _ => {
                    if tail.lines.len() == KEEP {
                        tail.lines.pop_front();
                    }
                    tail.lines.push_back(piece.to_owned());
                }
            }
            tail.open = !ends;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    #[test]
    fn the_tail_keeps_the_newest_lines_within_its_bound() {
        for i in 0..super::KEEP + 10 {
            writeln!(super::TailWriter, "line {i}").unwrap();
        }
        let all = super::tail(usize::MAX);
        assert_eq!(all.lines().count(), super::KEEP);
        assert!(all.ends_with(&format!("line {}", super::KEEP + 9)), "{all}");
        assert_eq!(super::tail(1), format!("line {}", super::KEEP + 9));
    }
}

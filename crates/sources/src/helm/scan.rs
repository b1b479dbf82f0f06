//! A line scanner that cuts one chart's block out of an `index.yaml` while it streams in.
//!
//! Why: a big repository's index is tens of MB (Bitnami's is ~26 MB), and holding the body
//! costs that much memory on every change of the index. Helm writes indexes in block style, so
//! the wanted chart's versions are the lines from `  <chart>:` to the next key at indent <= 2
//! inside the top-level `entries:` map. The scanner keeps only those lines (plus the partial
//! line of the current chunk), says when the block is complete so the caller can stop reading,
//! and tells a confident "absent" (Helm's layout, no such key) from an unusual layout, which
//! the caller parses as a whole document instead.

use crate::Error;

/// What a finished scan found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Scan {
    /// `entries:` plus the chart's block, preceded by blank lines so that YAML error positions
    /// are those of the original document.
    Block(String),
    /// Helm's layout throughout and no key for the chart.
    Absent,
    /// Not Helm's usual layout (flow style, quoted keys, no `entries:` block): parse it all.
    Unusual,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Before,
    /// Inside the chart's block, which started at this 0-based line.
    Inside(usize),
    /// The block ended at a later key.
    Done(usize),
}

/// Feed it chunks with [`ChartScan::feed`], then [`ChartScan::finish`].
#[derive(Debug)]
pub(crate) struct ChartScan {
    key: String,
    source: String,
    pending: Vec<u8>,
    line_no: usize,
    offset: u64,
    in_entries: bool,
    saw_entries: bool,
    usual: bool,
    state: State,
    block: String,
}

impl ChartScan {
    /// A scan for `chart`; `source` (the index URL) labels errors.
    pub(crate) fn new(chart: &str, source: &str) -> Self {
        ChartScan {
            key: format!("{chart}:"),
            source: source.to_string(),
            pending: Vec::new(),
            line_no: 0,
            offset: 0,
            in_entries: false,
            saw_entries: false,
            usual: true,
            state: State::Before,
            block: String::new(),
        }
    }

    /// True once the chart's block has ended: the rest of the index is not needed.
    pub(crate) fn complete(&self) -> bool {
        matches!(self.state, State::Done(_))
    }

    /// Scans the complete lines of `chunk`; keeps a trailing partial line for the next chunk.
    pub(crate) fn feed(&mut self, mut chunk: &[u8]) -> Result<(), Error> {
        while !self.complete() {
            let Some(nl) = chunk.iter().position(|b| *b == b'\n') else {
                self.pending.extend_from_slice(chunk);
                return Ok(());
            };
            let (line, rest) = chunk.split_at(nl + 1);
            chunk = rest;
            if self.pending.is_empty() {
                self.line(line)?;
            } else {
                let mut whole = std::mem::take(&mut self.pending);
                whole.extend_from_slice(line);
                self.line(&whole)?;
            }
        }
        Ok(())
    }

    /// Scans the last line (without a newline) and says what was found.
    pub(crate) fn finish(mut self) -> Result<Scan, Error> {
        if !self.complete() && !self.pending.is_empty() {
            let last = std::mem::take(&mut self.pending);
            self.line(&last)?;
        }
        Ok(match self.state {
            State::Inside(from) | State::Done(from) => {
                let mut s = "\n".repeat(from.saturating_sub(1));
                s.push_str("entries:\n");
                s.push_str(&self.block);
                Scan::Block(s)
            }
            State::Before if self.saw_entries && self.usual => Scan::Absent,
            State::Before => Scan::Unusual,
        })
    }

    fn line(&mut self, raw: &[u8]) -> Result<(), Error> {
        let line_no = self.line_no;
        self.line_no += 1;
        let at = self.offset;
        self.offset += raw.len() as u64;
        let text = std::str::from_utf8(raw).map_err(|e| Error::Yaml {
            what: self.source.clone(),
            line: line_no as u64 + 1,
            column: e.valid_up_to() as u64 + 1,
            message: format!("not UTF-8 at byte {}", at + e.valid_up_to() as u64),
        })?;
        let body = text.trim_end();
        let trimmed = body.trim_start_matches(' ');
        if trimmed.is_empty() || trimmed.starts_with('#') {
            if matches!(self.state, State::Inside(_)) {
                self.block.push_str(text);
            }
            return Ok(());
        }
        let indent = body.len() - trimmed.len();
        match self.state {
            State::Before if indent == 0 => {
                self.in_entries = body == "entries:";
                self.saw_entries |= self.in_entries;
                if body.starts_with("entries:") && !self.in_entries {
                    // `entries: {}` or a flow map: only a full parse can read it.
                    self.usual = false;
                }
            }
            State::Before if self.in_entries && indent == 2 && !trimmed.starts_with('-') => {
                if trimmed == self.key {
                    self.state = State::Inside(line_no);
                    self.block.push_str(text);
                } else if !plain_key(trimmed) {
                    self.usual = false;
                }
            }
            State::Inside(from) if indent == 0 || (indent <= 2 && !trimmed.starts_with('-')) => {
                self.state = State::Done(from);
            }
            State::Inside(_) => self.block.push_str(text),
            _ => {}
        }
        Ok(())
    }
}

/// `name:` with a chart-name-like key and nothing after the colon (Helm's own output).
fn plain_key(s: &str) -> bool {
    s.strip_suffix(':').is_some_and(|k| {
        !k.is_empty()
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_in_chunks(text: &str, chart: &str, size: usize) -> Scan {
        let mut s = ChartScan::new(chart, "idx");
        for c in text.as_bytes().chunks(size) {
            s.feed(c).expect("utf-8");
        }
        s.finish().expect("utf-8")
    }

    const INDEX: &str = "apiVersion: v1\nentries:\n  a:\n  - name: a\n    version: 1.0.0\n\n  demo:\n  - name: demo\n    version: 2.0.0\n  # note\n  - name: demo\n    version: 2.1.0\n  z:\n  - name: z\ngenerated: now\n";

    #[test]
    fn cuts_the_block_whatever_the_chunk_size() {
        let want = "\n\n\n\n\nentries:\n  demo:\n  - name: demo\n    version: 2.0.0\n  # note\n  - name: demo\n    version: 2.1.0\n";
        for size in [1, 2, 7, 64, 4096] {
            assert_eq!(
                scan_in_chunks(INDEX, "demo", size),
                Scan::Block(want.into()),
                "{size}"
            );
        }
        let mut s = ChartScan::new("demo", "idx");
        s.feed(INDEX.as_bytes()).expect("feed");
        assert!(s.complete(), "the block ends at `  z:`");
    }

    #[test]
    fn absent_only_when_the_layout_is_helms() {
        assert_eq!(scan_in_chunks(INDEX, "nope", 5), Scan::Absent);
        let quoted = INDEX.replace("  z:", "  \"nope\":");
        assert_eq!(scan_in_chunks(&quoted, "nope", 5), Scan::Unusual);
        assert_eq!(
            scan_in_chunks("apiVersion: v1\nentries: {}\n", "nope", 5),
            Scan::Unusual
        );
        assert_eq!(scan_in_chunks("<html></html>", "nope", 5), Scan::Unusual);
    }

    #[test]
    fn a_block_at_the_end_without_newline_is_kept() {
        let text = "entries:\n  demo:\n  - version: 1.0.0";
        assert_eq!(
            scan_in_chunks(text, "demo", 3),
            Scan::Block("entries:\n  demo:\n  - version: 1.0.0".into())
        );
    }

    #[test]
    fn bad_utf8_names_the_line_and_byte() {
        let mut s = ChartScan::new("demo", "http://r/index.yaml");
        let err = s.feed(b"entries:\n  d\xffemo:\n").expect_err("not utf-8");
        let msg = err.to_string();
        assert!(
            matches!(err, Error::Yaml { line: 2, .. }) && msg.contains("byte 12"),
            "{msg}"
        );
    }
}

//! The detail of a `promote` event: who gave which judgment where, on which artifact, whether
//! it was forced, with what input. [`super::Promoter::promote`] writes it and the notifications
//! (`crate::outbox::notices`) read it back through the same [`JudgmentNote`], so a
//! `judgment_given` notice says what the event says (the artifact, the force flag) and the two
//! cannot drift apart. The text stays readable in `baton events`:
//!
//! `continue micro-gw/staging by alice (execution of ev-…), chart microgateway 3.0.2
//! (sha256:5d0c8e1f2a3b), forced (--force: the rule by artifact was not checked), input "go"`
//!
//! The input is free text, so it comes last and JSON-quoted: reading splits it off first, and
//! an input that mentions `--force` cannot make a promotion look forced.

/// What [`JudgmentNote::detail`] says of a forced promotion.
pub const FORCED: &str = "forced (--force: the rule by artifact was not checked)";

const INPUT: &str = ", input \"";

/// One judgment as a `promote` event records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JudgmentNote {
    /// `continue` or `stop`.
    pub judgment: String,
    /// Product name.
    pub product: String,
    /// Environment.
    pub environment: String,
    /// Who gave it (an API caller identity).
    pub by: String,
    /// The baton event that started the judged execution, when known.
    pub source_event: Option<String>,
    /// The artifact the execution runs, in words (`chart microgateway 3.0.2 (sha256:…)`).
    pub artifact: Option<String>,
    /// Continued with `--force`, the rule by artifact not checked.
    pub forced: bool,
    /// The judgment input.
    pub input: Option<String>,
}

impl JudgmentNote {
    /// The event detail.
    pub fn detail(&self) -> String {
        let mut d = format!(
            "{} {}/{} by {}",
            self.judgment, self.product, self.environment, self.by
        );
        if let Some(ev) = &self.source_event {
            d.push_str(&format!(" (execution of {ev})"));
        }
        if let Some(a) = &self.artifact {
            d.push_str(&format!(", {a}"));
        }
        if self.forced {
            d.push_str(&format!(", {FORCED}"));
        }
        if let Some(input) = &self.input {
            let quoted = serde_json::to_string(input).unwrap_or_default();
            d.push_str(&format!(", input {quoted}"));
        }
        d
    }

    /// Reads a detail [`JudgmentNote::detail`] wrote; `None` for any other text.
    pub fn parse(detail: &str) -> Option<Self> {
        let (head, input) = match detail.find(INPUT) {
            Some(at) => {
                let quoted = &detail[at + INPUT.len() - 1..];
                (
                    &detail[..at],
                    Some(serde_json::from_str::<String>(quoted).ok()?),
                )
            }
            None => (detail, None),
        };
        let forced_suffix = format!(", {FORCED}");
        let (head, forced) = match head.strip_suffix(&forced_suffix) {
            Some(h) => (h, true),
            None => (head, false),
        };
        let (who, artifact) = match head.split_once(", ") {
            Some((who, a)) => (who, Some(a.to_owned())),
            None => (head, None),
        };
        let (judgment, rest) = who.split_once(' ')?;
        if judgment != "continue" && judgment != "stop" {
            return None;
        }
        let (place, by) = rest.split_once(" by ")?;
        let (product, environment) = place.split_once('/')?;
        let (by, source_event) = match by.split_once(" (execution of ") {
            Some((by, ev)) => (by, Some(ev.strip_suffix(')')?.to_owned())),
            None => (by, None),
        };
        Some(Self {
            judgment: judgment.to_owned(),
            product: product.to_owned(),
            environment: environment.to_owned(),
            by: by.to_owned(),
            source_event,
            artifact,
            forced,
            input,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note() -> JudgmentNote {
        JudgmentNote {
            judgment: "continue".into(),
            product: "micro-gw".into(),
            environment: "staging".into(),
            by: "alice".into(),
            source_event: Some("ev-0123".into()),
            artifact: Some("chart microgateway 3.0.2 (sha256:5d0c8e1f2a3b)".into()),
            forced: true,
            input: Some(
                "ship it, \"forced\" (--force: the rule by artifact was not checked)".into(),
            ),
        }
    }

    #[test]
    fn every_detail_reads_back_as_written() {
        let full = note();
        assert_eq!(
            full.detail(),
            "continue micro-gw/staging by alice (execution of ev-0123), chart microgateway \
             3.0.2 (sha256:5d0c8e1f2a3b), forced (--force: the rule by artifact was not \
             checked), input \"ship it, \\\"forced\\\" (--force: the rule by artifact was not \
             checked)\""
        );
        let bare = JudgmentNote {
            judgment: "stop".into(),
            source_event: None,
            artifact: None,
            forced: false,
            input: None,
            ..note()
        };
        for n in [full, bare] {
            assert_eq!(JudgmentNote::parse(&n.detail()), Some(n));
        }
    }

    #[test]
    fn an_input_that_mentions_force_does_not_make_a_promotion_forced() {
        let n = JudgmentNote {
            forced: false,
            input: Some(format!("x, {FORCED}")),
            ..note()
        };
        let read = JudgmentNote::parse(&n.detail()).unwrap();
        assert!(!read.forced);
        assert_eq!(read.input, n.input);
    }

    #[test]
    fn other_text_is_not_a_judgment() {
        for text in ["", "manual rebuild", "cancel micro-gw/prod by bob"] {
            assert_eq!(JudgmentNote::parse(text), None, "{text}");
        }
    }
}

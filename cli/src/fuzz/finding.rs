//! Findings: an input the testee judges differently from the reference,
//! and what differs, in words and as a key that deduplicates them (two
//! inputs with the same key are taken to show the same fault).

use serde::Serialize;
use serde_json::Value;

use super::input::Input;
use crate::vectors::Verdict;

/// What differs between the reference and the testee on one input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// The dedup key: the class of the difference, not its data.
    pub key: String,
    /// The reference's outcome, in a few words.
    pub reference: String,
    /// The testee's outcome, in a few words.
    pub testee: String,
    /// What the grading said, in full.
    pub detail: String,
}

/// One distinct finding, minimised.
#[derive(Clone, Debug)]
pub struct Finding {
    /// The input, minimised.
    pub input: Input,
    /// How the minimised input differs.
    pub difference: Difference,
    /// The input's number in the campaign (repeat with the same --seed).
    pub found_at: u64,
    /// The input's length before minimisation.
    pub original_len: usize,
    /// Inputs of the campaign with this key.
    pub hits: u64,
}

/// A verdict in a few words: `valid (2 messages)`, `invalid too_large at 0`.
pub fn short_verdict(v: &Verdict) -> String {
    match v.result.as_str() {
        "valid" => format!(
            "valid ({})",
            super::plural(v.messages.len(), "message", "messages")
        ),
        "invalid" => format!(
            "invalid {} at {}",
            v.error.as_deref().unwrap_or("?"),
            v.error_offset.map_or("?".to_string(), |o| o.to_string())
        ),
        other => other.to_string(),
    }
}

fn outcome_class(v: &Verdict) -> String {
    match v.result.as_str() {
        "invalid" => format!("invalid/{}", v.error.as_deref().unwrap_or("?")),
        other => other.to_string(),
    }
}

/// The key of a testee verdict that grading refused: the reference's
/// outcome and the first field that differs (in the order of
/// `spec/harness.md` §6). The testee's own outcome is left out, so one
/// fault seen as `valid` on one input and `incomplete` on another (a limit
/// off by one) is one finding, minimised to its smallest input.
pub fn verdict_key(mode: &str, reference: &Verdict, testee: &Verdict) -> String {
    let what = if outcome_class(reference) != outcome_class(testee) {
        format!("{}: result", outcome_class(reference))
    } else if reference.error_offset != testee.error_offset {
        format!("{}: errorOffset", outcome_class(reference))
    } else if reference.messages.len() != testee.messages.len() {
        format!("{}: message count", outcome_class(reference))
    } else if let Some(field) = first_field_difference(&reference.messages, &testee.messages) {
        format!("{}: message {field}", outcome_class(reference))
    } else if reference.needed != testee.needed {
        format!("{}: needed", outcome_class(reference))
    } else if testee.error_detail.is_some() && reference.error_detail != testee.error_detail {
        format!("{}: errorDetail", outcome_class(reference))
    } else {
        format!("{}: section", outcome_class(reference))
    };
    format!("{mode}: {what}")
}

fn first_field_difference(a: &[Value], b: &[Value]) -> Option<String> {
    for (x, y) in a.iter().zip(b) {
        if x == y {
            continue;
        }
        if let (Some(x), Some(y)) = (x.as_object(), y.as_object()) {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            if let Some(k) = keys.into_iter().find(|k| x.get(*k) != y.get(*k)) {
                return Some(k.clone());
            }
        }
        return Some("shape".into());
    }
    None
}

#[cfg(test)]
mod test {
    use super::*;
    use serde_json::json;

    fn verdict(result: &str, error: Option<&str>, messages: Vec<Value>) -> Verdict {
        Verdict {
            result: result.into(),
            error: error.map(str::to_string),
            error_offset: error.map(|_| 0),
            messages,
            ..Verdict::default()
        }
    }

    #[test]
    fn keys_name_the_first_difference_not_its_data() {
        let r = verdict("invalid", Some("too_large"), vec![]);
        let t = verdict("valid", None, vec![json!({"type": 1, "payload": ""})]);
        assert_eq!(
            verdict_key("stream", &r, &t),
            "stream: invalid/too_large: result"
        );
        let t = verdict("invalid", Some("incomplete"), vec![]);
        assert_eq!(
            verdict_key("stream", &r, &t),
            "stream: invalid/too_large: result"
        );
        let r = verdict("valid", None, vec![json!({"type": 1, "payload": "00"})]);
        let t = verdict("valid", None, vec![json!({"type": 2, "payload": "00"})]);
        assert_eq!(verdict_key("stream", &r, &t), "stream: valid: message type");
        let t2 = verdict("valid", None, vec![json!({"type": 3, "payload": "00"})]);
        assert_eq!(
            verdict_key("stream", &r, &t),
            verdict_key("stream", &r, &t2)
        );
    }
}

//! The reference server's answers (spec §6).

/// The data the reference server answers an unknown command with (status
/// still `OK`, as in the guide).
pub const UNKNOWN_COMMAND: &str = "Unknown command";

/// The status of every reference-server response.
pub const STATUS_OK: &str = "OK";

/// Unicode *simple* uppercase mapping of one scalar value, as Go's
/// `unicode.ToUpper`: one char in, one char out.
///
/// Rust's [`char::to_uppercase`] applies the *full* mapping, which can give
/// several chars (`'ß'` → `"SS"`). Where it does, the simple mapping keeps
/// the char (`'ß'` stays `'ß'`), except for the Greek letters with
/// ypogegrammeni, whose simple mapping is the single prosgegrammeni capital
/// (`'ᾳ'` → `'ᾼ'`, where the full mapping gives `"ΑΙ"`).
pub fn simple_uppercase(c: char) -> char {
    if let Some(upper) = ypogegrammeni_upper(c) {
        return upper;
    }
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(single), None) => single,
        _ => c,
    }
}

/// The simple uppercase of the letters whose full mapping has two chars but
/// whose simple mapping is one (UnicodeData.txt field 12).
fn ypogegrammeni_upper(c: char) -> Option<char> {
    let code = u32::from(c);
    let upper = match code {
        // ᾀ-ᾇ, ᾐ-ᾗ, ᾠ-ᾧ → ᾈ-ᾏ, ᾘ-ᾟ, ᾨ-ᾯ
        0x1F80..=0x1F87 | 0x1F90..=0x1F97 | 0x1FA0..=0x1FA7 => code.checked_add(8)?,
        // ᾳ ῃ ῳ → ᾼ ῌ ῼ
        0x1FB3 | 0x1FC3 | 0x1FF3 => code.checked_add(9)?,
        _ => return None,
    };
    char::from_u32(upper)
}

#[cfg(feature = "alloc")]
pub use owned::reference_reply;

#[cfg(feature = "alloc")]
mod owned {
    use alloc::string::String;

    use super::{simple_uppercase, STATUS_OK, UNKNOWN_COMMAND};
    use crate::reqres::{Request, ResponseBuf, Text};

    /// The reference server's answer to `request` (spec §6): the same ID,
    /// status `OK`, and data by command (case-sensitive):
    /// - `ECHO`: the arguments;
    /// - `UPPER`: the arguments with each scalar value mapped by
    ///   [`simple_uppercase`] (like the guide's `strings.ToUpper`);
    /// - `REVERSE`: the arguments' scalar values in reverse order;
    /// - anything else: [`UNKNOWN_COMMAND`].
    ///
    /// Trailing `CR`s are dropped from the data: the guide sends them before
    /// the `LF`, where every receiver strips them, and our serializer
    /// refuses data ending in `CR` (spec §4.1, §9).
    pub fn reference_reply(request: &Request<'_>) -> ResponseBuf {
        let args = request.args;
        let data = match request.command {
            "ECHO" => Text::copy_from_str(args.trim_end_matches('\r')),
            "UPPER" => upper(args),
            "REVERSE" => reverse(args),
            _ => Text::from(UNKNOWN_COMMAND),
        };
        ResponseBuf {
            id: Text::copy_from_str(request.id),
            status: Text::from(STATUS_OK),
            data,
        }
    }

    fn upper(args: &str) -> Text {
        let mut out = String::with_capacity(args.len());
        out.extend(args.chars().map(simple_uppercase));
        Text::from(trim_cr(out))
    }

    fn reverse(args: &str) -> Text {
        let mut out = String::with_capacity(args.len());
        out.extend(args.chars().rev());
        Text::from(trim_cr(out))
    }

    fn trim_cr(mut text: String) -> String {
        let keep = text.trim_end_matches('\r').len();
        text.truncate(keep);
        text
    }
}

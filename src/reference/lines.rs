//! The reference server's answers (spec §6).

/// The data the reference server answers an unknown command with (status
/// still `OK`, as in the guide).
pub const UNKNOWN_COMMAND: &str = "Unknown command";

/// The status of a reference-server response that carries its command's
/// result.
pub const STATUS_OK: &str = "OK";

/// The status of a reference-server response that cannot carry its
/// command's result; its data names the reason (spec §6).
pub const STATUS_ERR: &str = "ERR";

/// `ERR` data: the result would end with `\r`, which no line can carry
/// (a receiver strips it with the line ending, spec §4.1, §5.5).
pub const REPLY_ENDS_WITH_CR: &str = "reply ends with CR";

/// `ERR` data: the response line would be longer than the receiver's
/// line limit (spec §4, §6).
pub const REPLY_TOO_LONG: &str = "reply too long";

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

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::ReferenceServer;
use crate::reqres::{Limits, Request, RequestBuf, RequestLine, ResponseBuf, ResponseLine, Text};
use crate::{Encode, Error};

const UNANSWERABLE: &str = "reqres/6";

/// The same ID, status [`STATUS_OK`], and data by command (case-sensitive):
/// - `ECHO`: the arguments;
/// - `UPPER`: the arguments with each scalar value mapped by
///   [`simple_uppercase`] (like the guide's `strings.ToUpper`);
/// - `REVERSE`: the arguments' scalar values in reverse order;
/// - anything else: [`UNKNOWN_COMMAND`].
///
/// Data ending with `\r` cannot be sent (a receiver strips that `\r` with
/// the line ending, spec §4.1): the answer is then status [`STATUS_ERR`]
/// with data [`REPLY_ENDS_WITH_CR`], never altered data. A response line
/// longer than `limits.max_line_len` is replaced by status [`STATUS_ERR`]
/// with data [`REPLY_TOO_LONG`] (spec §4, §6); when even that is over the
/// limit (the ID alone is too long for it) the request cannot be answered:
/// [`Error::LineTooLong`] (section `reqres/6`).
impl ReferenceServer for RequestLine {
    type Reply = ResponseLine;

    fn replies(request: RequestBuf, limits: &Limits) -> Result<Vec<ResponseBuf>, Error> {
        let request = request.as_message();
        let max = limits.max_line_len;
        let reply = reply(&request);
        if reply.encoded_len() <= max {
            return Ok(vec![reply]);
        }
        let reply = error_reply(&request, REPLY_TOO_LONG);
        if reply.encoded_len() <= max {
            return Ok(vec![reply]);
        }
        Err(Error::LineTooLong {
            max,
            section: UNANSWERABLE,
        })
    }
}

/// The answer with no line limit.
fn reply(request: &Request<'_>) -> ResponseBuf {
    let args = request.args;
    let data = match request.command {
        "ECHO" => Text::copy_from_str(args),
        "UPPER" => upper(args),
        "REVERSE" => reverse(args),
        _ => Text::from(UNKNOWN_COMMAND),
    };
    if data.ends_with('\r') {
        return error_reply(request, REPLY_ENDS_WITH_CR);
    }
    ResponseBuf {
        id: Text::copy_from_str(request.id),
        status: Text::from(STATUS_OK),
        data,
    }
}

fn error_reply(request: &Request<'_>, reason: &'static str) -> ResponseBuf {
    ResponseBuf {
        id: Text::copy_from_str(request.id),
        status: Text::from(STATUS_ERR),
        data: Text::from(reason),
    }
}

fn upper(args: &str) -> Text {
    let mut out = String::with_capacity(args.len());
    out.extend(args.chars().map(simple_uppercase));
    Text::from(out)
}

fn reverse(args: &str) -> Text {
    let mut out = String::with_capacity(args.len());
    out.extend(args.chars().rev());
    Text::from(out)
}

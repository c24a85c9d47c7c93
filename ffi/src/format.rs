//! The one implementation behind every format's exports: parse, parse a
//! datagram, measure, emit, reference reply. Each format only says how its
//! C structs map to the library's types.

use wireforms::reference::ReferenceServer;
use wireforms::{Encode, Error, Status, WireFormat};

use crate::boundary::{
    bytes_in, bytes_out, check_disjoint, check_out, guard, read_in, read_optional, write_out,
    Outcome,
};
use crate::error::{wireforms_error, wireforms_status};

/// The library message of format `F`, borrowing for `'a`.
pub(crate) type Message<'a, F> = <<F as CFormat>::Wire as WireFormat>::Message<'a>;

/// A format as the C ABI sees it.
pub(crate) trait CFormat {
    /// The library's format.
    type Wire: WireFormat;
    /// The C limits struct.
    type Limits: Copy;
    /// The C message struct.
    type Message: Copy;

    /// The library's limits for the C ones.
    fn limits(c: &Self::Limits) -> <Self::Wire as WireFormat>::Limits;

    /// The C struct of a parsed message (its slices stay in the input).
    fn to_c(message: &Message<'_, Self>) -> Self::Message;

    /// The library's message for a C struct.
    ///
    /// # Safety
    /// Every slice of `c` is valid for reads, unchanged, during `'a`.
    unsafe fn from_c<'a>(c: &Self::Message) -> Result<Message<'a, Self>, crate::boundary::Failure>;

    /// The slices of a C message, for the overlap check.
    fn parts(c: &Self::Message) -> [(*const u8, usize); 3];
}

/// A format with a reference-server answer (spec §6 of each format).
pub(crate) trait Reply: CFormat<Wire: ReferenceServer> {
    /// The limits the answer is kept within (the C functions take none):
    /// the format's defaults unless a format says otherwise.
    fn reply_limits() -> <Self::Wire as WireFormat>::Limits {
        Default::default()
    }
}

/// The library's reference replies to `request` (`wireforms::reference`).
fn replies<F: Reply>(
    request: &Message<'_, F>,
) -> Result<Vec<<<F::Wire as ReferenceServer>::Reply as WireFormat>::Owned>, Error> {
    let request = <F::Wire as WireFormat>::to_owned_copy(request);
    <F::Wire as ReferenceServer>::replies(request, &F::reply_limits())
}

/// The encoded length of the answer to `request`.
fn reply_len_of<F: Reply>(request: &Message<'_, F>) -> Result<usize, Error> {
    let mut len = 0usize;
    for reply in replies::<F>(request)? {
        reply.check()?;
        len = len.saturating_add(reply.encoded_len());
    }
    Ok(len)
}

/// Writes the encoded answer to `request` at the start of `out`, all of
/// it or nothing.
fn write_reply<F: Reply>(request: &Message<'_, F>, out: &mut [u8]) -> Result<usize, Error> {
    let replies = replies::<F>(request)?;
    let mut len = 0usize;
    for reply in &replies {
        reply.check()?;
        len = len.saturating_add(reply.encoded_len());
    }
    // All or nothing: check the room for every reply first.
    if out.len() < len {
        return Err(Error::BufferTooSmall {
            needed: len,
            available: out.len(),
        });
    }
    let mut at = 0;
    for reply in &replies {
        at += reply.emit(&mut out[at..])?;
    }
    Ok(at)
}

/// The library limits for a nullable C limits pointer.
///
/// # Safety
/// A non-NULL `limits` points to a valid `F::Limits`.
unsafe fn limits_of<F: CFormat>(
    limits: *const F::Limits,
) -> Result<<F::Wire as WireFormat>::Limits, crate::boundary::Failure> {
    // SAFETY: forwarded contract.
    let limits = unsafe { read_optional(limits, "limits") }?;
    Ok(limits.map(F::limits).unwrap_or_default())
}

/// `wireforms_<format>_parse`.
///
/// # Safety
/// The header's contract of `wireforms_<format>_parse`.
pub(crate) unsafe fn parse<F: CFormat>(
    input: *const u8,
    input_len: usize,
    limits: *const F::Limits,
    message: *mut F::Message,
    consumed: *mut usize,
    needed: *mut usize,
    error: *mut wireforms_error,
) -> wireforms_status {
    guard(error, || -> Outcome {
        check_out(message, "message")?;
        check_out(consumed, "consumed")?;
        check_out(needed, "needed")?;
        // SAFETY: the header's contract: `input_len` readable bytes at
        // `input`, a valid limits struct or NULL.
        let (bytes, limits) = unsafe {
            (
                bytes_in(input, input_len, "input")?,
                limits_of::<F>(limits)?,
            )
        };
        let (status, len, need, c) = match F::Wire::parse(bytes, &limits)? {
            Status::Complete(m, len) => (wireforms_status::Ok, len, 0, Some(F::to_c(&m))),
            Status::Incomplete(n) => (wireforms_status::Incomplete, 0, n.size().unwrap_or(0), None),
        };
        // SAFETY: the three outputs passed check_out and are writable.
        unsafe {
            write_out(consumed, len);
            write_out(needed, need);
            if let Some(c) = c {
                write_out(message, c);
            }
        }
        Ok(status)
    })
}

/// `wireforms_<format>_parse_datagram` (spec §7.2 of each format): the
/// library's `WireFormat::parse_datagram`, whose rules (trailing bytes, a
/// line's optional final `\n`, an empty datagram) are the C ABI's too.
///
/// # Safety
/// The header's contract of `wireforms_<format>_parse_datagram`.
pub(crate) unsafe fn parse_datagram<F: CFormat>(
    input: *const u8,
    input_len: usize,
    limits: *const F::Limits,
    message: *mut F::Message,
    error: *mut wireforms_error,
) -> wireforms_status {
    guard(error, || -> Outcome {
        check_out(message, "message")?;
        // SAFETY: as in `parse`.
        let (bytes, limits) = unsafe {
            (
                bytes_in(input, input_len, "input")?,
                limits_of::<F>(limits)?,
            )
        };
        let c = F::to_c(&F::Wire::parse_datagram(bytes, &limits)?);
        // SAFETY: passed check_out.
        unsafe { write_out(message, c) };
        Ok(wireforms_status::Ok)
    })
}

/// `wireforms_<format>_encoded_len`.
///
/// # Safety
/// The header's contract of `wireforms_<format>_encoded_len`.
pub(crate) unsafe fn encoded_len<F: CFormat>(
    message: *const F::Message,
    len: *mut usize,
    error: *mut wireforms_error,
) -> wireforms_status {
    guard(error, || -> Outcome {
        check_out(len, "len")?;
        // SAFETY: a valid message struct whose slices are readable.
        let m = unsafe { F::from_c(read_in(message, "message")?)? };
        m.check()?;
        let n = m.encoded_len();
        // SAFETY: passed check_out.
        unsafe { write_out(len, n) };
        Ok(wireforms_status::Ok)
    })
}

/// `wireforms_<format>_emit`.
///
/// # Safety
/// The header's contract of `wireforms_<format>_emit`.
pub(crate) unsafe fn emit<F: CFormat>(
    message: *const F::Message,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
    error: *mut wireforms_error,
) -> wireforms_status {
    guard(error, || -> Outcome {
        check_out(written, "written")?;
        // SAFETY: a valid message struct.
        let c = unsafe { read_in(message, "message")? };
        check_disjoint(out, out_len, &F::parts(c))?;
        // SAFETY: its slices are readable; `out` holds `out_len` writable
        // bytes, disjoint from them (checked).
        let (m, out) = unsafe { (F::from_c(c)?, bytes_out(out, out_len, "out")?) };
        let n = m.emit(out)?;
        // SAFETY: passed check_out.
        unsafe { write_out(written, n) };
        Ok(wireforms_status::Ok)
    })
}

/// `wireforms_<format>_reference_reply_len`.
///
/// # Safety
/// The header's contract of `wireforms_<format>_reference_reply_len`.
pub(crate) unsafe fn reply_len<F: Reply>(
    request: *const F::Message,
    len: *mut usize,
    error: *mut wireforms_error,
) -> wireforms_status {
    guard(error, || -> Outcome {
        check_out(len, "len")?;
        // SAFETY: a valid message struct whose slices are readable.
        let m = unsafe { F::from_c(read_in(request, "request")?)? };
        let n = reply_len_of::<F>(&m)?;
        // SAFETY: passed check_out.
        unsafe { write_out(len, n) };
        Ok(wireforms_status::Ok)
    })
}

/// `wireforms_<format>_reference_reply`.
///
/// # Safety
/// The header's contract of `wireforms_<format>_reference_reply`.
pub(crate) unsafe fn reply<F: Reply>(
    request: *const F::Message,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
    error: *mut wireforms_error,
) -> wireforms_status {
    guard(error, || -> Outcome {
        check_out(written, "written")?;
        // SAFETY: a valid message struct.
        let c = unsafe { read_in(request, "request")? };
        check_disjoint(out, out_len, &F::parts(c))?;
        // SAFETY: as in `emit`.
        let (m, out) = unsafe { (F::from_c(c)?, bytes_out(out, out_len, "out")?) };
        let n = write_reply::<F>(&m, out)?;
        // SAFETY: passed check_out.
        unsafe { write_out(written, n) };
        Ok(wireforms_status::Ok)
    })
}

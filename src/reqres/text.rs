//! [`Text`]: UTF-8 text in a shared [`Bytes`] buffer.

use alloc::string::String;
use core::borrow::Borrow;
use core::fmt;
use core::hash::{Hash, Hasher};
use core::ops::Deref;

use bytes::Bytes;

use super::section;
use crate::Error;

/// UTF-8 text held in [`Bytes`], so that a parsed line's fields can share
/// the codec's read buffer instead of being copied.
///
/// Every constructor checks (or knows) that the bytes are UTF-8, and no
/// method changes them, so a `Text` is always valid UTF-8.
///
/// Dereferencing to `str` re-runs the standard library's UTF-8 check (the
/// crate forbids `unsafe`, which skipping it would need): it is linear in
/// the length and cannot fail. Code that only moves the text along can use
/// [`as_bytes`](Text::as_bytes) or [`into_bytes`](Text::into_bytes), which
/// cost nothing.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Text(Bytes);

impl Text {
    /// A copy of `text`.
    pub fn copy_from_str(text: &str) -> Text {
        Text::from_utf8_bytes(Bytes::copy_from_slice(text.as_bytes()))
    }

    /// The empty text.
    pub const fn new() -> Text {
        Text(Bytes::new())
    }

    /// A text made from bytes that came from a `str`.
    fn from_utf8_bytes(bytes: Bytes) -> Text {
        debug_assert!(core::str::from_utf8(&bytes).is_ok());
        Text(bytes)
    }

    /// `text` as a slice of `frame`, sharing its storage, when `text` lies
    /// inside `frame`; a copy otherwise.
    pub fn slice_in(frame: &Bytes, text: &str) -> Text {
        let start = frame.as_ptr() as usize;
        let at = text.as_ptr() as usize;
        // Comparing addresses needs no unsafe; `slice_ref` would panic on a
        // slice from elsewhere, so check first and copy instead.
        let inside = at >= start
            && at
                .checked_add(text.len())
                .is_some_and(|end| end <= start.saturating_add(frame.len()));
        if inside {
            Text::from_utf8_bytes(frame.slice_ref(text.as_bytes()))
        } else {
            Text::copy_from_str(text)
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Cannot fail: every constructor guarantees UTF-8.
        core::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The UTF-8 bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The underlying buffer.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Text {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

// Hash as a `str`, as `Borrow<str>` requires.
impl Hash for Text {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl From<&'static str> for Text {
    fn from(text: &'static str) -> Text {
        Text(Bytes::from_static(text.as_bytes()))
    }
}

impl From<String> for Text {
    fn from(text: String) -> Text {
        Text(Bytes::from(text))
    }
}

impl From<Text> for Bytes {
    fn from(text: Text) -> Bytes {
        text.0
    }
}

impl TryFrom<Bytes> for Text {
    type Error = Error;

    /// # Errors
    /// [`Error::InvalidUtf8`] with the offset of the first bad byte.
    fn try_from(bytes: Bytes) -> Result<Text, Error> {
        match core::str::from_utf8(&bytes) {
            Ok(_) => Ok(Text(bytes)),
            Err(e) => Err(Error::InvalidUtf8 {
                offset: e.valid_up_to(),
                section: section::INVALID_UTF8,
            }),
        }
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for Text {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Text> {
        String::arbitrary(u).map(Text::from)
    }

    fn size_hint(depth: usize) -> (usize, Option<usize>) {
        <String as arbitrary::Arbitrary>::size_hint(depth)
    }
}

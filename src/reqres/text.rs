//! [`Text`]: UTF-8 text in a shared [`Bytes`] buffer, validated once.

use alloc::string::String;
use core::borrow::Borrow;
use core::cmp::Ordering;
use core::fmt;
use core::hash::{Hash, Hasher};
use core::ops::Deref;

use bytes::Bytes;
use bytestring::ByteString;

use super::{section, CR, LF, SEPARATOR};
use crate::Error;

/// UTF-8 text held in [`Bytes`], so that a parsed line's fields can share
/// the codec's read buffer instead of being copied.
///
/// The UTF-8 check runs once, when a `Text` is made, and the proof stays in
/// the type (a [`bytestring::ByteString`], whose `Deref` to `str` is free):
/// [`as_str`](Text::as_str) and `*text` cost nothing and cannot fail.
///
/// A `Text` also remembers what it is known not to contain (a `:`, a `LF`,
/// a final `CR`), found when it is made: a text built from a `str` is
/// scanned once, a field split off a parsed line knows it from the split.
/// The line serializers read those marks instead of scanning every field
/// on every encode (spec reqres §4.1). They never change equality, order
/// or hashing, which see only the text.
#[derive(Clone, Default)]
pub struct Text {
    text: ByteString,
    marks: Marks,
}

/// What a text is known not to contain. A mark that is not set means
/// "not known", never "present": the serializer scans then.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Marks(u8);

impl Marks {
    /// No `:`.
    pub(crate) const NO_SEPARATOR: Marks = Marks(1);
    /// No `LF`.
    pub(crate) const NO_LF: Marks = Marks(2);
    /// Does not end with `CR`.
    pub(crate) const NO_FINAL_CR: Marks = Marks(4);
    /// Nothing known.
    pub(crate) const NONE: Marks = Marks(0);

    /// The marks of `bytes`, found by scanning them (exact).
    pub(crate) fn scan(bytes: &[u8]) -> Marks {
        let mut marks = Marks::NONE;
        if memchr::memchr(SEPARATOR, bytes).is_none() {
            marks = marks.with(Marks::NO_SEPARATOR);
        }
        if memchr::memchr(LF, bytes).is_none() {
            marks = marks.with(Marks::NO_LF);
        }
        if bytes.last() != Some(&CR) {
            marks = marks.with(Marks::NO_FINAL_CR);
        }
        marks
    }

    pub(crate) const fn with(self, other: Marks) -> Marks {
        Marks(self.0 | other.0)
    }

    pub(crate) const fn has(self, wanted: Marks) -> bool {
        self.0 & wanted.0 == wanted.0
    }
}

impl Default for Marks {
    /// The empty text contains nothing.
    fn default() -> Self {
        Marks::NO_SEPARATOR
            .with(Marks::NO_LF)
            .with(Marks::NO_FINAL_CR)
    }
}

impl Text {
    /// A copy of `text`.
    pub fn copy_from_str(text: &str) -> Text {
        Text::scanned(ByteString::from(text))
    }

    /// The empty text.
    pub const fn new() -> Text {
        Text {
            text: ByteString::from_static(""),
            marks: Marks(Marks::NO_SEPARATOR.0 | Marks::NO_LF.0 | Marks::NO_FINAL_CR.0),
        }
    }

    /// A text whose marks are found by scanning it.
    fn scanned(text: ByteString) -> Text {
        let marks = Marks::scan(text.as_bytes());
        Text { text, marks }
    }

    /// `bytes`, checked for UTF-8 here (the only check they get), with
    /// `marks` for what they are known not to contain.
    ///
    /// # Errors
    /// [`Error::InvalidUtf8`] with the offset of the first bad byte in
    /// `bytes`.
    pub(crate) fn from_field(bytes: Bytes, marks: Marks) -> Result<Text, Error> {
        match ByteString::try_from(bytes) {
            Ok(text) => Ok(Text { text, marks }),
            Err(e) => Err(Error::InvalidUtf8 {
                offset: e.valid_up_to(),
                section: section::INVALID_UTF8,
            }),
        }
    }

    /// A field of a line already checked: `marks` is what the split proved.
    pub(crate) fn from_parts(text: ByteString, marks: Marks) -> Text {
        Text { text, marks }
    }

    /// What this text is known not to contain.
    pub(crate) fn marks(&self) -> Marks {
        self.marks
    }

    /// `text` as a slice of `frame`, sharing its storage, when `text` lies
    /// inside `frame`; a copy otherwise. Either way the text is checked
    /// once more here (a `&str` carries no proof a `Bytes` can keep):
    /// decoders that split a line themselves use the field marks instead.
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
            if let Ok(shared) = ByteString::try_from(frame.slice_ref(text.as_bytes())) {
                return Text::scanned(shared);
            }
        }
        Text::copy_from_str(text)
    }

    /// The text (free: the UTF-8 check ran when the `Text` was made).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The UTF-8 bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    /// The underlying buffer.
    pub fn into_bytes(self) -> Bytes {
        self.text.into_bytes()
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.text.len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
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

// Equality, order and hash see the text only (the marks are a cache), and
// hash as a `str`, as `Borrow<str>` requires.
impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Text {}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Text) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Text) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl Hash for Text {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl From<&'static str> for Text {
    fn from(text: &'static str) -> Text {
        Text::scanned(ByteString::from_static(text))
    }
}

impl From<String> for Text {
    fn from(text: String) -> Text {
        Text::scanned(ByteString::from(text))
    }
}

impl From<Text> for Bytes {
    fn from(text: Text) -> Bytes {
        text.into_bytes()
    }
}

impl TryFrom<Bytes> for Text {
    type Error = Error;

    /// # Errors
    /// [`Error::InvalidUtf8`] with the offset of the first bad byte.
    fn try_from(bytes: Bytes) -> Result<Text, Error> {
        let marks = Marks::scan(&bytes);
        Text::from_field(bytes, marks)
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

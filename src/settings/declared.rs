//! The settings a provider declares as its own, as data: each a name and
//! how its value is read (`Kind`). The settings layer reads them with the
//! others, recording any that cannot be used, and a provider reads its
//! values back by name; nothing here names a provider.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use super::Secret;

/// One setting a provider declares.
#[derive(Debug)]
pub struct Declared {
    pub name: &'static str,
    pub kind: Kind,
    /// The CLI's `translate` flag for it, where it changes a translation.
    /// (Only in the CLI's build: elsewhere its text is left out.)
    #[cfg(feature = "cli")]
    pub flag: Option<Flag>,
}

/// A `translate` flag: its name, and its help.
#[cfg(feature = "cli")]
#[derive(Debug)]
pub struct Flag {
    pub long: &'static str,
    pub about: &'static str,
}

impl Declared {
    pub const fn new(name: &'static str, kind: Kind) -> Declared {
        Declared {
            name,
            kind,
            #[cfg(feature = "cli")]
            flag: None,
        }
    }

    /// With the CLI's `translate` flag `--<long>`, described by `about`.
    #[allow(unused_variables, unused_mut)]
    pub const fn with_flag(mut self, long: &'static str, about: &'static str) -> Declared {
        #[cfg(feature = "cli")]
        {
            self.flag = Some(Flag { long, about });
        }
        self
    }
}

/// How a declared setting's value is read.
#[derive(Debug)]
pub enum Kind {
    /// Comma-separated secrets, at most `MAX_SECRETS`.
    Secrets,
    /// One secret.
    Secret,
    /// Text, trimmed.
    Text,
    /// An http(s) URL, without its trailing slash; one that is not is
    /// refused, and reads as none.
    Url { default: &'static str },
    /// A whole number.
    Number { default: u64 },
    /// Comma-separated words, upper- or lower-cased; none gives `default`.
    Words { default: &'static [&'static str], upper: bool },
    /// Text the provider reads into its own type, once (`Settings::parsed`);
    /// `None` from `parse` refuses it with `expected`.
    Parsed { parse: fn(&str) -> Option<Parsed>, expected: &'static str },
}

/// A declared setting's value, as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Value {
    Absent,
    Text(String),
    Secrets(Vec<Secret>),
    Number(u64),
    Words(Vec<String>),
    Parsed(Parsed),
}

/// A value a provider read from its setting's text, kept for every request.
#[derive(Clone)]
pub struct Parsed {
    /// The setting's text, which tells two values apart.
    text: String,
    value: Arc<dyn Any + Send + Sync>,
}

impl Parsed {
    pub fn new(text: &str, value: impl Any + Send + Sync) -> Parsed {
        Parsed { text: text.to_string(), value: Arc::new(value) }
    }

    pub(super) fn get<T: Any>(&self) -> Option<&T> {
        self.value.downcast_ref()
    }
}

impl PartialEq for Parsed {
    fn eq(&self, other: &Parsed) -> bool {
        self.text == other.text
    }
}

impl Eq for Parsed {}

impl fmt::Debug for Parsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Parsed({} bytes)", self.text.len())
    }
}

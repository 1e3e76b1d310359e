//! Voice360's send-SMS API, through which agents' SMS replies go out: the
//! account's URL and its API key, from the settings.

use crate::http::{Delivery, Target, API_KEY_HEADER};
use crate::reamaze::SmsPart;
use crate::settings::{Secret, Settings, SettingsError};

use super::{ACCOUNT_ID, API_BASE, API_KEY};

/// Where and how staff replies are sent: the send-SMS URL for the account,
/// and its API key.
#[derive(Clone, Debug)]
pub struct SmsApi {
    pub url: String,
    pub api_key: Secret,
}

/// Why staff replies cannot be sent: a setting missing, or unusable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SmsSetup {
    Missing(&'static str),
    Invalid(SettingsError),
}

impl SmsApi {
    /// Who sends the SMS, as people name it.
    pub const TITLE: &'static str = "Voice360";

    /// Whether staff replies can be sent: the API's settings are there,
    /// and usable.
    pub fn ready(settings: &Settings) -> bool {
        Self::of(settings).is_ok()
    }

    /// The unusable setting that stops staff replies, if any.
    pub fn blocked(settings: &Settings) -> Option<&SettingsError> {
        settings.blocking(&[API_BASE])
    }

    /// From the settings, or what stops it.
    pub fn of(settings: &Settings) -> Result<SmsApi, SmsSetup> {
        if let Some(invalid) = Self::blocked(settings) {
            return Err(SmsSetup::Invalid(invalid.clone()));
        }
        let api_key = settings.secrets(API_KEY).first().cloned().ok_or(SmsSetup::Missing(API_KEY))?;
        let account = settings.text(ACCOUNT_ID).ok_or(SmsSetup::Missing(ACCOUNT_ID))?;
        Ok(SmsApi { url: Self::endpoint(settings, account), api_key })
    }

    /// The send-SMS URL for `account`.
    fn endpoint(settings: &Settings, account: &str) -> String {
        format!("{}/{account}/sms/send", settings.text(API_BASE).unwrap_or_default())
    }

    /// The send-SMS URL as the settings give it, the account's setting
    /// named in its place where it is not set (for previews).
    pub fn endpoint_shown(settings: &Settings) -> String {
        let placeholder = format!("{{{ACCOUNT_ID}}}");
        Self::endpoint(settings, settings.text(ACCOUNT_ID).unwrap_or(&placeholder))
    }

    /// The request that sends part `index` of `parts`.
    pub fn send(&self, part: &SmsPart, index: usize, parts: usize) -> Delivery {
        Delivery {
            target: Target::Sms { sender: Self::TITLE, part: index, parts },
            method: "POST",
            url: self.url.clone(),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                (API_KEY_HEADER.into(), self.api_key.expose().to_string()),
            ],
            body: serde_json::to_vec(part).expect("SMS parts serialize"),
        }
    }
}

//! Settings read by name: defaults, lists, limits, and a setting that
//! cannot be used turning off only what depends on it. The providers'
//! own settings are read as they declare them.

use std::collections::HashMap;

use reamaze_bridge::settings::{
    Secret, Settings, SettingsError, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_JSON_DEPTH,
};

fn from(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Settings::from_lookup(|name| map.get(name).cloned())
}

#[test]
fn defaults_and_lists() {
    let s =
        from(&[("VOICE360_WEBHOOK_SECRETS", " a, b ,,c "), ("REAMAZE_BASE_URL", "https://acme.reamaze.io/")]).unwrap();
    assert_eq!(s.secrets("VOICE360_WEBHOOK_SECRETS"), vec![Secret::new("a"), Secret::new("b"), Secret::new("c")]);
    assert_eq!(s.reamaze_base_url, "https://acme.reamaze.io");
    assert_eq!(s.text("VOICE360_API_BASE"), Some("https://api.voice360.app/v3/voice"));
    assert_eq!(s.number("BIRD_MAX_AGE_SECONDS"), Some(86_400));
    assert!(s.reamaze_voice_secret.is_none());
}

#[test]
fn bad_values_name_the_setting_not_the_value() {
    let err = from(&[("BIRD_MAX_AGE_SECONDS", "a day")]).unwrap_err();
    assert_eq!(err.name, "BIRD_MAX_AGE_SECONDS");
    assert!(!err.to_string().contains("a day"));
    assert!(from(&[("REAMAZE_BASE_URL", "www.reamaze.io")]).is_err());
}

#[test]
fn secrets_do_not_show_in_debug() {
    let s = from(&[("REAMAZE_VOICE_SECRET", "hunter2")]).unwrap();
    assert!(!format!("{s:?}").contains("hunter2"));
}

#[test]
fn limits_have_defaults_and_bounds() {
    let s = from(&[]).unwrap();
    assert_eq!((s.max_json_depth, s.max_header_bytes), (DEFAULT_MAX_JSON_DEPTH, DEFAULT_MAX_HEADER_BYTES));
    assert_eq!(from(&[("MAX_JSON_DEPTH", "100")]).unwrap().max_json_depth, 100);
    for out_of_range in ["0", "101"] {
        assert_eq!(from(&[("MAX_JSON_DEPTH", out_of_range)]).unwrap_err().name, "MAX_JSON_DEPTH");
    }
    assert_eq!(from(&[("MAX_HEADER_BYTES", "10")]).unwrap().max_header_bytes, 64, "room for any real signature");
}

#[test]
fn secret_lists_are_bounded_by_max_secrets() {
    let list = |n: usize| (1..=n).map(|i| format!("k{i}")).collect::<Vec<_>>().join(",");
    let twenty = list(20);
    assert_eq!(from(&[("VOICE360_WEBHOOK_SECRETS", &twenty)]).unwrap().secrets("VOICE360_WEBHOOK_SECRETS").len(), 20);
    let too_many = list(41);
    let err = from(&[("BIRD_SIGNING_KEYS", &too_many)]).unwrap_err();
    assert_eq!(err.name, "BIRD_SIGNING_KEYS");
    assert!(!err.to_string().contains("k41"), "{err}");
    assert_eq!(
        from(&[("BIRD_SIGNING_KEYS", &too_many), ("MAX_SECRETS", "41")]).unwrap().secrets("BIRD_SIGNING_KEYS").len(),
        41
    );
    assert!(from(&[("VOLUBILE_WEBHOOK_SECRETS", "a,b,c"), ("MAX_SECRETS", "2")]).is_err());
}

#[test]
fn a_setting_that_cannot_be_used_disables_only_what_depends_on_it() {
    let map: HashMap<&str, &str> = [
        ("VOLUBILE_WEBHOOK_SECRETS", "a,b,c"),
        ("MAX_SECRETS", "2"),
        ("BIRD_SIGNING_KEYS", "k"),
        ("MAX_BODY_BYTES", "lots"),
        ("VOICE360_API_BASE", "api.voice360.app"),
    ]
    .into_iter()
    .collect();
    let s = Settings::read(|name| map.get(name).map(|v| v.to_string()));
    let names: Vec<&str> = s.invalid.iter().map(|e| e.name).collect();
    assert_eq!(
        names,
        ["MAX_BODY_BYTES", "VOICE360_API_BASE", "VOLUBILE_WEBHOOK_SECRETS"],
        "the bridge's own, then each provider's"
    );
    assert!(s.secrets("VOLUBILE_WEBHOOK_SECRETS").is_empty(), "Volubile is off");
    assert_eq!(s.secrets("BIRD_SIGNING_KEYS"), vec![Secret::new("k")], "Bird is not");
    assert_eq!(s.max_body_bytes, DEFAULT_MAX_BODY_BYTES, "a limit keeps its default");
    assert_eq!(s.text("VOICE360_API_BASE"), None, "nothing is sent to an unusable URL");
    assert_eq!(s.blocking(&["VOICE360_API_BASE"]).map(|e| e.name), Some("VOICE360_API_BASE"));
    assert!(s.blocking(&["BIRD_SIGNING_KEYS"]).is_none());
}

fn read(pairs: &[(&str, &str)]) -> Settings {
    let map: HashMap<&str, &str> = pairs.iter().copied().collect();
    Settings::read(|name| map.get(name).map(|v| v.to_string()))
}

#[test]
fn every_provider_setting_is_read_as_its_provider_declares_it() {
    let declared: Vec<&str> = reamaze_bridge::providers::declared().map(|d| d.name).collect();
    for name in ["VOICE360_API_KEY", "VOICE360_AGENTS", "BIRD_WEBHOOK_URL", "BIRD_POST_STATUSES", "VOLUBILE_NUMBER"] {
        assert!(declared.contains(&name), "{name} is declared");
    }
    let s = read(&[
        ("VOICE360_POST_EVENTS", "call_ended, user_answer"),
        ("BIRD_POST_STATUSES", "Completed,BUSY"),
        ("VOLUBILE_NUMBER", " +33100000000 "),
        ("BIRD_MAX_FUTURE_SECONDS", "60"),
        ("VOICE360_API_KEY", "key"),
    ]);
    assert_eq!(s.words("VOICE360_POST_EVENTS"), ["CALL_ENDED", "USER_ANSWER"]);
    assert_eq!(s.words("BIRD_POST_STATUSES"), ["completed", "busy"]);
    assert_eq!(s.text("VOLUBILE_NUMBER"), Some("+33100000000"));
    assert_eq!((s.number("BIRD_MAX_AGE_SECONDS"), s.number("BIRD_MAX_FUTURE_SECONDS")), (Some(86_400), Some(60)));
    assert_eq!(s.secrets("VOICE360_API_KEY"), [Secret::new("key")]);
    assert!(!format!("{s:?}").contains("\"key\""), "a declared secret does not show in Debug either");
    let defaults = Settings::default();
    assert_eq!(defaults.words("BIRD_POST_STATUSES").len(), 7, "the default statuses");
    assert!(defaults.words("VOICE360_POST_EVENTS").contains(&"CALL_ENDED".to_string()));
    assert_eq!((defaults.text("VOLUBILE_NUMBER"), defaults.number("NOT_A_SETTING")), (None, None));
}

#[test]
fn a_provider_setting_that_cannot_be_read_is_refused_by_name() {
    let s =
        read(&[("VOICE360_AGENTS", "67890 Jane"), ("BIRD_MAX_AGE_SECONDS", "-1"), ("VOICE360_API_BASE", "ftp://x")]);
    let refused: Vec<(&str, &str)> = s.invalid.iter().map(|e| (e.name, e.expected)).collect();
    assert_eq!(
        refused,
        [
            ("VOICE360_API_BASE", "an http:// or https:// URL"),
            ("VOICE360_AGENTS", "comma-separated entries ID=Name <email>, either part optional"),
            ("BIRD_MAX_AGE_SECONDS", "a whole number"),
        ]
    );
    assert_eq!(s.number("BIRD_MAX_AGE_SECONDS"), Some(86_400), "a limit keeps its default");
    let error: &SettingsError = &s.invalid[1];
    assert!(!error.to_string().contains("Jane"));
}
